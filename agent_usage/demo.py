"""A realistic, deterministic session history for all four harnesses, at any size.

Written in each harness's real on-disk format, traps included (per-block copies and
subagents for Claude, re-emitted token counts for Codex, re-appended messages for Gemini,
forks for pi), so the demo and the benchmarks exercise the same code as real data. The
text is filler: nothing resembling a real prompt is written.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson

PROJECTS = ("shop", "api", "infra", "docs-site", "ml-pipeline")
CLAUDE_MODELS = (("claude-opus-4-7", 0.55), ("claude-sonnet-4-6", 0.35), ("claude-haiku-4-5", 0.10))
CODEX_MODELS = (("gpt-5.3-codex", 0.7), ("gpt-5.1-codex-mini", 0.3))
GEMINI_MODELS = (("gemini-2.5-pro", 0.6), ("gemini-3-flash-preview", 0.4))
PI_MODELS = (("anthropic", "claude-sonnet-4-5", 0.6), ("openai", "gpt-5", 0.4))
FIRST_HOUR, LAST_HOUR = 7, 21
"""Sessions start between 07:00 and 21:59 UTC."""
LONGEST_SESSION = timedelta(hours=2)
"""A demo session (up to 14 turns of up to 5 minutes, plus subagents) ends within this."""
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


@dataclass(slots=True)
class DemoCorpus:
    """Where the generated history lives and the environment that points the parsers at it."""

    root: Path
    env: dict[str, str]
    files: int = 0
    bytes_written: int = 0
    turns: dict[str, int] = field(default_factory=dict)


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def _pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    roll, acc = rng.random(), 0.0
    for entry in weighted:
        acc += entry[-1]
        if roll <= acc:
            return entry
    return weighted[-1]


class _Writer:
    """Appends JSON lines to files and keeps the corpus's counters."""

    def __init__(self, corpus: DemoCorpus) -> None:
        self.corpus = corpus

    def open(self, path: Path) -> IO[bytes]:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.corpus.files += 1
        return path.open("wb")

    def line(self, handle: IO[bytes], obj: Any) -> None:
        data = orjson.dumps(obj) + b"\n"
        handle.write(data)
        self.corpus.bytes_written += len(data)


