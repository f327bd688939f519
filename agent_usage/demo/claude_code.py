"""Demo sessions in Claude Code's format: one JSONL file per session under
`projects/<slug>/`, each assistant reply written once per content block with the same
message id and usage (the parser must count it once), and subagent files beside it."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "claude-code"
ROOTS = {"CLAUDE_CONFIG_DIR": "claude"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("claude-opus-4-7", 0.55), ("claude-sonnet-4-6", 0.35), ("claude-haiku-4-5", 0.10))


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One session of `turns` turns in `project`, with a subagent in about 3 sessions of 10."""
    rng, sid, cwd = out.rng, out.uid(), f"/home/dev/src/{project}"
    path = out.root / "claude" / "projects" / f"-home-dev-src-{project}" / f"{sid}.jsonl"
    base = {"sessionId": sid, "cwd": cwd, "gitBranch": "main", "version": "2.1.140", "userType": "external"}
    context, ts = rng.randint(8_000, 20_000), start
    with out.open(path) as handle:
        for turn in range(turns):
            model = pick(rng, MODELS)[0]
            ts += timedelta(seconds=rng.randint(20, 240))
            user = {"type": "user", "timestamp": iso(ts), "message": {"role": "user", "content": "(task)"}}
            out.line(handle, {**base, **user})
            mid, rid = f"msg_{out.uid().replace('-', '')[:24]}", f"req_{out.uid().replace('-', '')[:24]}"
            write = rng.randint(200, 4_000)
            usage = {
                "input_tokens": rng.randint(1, 40),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": context,
                "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
                "output_tokens": rng.randint(1, 30),
                "service_tier": "standard",
            }
            final_output = rng.randint(80, 2_500)
            for block in ("thinking", "text", "tool_use"):  # the per-block copies of one reply
                ts += timedelta(milliseconds=rng.randint(300, 3_000))
                if block == "tool_use":
                    usage = {**usage, "output_tokens": final_output}
                message = {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "usage": usage,
                    "content": [{"type": block, "text": "(reply)"}],
                }
                reply = {"type": "assistant", "timestamp": iso(ts), "requestId": rid, "message": message}
                out.line(handle, {**base, **reply})
            result = {"type": "tool_result", "tool_use_id": "t", "content": out.filler(out.tool_bytes)}
            tool = {
                "type": "user",
                "timestamp": iso(ts + timedelta(seconds=2)),
                "message": {"role": "user", "content": [result]},
            }
            out.line(handle, {**base, **tool})
            context += write + final_output
            out.turn(HARNESS)
            if turn == 1 and rng.random() < 0.3:
                _subagent(out, path.parent / sid / "subagents", base, ts)
    out.written_at(path, ts + timedelta(seconds=2))


def _subagent(out: DemoWriter, folder: Path, base: dict[str, Any], ts: datetime) -> None:
    """A subagent's sidechain file: its own turns, on Haiku, counted apart from the parent's."""
    agent = out.uid()[:8]
    with out.open(folder / f"agent-{agent}.jsonl") as handle:
        for _ in range(out.rng.randint(2, 6)):
            ts += timedelta(seconds=out.rng.randint(5, 40))
            usage = {
                "input_tokens": 5,
                "cache_creation_input_tokens": 600,
                "cache_read_input_tokens": 9_000,
                "output_tokens": out.rng.randint(50, 600),
            }
            message = {
                "id": f"msg_{out.uid()[:20]}",
                "role": "assistant",
                "model": "claude-haiku-4-5",
                "usage": usage,
                "content": [{"type": "text", "text": "(sub)"}],
            }
            reply = {
                "type": "assistant",
                "isSidechain": True,
                "agentId": agent,
                "timestamp": iso(ts),
                "requestId": f"req_{out.uid()[:20]}",
                "message": message,
            }
            out.line(handle, {**base, **reply})
            out.turn(HARNESS)
    out.written_at(folder / f"agent-{agent}.jsonl", ts)
