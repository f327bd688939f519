"""Demo sessions in OpenCode's SQLite store (`opencode.db`, the v1 tables of 1.2 and later):
assistant messages of one to three steps whose own `tokens` are the last step's only (the
parser must sum the `step-finish` parts), and about one session in six forked (the fork copies
the messages under new ids: the parser must count them once)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from agent_usage.demo.common import DemoWriter, pick

HARNESS = "opencode"
ROOTS = {"OPENCODE_DATA_DIR": "opencode-data"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("anthropic", "claude-sonnet-4-5", 0.6), ("openai", "gpt-5", 0.4))
SCHEMA = """
CREATE TABLE IF NOT EXISTS session (id TEXT PRIMARY KEY, project_id TEXT, parent_id TEXT, slug TEXT,
  directory TEXT, title TEXT, version TEXT, time_created INTEGER, time_updated INTEGER);
CREATE TABLE IF NOT EXISTS message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
  time_updated INTEGER, data TEXT);
CREATE TABLE IF NOT EXISTS part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT,
  time_created INTEGER, time_updated INTEGER, data TEXT);
"""


def _ms(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp() * 1000)


def _step_tokens(out: DemoWriter) -> dict[str, Any]:
    """One step's tokens as OpenCode 1.14 writes them (total = every bucket)."""
    rng = out.rng
    fresh, output = rng.randint(2, 400), rng.randint(40, 1_200)
    read, write = rng.randint(4_000, 70_000), rng.randint(0, 2_500)
    cache = {"read": read, "write": write}
    return {
        "total": fresh + output + read + write,
        "input": fresh,
        "output": output,
        "reasoning": 0,
        "cache": cache,
    }


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One session of `turns` assistant messages in `project`, sometimes followed by its fork."""
    rng, sid = out.rng, _id(out, "ses")
    directory = f"/home/dev/src/{project}"
    path = out.root / "opencode-data" / "opencode.db"
    before = path.stat().st_size if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, dict[str, Any], list[dict[str, Any]]]] = []
    ts = start
    for _ in range(turns):
        ts += timedelta(seconds=rng.randint(20, 200))
        provider, model, _ = pick(rng, MODELS)
        steps: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 3)):
            tokens = _step_tokens(out)
            cost = round(tokens["output"] * 15e-6 + tokens["cache"]["read"] * 0.3e-6, 6)
            steps.append({"type": "step-finish", "reason": "tool-calls", "cost": cost, "tokens": tokens})
        message = {
            "role": "assistant",
            "time": {"created": _ms(ts), "completed": _ms(ts) + 9000},
            "modelID": model,
            "providerID": provider,
            "path": {"cwd": directory, "root": directory},
            "cost": round(sum(step["cost"] for step in steps), 6),
            "tokens": steps[-1]["tokens"],  # OpenCode keeps the last step's here
            "finish": "stop",
        }
        rows.append((_id(out, "msg"), _ms(ts), message, steps))
        for _ in steps:
            out.turn(HARNESS)
    sessions = [(sid, _ms(start), rows)]
    if rng.random() < 0.17:  # the fork: every message again, under new ids
        fork = _id(out, "ses")
        copies = [(_id(out, "msg"), created, message, steps) for _, created, message, steps in rows]
        sessions.append((fork, _ms(ts), copies))
    with contextlib.closing(sqlite3.connect(path)) as con, con:
        con.executescript(SCHEMA)
        for session_id, created, messages in sessions:
            con.execute(
                "INSERT INTO session VALUES (?, 'prj', NULL, 'slug', ?, '(title)', '1.14.2', ?, ?)",
                (session_id, directory, created, created),
            )
            for message_id, at, message, steps in messages:
                data = json.dumps(message)
                con.execute(
                    "INSERT INTO message VALUES (?, ?, ?, ?, ?)", (message_id, session_id, at, at, data)
                )
                for step in steps:
                    con.execute(
                        "INSERT INTO part VALUES (?, ?, ?, ?, ?, ?)",
                        (_id(out, "prt"), message_id, session_id, at, at, json.dumps(step)),
                    )
    out.corpus.files += before is None
    out.corpus.bytes_written += path.stat().st_size - (before or 0)
    out.added_to(path, ts)


def _id(out: DemoWriter, prefix: str) -> str:
    """An OpenCode-like id (`ses_…`, `msg_…`, `prt_…`) from the seeded source."""
    return f"{prefix}_{out.uid().replace('-', '')[:24]}"
