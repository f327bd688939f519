"""Demo sessions in pi's format: `sessions/--<cwd>--/<time>_<id>.jsonl` with usage and cost
per assistant message, and about one session in five forked (`/fork` copies the entries
verbatim into a new file: the parser must count them once)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "pi"
ROOTS = {"PI_CODING_AGENT_DIR": "pi-agent"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("anthropic", "claude-sonnet-4-5", 0.6), ("openai", "gpt-5", 0.4))


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One session of `turns` messages in `project`, sometimes followed by its fork."""
    rng, sid = out.rng, out.uid()
    cwd = f"/home/dev/src/{project}"
    folder = out.root / "pi-agent" / "sessions" / f"--home-dev-src-{project}--"
    path = folder / f"{start:%Y-%m-%dT%H-%M-%S-000Z}_{sid}.jsonl"
    ts, entries = start, []
    with out.open(path) as handle:
        out.line(handle, {"type": "session", "version": 3, "id": sid, "timestamp": iso(ts), "cwd": cwd})
        for n in range(turns):
            ts += timedelta(seconds=rng.randint(20, 200))
            provider, model, _ = pick(rng, MODELS)
            usage: dict[str, Any] = {
                "input": rng.randint(2, 300),
                "output": rng.randint(50, 1_500),
                "cacheRead": rng.randint(5_000, 80_000),
                "cacheWrite": rng.randint(0, 3_000),
            }
            usage["totalTokens"] = sum(usage.values())
            usage["cost"] = {"total": round(usage["output"] * 15e-6 + usage["cacheRead"] * 0.3e-6, 6)}
            message = {
                "role": "assistant",
                "provider": provider,
                "model": model,
                "usage": usage,
                "content": [{"type": "text", "text": "(reply)"}],
                "stopReason": "stop",
            }
            entry = {
                "type": "message",
                "id": f"{n:08x}",
                "parentId": None,
                "timestamp": iso(ts),
                "message": message,
            }
            out.line(handle, entry)
            entries.append(entry)
            out.turn(HARNESS)
    out.written_at(path, ts)
    if rng.random() < 0.2:
        fork = out.uid()
        fork_path = folder / f"{ts:%Y-%m-%dT%H-%M-%S-000Z}_{fork}.jsonl"
        with out.open(fork_path) as handle:
            header = {"type": "session", "version": 3, "id": fork, "timestamp": iso(ts), "cwd": cwd}
            out.line(handle, {**header, "parentSession": str(path)})
            for entry in entries:
                out.line(handle, entry)
        out.written_at(fork_path, ts)
