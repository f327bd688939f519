"""Demo sessions in Droid's format: `sessions/<project key>/<id>.jsonl` (the transcript, no usage)
beside `<id>.settings.json`, whose `tokenUsage` is the session's running total and whose
`inclusiveTokenUsage` adds a child session's (the parser must read each session's own total
once)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "droid"
ROOTS = {"FACTORY_HOME_OVERRIDE": "factory-home"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("anthropic", "claude-sonnet-4-5-20250929", 0.7), ("openai", "gpt-5", 0.3))
BUCKETS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "thinkingTokens")


def _session(
    out: DemoWriter, folder: Path, start: datetime, cwd: str, turns: int, parent: str | None
) -> tuple[str, dict[str, int], datetime]:
    """Write one session's transcript and settings; (its id, its own total, its last time)."""
    rng, sid = out.rng, out.uid()
    provider, model, _ = pick(rng, MODELS)
    header = {
        "type": "session_start",
        "id": sid,
        "title": "(title)",
        "version": 2,
        "cwd": cwd,
        "parent": None,
    }
    if parent:
        header["callingSessionId"] = parent
    total = dict.fromkeys(BUCKETS, 0)
    ts, lines = start, [header]
    for n in range(turns):
        ts += timedelta(seconds=rng.randint(20, 200))
        output = rng.randint(60, 1_500)
        call = {
            "inputTokens": rng.randint(2, 300),
            "outputTokens": output,
            "cacheCreationTokens": rng.randint(0, 2_500),
            "cacheReadTokens": rng.randint(5_000, 70_000),
            "thinkingTokens": rng.randint(0, output // 3)
            if provider == "openai"
            else 0,  # part of the output
        }
        for key in BUCKETS:
            total[key] += call[key]
        reply = {"role": "assistant", "content": [{"type": "text", "text": "(reply)"}]}
        lines.append({"type": "message", "id": f"m{n}", "timestamp": iso(ts), "message": reply})
    transcript = folder / f"{sid}.jsonl"
    with out.open(transcript) as handle:
        for line in lines:
            out.line(handle, line)
    out.written_at(transcript, ts)
    settings: dict[str, Any] = {
        "model": model,
        "providerLock": provider,
        "providerLockTimestamp": iso(start),
        "tokenUsage": {**total, "factoryCredits": 0.0},
    }
    path = folder / f"{sid}.settings.json"
    with out.open(path) as handle:
        out.line(handle, settings)
    out.written_at(path, ts)
    out.turn(HARNESS)  # Droid keeps a session's total only: one event per session
    return sid, total, ts


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One session of `turns` calls in `project`, sometimes with a child session of its own."""
    cwd = f"/home/dev/src/{project}"
    folder = out.root / "factory-home" / ".factory" / "sessions" / f"-home-dev-src-{project}"
    sid, own, end = _session(out, folder, start, cwd, turns, None)
    if out.rng.random() < 0.25:  # a child session: its parent's inclusive total counts it again
        _, child, _ = _session(out, folder, start + timedelta(seconds=10), cwd, 1, sid)
        path = folder / f"{sid}.settings.json"
        settings = json.loads(path.read_text())
        settings["inclusiveTokenUsage"] = {key: own[key] + child[key] for key in BUCKETS}
        path.write_text(json.dumps(settings, indent=2))
        out.written_at(path, end)
