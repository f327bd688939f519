"""OpenCode beyond its fixture totals: the JSON storage on its own, a database that OpenCode
is writing (its WAL sidecar), the folders it is found in, and hostile input."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from agent_usage import store
from agent_usage.ingest import ingest
from agent_usage.parsers import opencode
from tests.conftest import FIXTURES

FIXTURE = FIXTURES / "opencode" / "steps-json-and-db"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "opencode"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "*.json", "*.ndjson"))
    shutil.copytree(FIXTURE / "storage", root / "storage", dirs_exist_ok=True)
    return root


def _rows(db: Path) -> list[tuple[object, ...]]:
    with store.connect(db, read_only=True) as con:
        return con.execute(
            "SELECT session_id, input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,"
            " harness_version, project FROM events ORDER BY ts, output_tokens"
        ).fetchall()


def test_the_json_storage_alone_counts_each_step(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "opencode.db").unlink()
    summary = ingest(tmp_path / "s.duckdb", env={"OPENCODE_DATA_DIR": str(root)})
    assert summary.bad_lines == 0
    assert _rows(tmp_path / "s.duckdb") == [
        ("ses_7fffa", 6, 155, 23260, 684, "1.1.60", "shop"),
        ("ses_7fffa", 12, 311, 46520, 1367, "1.1.60", "shop"),
    ]


def _add_message(con: sqlite3.Connection, number: int) -> None:
    """One more assistant message of one step in session ses_7fffb, as OpenCode writes it."""
    created = 1777000100000 + number
    tokens = {"input": 100, "output": 10, "reasoning": 0, "cache": {"read": 0, "write": 0}}
    message = {"role": "assistant", "time": {"created": created}, "modelID": "gpt-5", "providerID": "openai",
               "cost": 0.01, "tokens": tokens}  # fmt: skip
    step = {"type": "step-finish", "cost": 0.01, "tokens": message["tokens"]}
    con.execute(
        "INSERT INTO message VALUES (?, 'ses_7fffb', ?, ?, ?)",
        (f"msg_n{number}", created, created, json.dumps(message)),
    )
    con.execute(
        "INSERT INTO part VALUES (?, ?, 'ses_7fffb', ?, ?, ?)",
        (f"prt_n{number}", f"msg_n{number}", created, created, json.dumps(step)),
    )
    con.commit()


def test_a_database_opencode_is_writing_is_read_with_its_wal(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    database = root / "opencode.db"
    writer = sqlite3.connect(database)  # OpenCode, running: WAL, no checkpoint yet
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    db, env = tmp_path / "s.duckdb", {"OPENCODE_DATA_DIR": str(root)}
    try:
        ingest(db, env=env)
        assert len(_rows(db)) == 5
        stamp = database.stat().st_mtime_ns, database.stat().st_size
        _add_message(writer, 1)
        assert (database.stat().st_mtime_ns, database.stat().st_size) == stamp  # only the WAL moved
        assert ingest(db, env=env).files_read == 1
        assert len(_rows(db)) == 6
        _add_message(writer, 2)  # a watcher reports the sidecar: the database is what is read
        ingest(db, env=env, only={str(database) + "-wal"})
        assert len(_rows(db)) == 7
        assert ingest(db, env=env).files_read == 0
    finally:
        writer.close()


def test_the_folders_opencode_keeps_its_data_in(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert opencode.roots({"HOME": str(home)}) == [home / ".local" / "share" / "opencode"]
    assert opencode.roots({"HOME": str(home), "XDG_DATA_HOME": "/x/data"}) == [Path("/x/data/opencode")]
    assert opencode.roots({"OPENCODE_DATA_DIR": "/a,/b"}) == [Path("/a"), Path("/b")]
    with_db = opencode.roots({"HOME": str(home), "OPENCODE_DB": "/srv/oc/opencode-work.db"})
    assert with_db == [home / ".local" / "share" / "opencode", Path("/srv/oc")]
    root = Path("/d")
    assert opencode.accepts(root, "/d/opencode.db") and opencode.accepts(root, "/d/opencode-dev.db")
    assert opencode.accepts(root, "/d/storage/message/ses_1/msg_1.json")
    assert not opencode.accepts(root, "/d/opencode.db-wal")
    assert not opencode.accepts(root, "/d/storage/part/msg_1/prt_1.json")
    assert not opencode.accepts(root, "/d/project/p/storage/session/message/ses_1/msg_1.json")


def test_hostile_files_are_counted_never_fatal(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "opencode.db").write_bytes(bytes(range(256)) * 64)  # not a database
    (root / "storage" / "message" / "ses_7fffa" / "msg_zz.json").write_bytes(b'{"role": "assistant", "tok')
    part = root / "storage" / "part" / "msg_a1" / "prt_a1s1.json"
    broken = json.loads(part.read_text())
    broken["tokens"] = {
        "input": "-5",
        "output": 1.5e300,
        "reasoning": None,
        "cache": {"read": "x", "write": -1},
    }
    part.write_text(json.dumps(broken))
    summary = ingest(tmp_path / "s.duckdb", env={"OPENCODE_DATA_DIR": str(root)})
    assert summary.bad_lines == 3  # the database, the cut message and the absurd step
    assert any("opencode.db" in problem and "database" in problem for problem in summary.problems)
    assert any("msg_zz.json" in problem for problem in summary.problems)
    assert _rows(tmp_path / "s.duckdb") == [("ses_7fffa", 12, 311, 46520, 1367, "1.1.60", "shop")]