class _Generator:
    def __init__(self, root: Path, rng: random.Random, tool_bytes: int) -> None:
        self.root, self.rng, self.tool_bytes = root, rng, tool_bytes
        self.corpus = DemoCorpus(
            root=root,
            env={
                "CLAUDE_CONFIG_DIR": str(root / "claude"),
                "GEMINI_CLI_HOME": str(root / "gemini-home"),
                "CODEX_HOME": str(root / "codex"),
                "PI_CODING_AGENT_DIR": str(root / "pi-agent"),
                "HOME": str(root / "home"),
            },
            turns={"claude-code": 0, "codex": 0, "gemini-cli": 0, "pi": 0},
        )
        self.out = _Writer(self.corpus)

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def filler(self, size: int) -> str:
        return (FILLER * (size // len(FILLER) + 1))[:size]

    def claude_session(self, start: datetime, project: str, turns: int) -> None:
        rng, sid, cwd = self.rng, self.uid(), f"/home/dev/src/{project}"
        slug = "-home-dev-src-" + project.replace("-", "-")
        path = self.root / "claude" / "projects" / slug / f"{sid}.jsonl"
        base = {
            "sessionId": sid,
            "cwd": cwd,
            "gitBranch": "main",
            "version": "2.1.140",
            "userType": "external",
        }
        context, ts = rng.randint(8_000, 20_000), start
        with self.out.open(path) as handle:
            for turn in range(turns):
                model = _pick(rng, CLAUDE_MODELS)[0]
                ts += timedelta(seconds=rng.randint(20, 240))
                user = {
                    "type": "user",
                    "timestamp": _iso(ts),
                    "message": {"role": "user", "content": "(task)"},
                }
                self.out.line(handle, {**base, **user})
                mid, rid = (
                    f"msg_{self.uid().replace('-', '')[:24]}",
                    f"req_{self.uid().replace('-', '')[:24]}",
                )
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
                for block in ("thinking", "text", "tool_use"):
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
                    self.out.line(
                        handle,
                        {
                            **base,
                            "type": "assistant",
                            "timestamp": _iso(ts),
                            "requestId": rid,
                            "message": message,
                        },
                    )
                tool = {
                    "type": "user",
                    "timestamp": _iso(ts + timedelta(seconds=2)),
                    "message": {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": "t",
                                "content": self.filler(self.tool_bytes),
                            }
                        ],
                    },
                }
                self.out.line(handle, {**base, **tool})
                context += write + final_output
                self.corpus.turns["claude-code"] += 1
                if turn == 1 and rng.random() < 0.3:
                    self.claude_subagent(path.parent / sid / "subagents", base, ts)

    def claude_subagent(self, folder: Path, base: dict[str, Any], ts: datetime) -> None:
        agent = self.uid()[:8]
        with self.out.open(folder / f"agent-{agent}.jsonl") as handle:
            for _ in range(self.rng.randint(2, 6)):
                ts += timedelta(seconds=self.rng.randint(5, 40))
                usage = {
                    "input_tokens": 5,
                    "cache_creation_input_tokens": 600,
                    "cache_read_input_tokens": 9_000,
                    "output_tokens": self.rng.randint(50, 600),
                }
                message = {
                    "id": f"msg_{self.uid()[:20]}",
                    "role": "assistant",
                    "model": "claude-haiku-4-5",
                    "usage": usage,
                    "content": [{"type": "text", "text": "(sub)"}],
                }
                self.out.line(
                    handle,
                    {
                        **base,
                        "type": "assistant",
                        "isSidechain": True,
                        "agentId": agent,
                        "timestamp": _iso(ts),
                        "requestId": f"req_{self.uid()[:20]}",
                        "message": message,
                    },
                )
                self.corpus.turns["claude-code"] += 1

    def codex_session(self, start: datetime, project: str, turns: int) -> None:
        rng, sid = self.rng, self.uid()
        day = start.strftime("%Y/%m/%d")
        path = self.root / "codex" / "sessions" / day / f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{sid}.jsonl"
        meta = {
            "id": sid,
            "timestamp": _iso(start),
            "cwd": f"/home/dev/src/{project}",
            "originator": "codex_cli_rs",
            "cli_version": "0.110.0",
            "source": "cli",
            "model_provider": "openai",
            "git": {"branch": "main"},
        }
        totals, ts = [0, 0, 0, 0], start
        with self.out.open(path) as handle:
            self.out.line(handle, {"timestamp": _iso(ts), "type": "session_meta", "payload": meta})
            for _ in range(turns):
                ts += timedelta(seconds=rng.randint(30, 300))
                model = _pick(rng, CODEX_MODELS)[0]
                self.out.line(
                    handle,
                    {
                        "timestamp": _iso(ts),
                        "type": "turn_context",
                        "payload": {"cwd": meta["cwd"], "model": model},
                    },
                )
                self.out.line(
                    handle,
                    {
                        "timestamp": _iso(ts),
                        "type": "response_item",
                        "payload": {"type": "function_call_output", "output": self.filler(self.tool_bytes)},
                    },
                )
                cached = totals[0] and rng.randint(totals[0] // 2, totals[0])
                last = [cached + rng.randint(500, 6_000), cached, rng.randint(100, 2_000), 0]
                last[3] = rng.randint(0, last[2])
                totals = [t + x for t, x in zip(totals, last, strict=True)]
                info = {"total_token_usage": _codex_usage(totals), "last_token_usage": _codex_usage(last)}
                for _ in range(2 if rng.random() < 0.5 else 1):  # re-emitted with an unchanged total
                    ts += timedelta(milliseconds=700)
                    self.out.line(
                        handle,
                        {
                            "timestamp": _iso(ts),
                            "type": "event_msg",
                            "payload": {"type": "token_count", "info": info},
                        },
                    )
                self.corpus.turns["codex"] += 1

    def gemini_session(self, start: datetime, project: str, turns: int) -> None:
        rng, sid = self.rng, self.uid()
        folder = self.root / "gemini-home" / ".gemini" / "tmp" / project
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ".project_root").write_text(f"/home/dev/src/{project}\n")
        path = folder / "chats" / f"session-{start:%Y-%m-%dT%H-%M}-{sid[:8]}.jsonl"
        ts = start
        with self.out.open(path) as handle:
            self.out.line(
                handle, {"sessionId": sid, "projectHash": "x", "startTime": _iso(ts), "lastUpdated": _iso(ts)}
            )
            for n in range(turns):
                ts += timedelta(seconds=rng.randint(20, 200))
                model = _pick(rng, GEMINI_MODELS)[0]
                self.out.line(
                    handle,
                    {"id": f"u{n}", "timestamp": _iso(ts), "type": "user", "content": [{"text": "(task)"}]},
                )
                prompt = rng.randint(5_000, 60_000)
                tokens = {
                    "input": prompt,
                    "output": rng.randint(40, 1_500),
                    "cached": rng.randint(0, prompt),
                    "thoughts": rng.randint(0, 600),
                    "tool": 0,
                }
                tokens["total"] = tokens["input"] + tokens["output"] + tokens["thoughts"]
                record = {
                    "id": f"g{n}",
                    "timestamp": _iso(ts),
                    "type": "gemini",
                    "content": "(reply)",
                    "model": model,
                }
                self.out.line(handle, {**record, "tokens": None})
                self.out.line(handle, {**record, "tokens": tokens})
                self.corpus.turns["gemini-cli"] += 1

    def pi_session(self, start: datetime, project: str, turns: int) -> None:
        rng, sid = self.rng, self.uid()
        cwd = f"/home/dev/src/{project}"
        folder = self.root / "pi-agent" / "sessions" / f"--home-dev-src-{project}--"
        path = folder / f"{start:%Y-%m-%dT%H-%M-%S-000Z}_{sid}.jsonl"
        ts, entries = start, []
        with self.out.open(path) as handle:
            self.out.line(
                handle, {"type": "session", "version": 3, "id": sid, "timestamp": _iso(ts), "cwd": cwd}
            )
            for n in range(turns):
                ts += timedelta(seconds=rng.randint(20, 200))
                provider, model, _ = _pick(rng, PI_MODELS)
                usage: dict[str, Any] = {
                    "input": rng.randint(2, 300),
                    "output": rng.randint(50, 1_500),
                    "cacheRead": rng.randint(5_000, 80_000),
                    "cacheWrite": rng.randint(0, 3_000),
                }
                usage["totalTokens"] = sum(usage.values())
                usage["cost"] = {"total": round(usage["output"] * 15e-6 + usage["cacheRead"] * 0.3e-6, 6)}
                entry = {
                    "type": "message",
                    "id": f"{n:08x}",
                    "parentId": None,
                    "timestamp": _iso(ts),
                    "message": {
                        "role": "assistant",
                        "provider": provider,
                        "model": model,
                        "usage": usage,
                        "content": [{"type": "text", "text": "(reply)"}],
                        "stopReason": "stop",
                    },
                }
                self.out.line(handle, entry)
                entries.append(entry)
                self.corpus.turns["pi"] += 1
        if rng.random() < 0.2:  # a /fork copies the entries verbatim into a new file
            fork = self.uid()
            with self.out.open(folder / f"{ts:%Y-%m-%dT%H-%M-%S-000Z}_{fork}.jsonl") as handle:
                self.out.line(
                    handle,
                    {
                        "type": "session",
                        "version": 3,
                        "id": fork,
                        "timestamp": _iso(ts),
                        "cwd": cwd,
                        "parentSession": str(path),
                    },
                )
                for entry in entries:
                    self.out.line(handle, entry)


