"""Copilot CLI's OTel exporter file where `COPILOT_OTEL_FILE_EXPORTER_PATH` puts it: only that
file is read (not its neighbours), appended spans are read on, and doctor lists it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent_usage import store
from agent_usage.ingest import ingest
from tests.conftest import FIXTURES, invoke_cli

SPANS = FIXTURES / "copilot-cli" / "chat-spans-only" / "otel" / "copilot-2026-04-11.jsonl"


def _events(db: Path) -> int:
    with store.connect(db, read_only=True) as con:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]


def test_the_configured_exporter_file_alone_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "anywhere"
    folder.mkdir()
    exported = folder / "copilot.jsonl"
    shutil.copy(SPANS, exported)
    shutil.copy(SPANS, folder / "someone-elses.jsonl")  # beside it, not Copilot's: never read
    env = {"HOME": str(tmp_path / "home"), "COPILOT_OTEL_FILE_EXPORTER_PATH": str(exported)}
    db = tmp_path / "s.duckdb"
    assert ingest(db, env=env).files_found == 1
    assert _events(db) == 3
    span = json.loads(SPANS.read_text().splitlines()[-1])
    span["spanId"], span["attributes"]["gen_ai.usage.output_tokens"] = "e5f6a7b8c9d0e1f2", 42
    with exported.open("a") as handle:
        handle.write(json.dumps(span) + "\n")
    assert ingest(db, env=env, only={str(exported)}).events_new == 1
    assert _events(db) == 4
    doctor = json.loads(invoke_cli("doctor", "--json", "--db", str(db), env=env).stdout)
    rows = [
        row for row in doctor["sources"] if row["harness"] == "copilot-cli" and row["root"] == str(exported)
    ]
    assert rows and rows[0]["found"] and rows[0]["files"] == 1 and rows[0]["events"] == 4
