"""Amp beyond its fixture totals: a thread rewritten with one more call, and hostile documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent_usage import store
from agent_usage.ingest import ingest
from tests.conftest import FIXTURES

THREADS = FIXTURES / "amp" / "ledger-and-messages" / "threads"
LATER = "T-019b9d03-0000-7000-8000-000000000002.json"


def _totals(db: Path) -> tuple[int, int | None]:
    with store.connect(db, read_only=True) as con:
        return con.execute("SELECT count(*), sum(output_tokens) FROM events").fetchone()


def test_a_rewritten_thread_adds_only_its_new_call(tmp_path: Path) -> None:
    threads = tmp_path / "threads"
    shutil.copytree(THREADS, threads)
    db, env = tmp_path / "s.duckdb", {"AMP_DATA_DIR": str(tmp_path)}
    ingest(db, env=env)
    assert _totals(db) == (4, 670)
    thread = json.loads((threads / LATER).read_text())
    call = json.loads(json.dumps(thread["messages"][1]))
    call["messageId"], call["usage"]["outputTokens"] = 3, 55
    call["usage"]["timestamp"] = "2026-02-10T05:09:00.000Z"
    thread["messages"] += [{"role": "user", "messageId": 2, "content": []}, call]
    (threads / LATER).write_text(json.dumps(thread))  # Amp rewrites the whole thread
    ingest(db, env=env)
    assert _totals(db) == (5, 725)


def test_hostile_threads_are_counted_never_fatal(tmp_path: Path) -> None:
    threads = tmp_path / "threads"
    threads.mkdir()
    (threads / "T-cut.json").write_text('{"id": "T-cut", "messages": [{"role": "assist')
    (threads / "T-list.json").write_text("[1, 2]")
    odd = {
        "id": "T-odd",
        "messages": [{"role": "assistant", "usage": {"inputTokens": "-3", "outputTokens": 5}}],
    }
    (threads / "T-odd.json").write_text(json.dumps(odd))  # no model: counted as bad
    (threads / "notes.json").write_text("{}")  # not a thread file
    summary = ingest(tmp_path / "s.duckdb", env={"AMP_DATA_DIR": str(tmp_path)})
    assert summary.files_found == 3
    assert summary.bad_lines == 3
    assert _totals(tmp_path / "s.duckdb") == (0, None)