def _fold_before(start: datetime, latest: datetime) -> datetime:
    """`start` moved into the part of its day's working hours that is already over.

    No random draw: the rest of the history stays what the seed makes it.
    """
    first = start.replace(hour=FIRST_HOUR, minute=0, second=0)
    return first + (start - first) % (latest - first + timedelta(seconds=1))


def _codex_usage(values: list[int]) -> dict[str, int]:
    return {
        "input_tokens": values[0],
        "cached_input_tokens": values[1],
        "output_tokens": values[2],
        "reasoning_output_tokens": values[3],
        "total_tokens": values[0] + values[2],
    }


def generate(
    root: Path,
    *,
    days: int = 28,
    sessions_per_day: int = 4,
    seed: int = 7,
    end: date | None = None,
    now: datetime | None = None,
    tool_output_bytes: int = 1_500,
    target_bytes: int | None = None,
) -> DemoCorpus:
    """Write a history of `days` days ending on `end`, or until `target_bytes`.

    Without `end` the history ends before `now` (naive UTC, default the clock): a demo run at
    01:00 shows no session from later that day, and before the working day starts the last
    day is yesterday.
    """
    rng = random.Random(seed)
    gen = _Generator(root, rng, tool_output_bytes)
    latest: datetime | None = None  # no session may start after this
    if end is not None:
        last_day = end
    else:
        latest = (now or datetime.now(UTC).replace(tzinfo=None)) - LONGEST_SESSION
        last_day = latest.date() if latest.hour >= FIRST_HOUR else latest.date() - timedelta(days=1)
    writers = (gen.claude_session, gen.claude_session, gen.codex_session, gen.gemini_session, gen.pi_session)
    round_no, session_no = 0, 0
    while True:
        for offset in range(days - 1, -1, -1):
            day = last_day - timedelta(days=offset)
            if rng.random() < 0.15 and target_bytes is None:
                continue  # a day off
            for _ in range(sessions_per_day):
                start = datetime(
                    day.year,
                    day.month,
                    day.day,
                    rng.randint(FIRST_HOUR, LAST_HOUR),
                    rng.randint(0, 59),
                    rng.randint(0, 59),
                )
                if latest is not None and start > latest:
                    start = _fold_before(start, latest)
                writer = writers[session_no % len(writers)]  # every harness appears, Claude most
                session_no += 1
                writer(start, rng.choice(PROJECTS), rng.randint(3, 14))
                if target_bytes is not None and gen.corpus.bytes_written >= target_bytes:
                    return gen.corpus
        round_no += 1
        if target_bytes is None or round_no > 10_000:
            return gen.corpus
