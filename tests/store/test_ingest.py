"""Incremental, idempotent ingest on real files: appends, partial lines, rewrites, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.errors import DatabaseBusyError
from agent_usage.ingest import ingest
from agent_usage.queries import Filters, totals
from tests.conftest import copy_fixture, fixture_env

CLAUDE_SESSION = "projects/-home-al-src-shop/7f3a9c1e-2b44-4d1e-9a0b-5c6d7e8f9012.jsonl"


def _events(db: Path) -> int:
    with store.connect(db, read_only=True) as con:
        return totals(con, Filters()).events


def test_partial_last_line_is_left_then_read_when_completed(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("claude-code", "content-blocks", tmp_path)
    env, db = fixture_env("claude-code", root, isolated_home), tmp_path / "s.duckdb"
    ingest(db, env=env)
    assert _events(db) == 3
    with (root / CLAUDE_SESSION).open("a") as handle:
        handle.write((root / "last-line-completion.txt").read_text())
    summary = ingest(db, env=env)
    expected = json.loads((root / "expected.json").read_text())["after_completing_last_line"]
    with store.connect(db, read_only=True) as con:
        got = totals(con, Filters())
    assert (got.events, got.input_tokens, got.cache_read_tokens, got.output_tokens) == (
        expected["events"],
        expected["input_tokens"],
        expected["cache_read_tokens"],
        expected["output_tokens"],
    )
    assert summary.events_new == 1
    assert summary.bad_lines == 0  # the earlier bad line is not read (or counted) again


def _token_count(ts: str, total: tuple[int, ...], last: tuple[int, ...] | None = None) -> dict:
    """A Codex token_count line with cumulative `total` and optional `last` usage."""
    names = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")
    info = {"total_token_usage": dict(zip(names, total, strict=True))}
    if last is not None:
        info["last_token_usage"] = dict(zip(names, last, strict=True))
    return {"timestamp": ts, "type": "event_msg", "payload": {"type": "token_count", "info": info}}


def test_appending_turns_adds_exactly_those_events(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("codex", "reemit", tmp_path)
    env, db = fixture_env("codex", root, isolated_home), tmp_path / "s.duckdb"
    ingest(db, env=env)
    rollout = next(root.rglob("rollout-*.jsonl"))
    new_turns = [
        _token_count(
            "2026-03-02T09:20:00.000Z", total=(60108, 48112, 2815, 1004), last=(10000, 8000, 500, 100)
        ),
        _token_count("2026-03-02T09:20:01.000Z", total=(60108, 48112, 2815, 1004)),  # a re-emit
    ]
    with rollout.open("a") as handle:
        handle.writelines(json.dumps(t) + "\n" for t in new_turns)
    summary = ingest(db, env=env)
    assert summary.files_read == 1 and summary.events_new == 1
    assert summary.bytes_read == sum(len(json.dumps(t)) + 1 for t in new_turns)
    with store.connect(db, read_only=True) as con:
        got = totals(con, Filters())
    assert (got.events, got.input_tokens, got.cache_read_tokens, got.output_tokens) == (4, 11996, 48112, 2815)


def test_rewritten_file_replaces_its_own_rows(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("gemini-cli", "legacy-resume-subagent", tmp_path)
    env, db = fixture_env("gemini-cli", root, isolated_home), tmp_path / "s.duckdb"
    legacy = next(root.rglob("session-*.json"))
    for sibling in legacy.parent.glob("*.jsonl"):
        sibling.unlink()  # leave only the legacy file (and the subagent chat)
    ingest(db, env=env)
    assert _events(db) == 3
    doc = json.loads(legacy.read_text())
    doc["messages"][1]["tokens"]["output"] = 999  # Gemini rewrote the document with final numbers
    legacy.write_text(json.dumps(doc))
    ingest(db, env=env)
    with store.connect(db, read_only=True) as con:
        rows = con.execute("SELECT message_id, output_tokens FROM events ORDER BY 1").fetchall()
    assert rows == [("m1", 999 + 540), ("m2", 100), ("s1", 60)]


def test_file_replaced_by_a_shorter_one_is_read_from_the_start(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("claude-code", "resume-fork", tmp_path)
    env, db = fixture_env("claude-code", root, isolated_home), tmp_path / "s.duckdb"
    ingest(db, env=env)
    resumed = next(p for p in root.rglob("*.jsonl") if p.name.startswith("2222"))
    lines = resumed.read_text().splitlines(keepends=True)
    resumed.write_text(lines[0] + lines[-1])  # only the new turn msg_02C is left
    ingest(db, env=env)
    with store.connect(db, read_only=True) as con:
        keys = sorted(r[0] for r in con.execute("SELECT message_id FROM events").fetchall())
    assert keys == ["msg_02A", "msg_02B", "msg_02C"]


def test_rows_survive_when_the_agent_deletes_its_files(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("pi", "fork-copy", tmp_path)
    env, db = fixture_env("pi", root, isolated_home), tmp_path / "s.duckdb"
    ingest(db, env=env)
    for path in root.rglob("*.jsonl"):
        path.unlink()
    ingest(db, env=env)
    assert _events(db) == 3


def test_bad_lines_are_counted_and_named(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("pi", "usage-everywhere", tmp_path)
    summary = ingest(tmp_path / "s.duckdb", env=fixture_env("pi", root, isolated_home))
    assert summary.bad_lines == 1
    session_file = next(root.rglob("*.jsonl"))
    assert any(p.startswith(f"{session_file}: skipped byte ") for p in summary.problems)


def test_store_locked_by_another_process_raises_busy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.duckdb"
    with store.connect(db):
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(db)!r})
            print("locked", flush=True)
            time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("AGENT_USAGE_BUSY_TIMEOUT", "0.3")
        with pytest.raises(DatabaseBusyError, match=f"PID {holder.pid}"), store.connect(db):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_vanished_file_is_reported_and_the_rest_ingested(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("claude-code", "resume-fork", tmp_path)
    gone = root / "projects" / "-home-al-src-shop" / "deleted-meanwhile.jsonl"
    gone.symlink_to(tmp_path / "no-such-file.jsonl")
    summary = ingest(tmp_path / "s.duckdb", env=fixture_env("claude-code", root, isolated_home))
    assert any(p.startswith(f"{gone}: cannot stat") for p in summary.problems)
    assert _events(tmp_path / "s.duckdb") == 3


def test_migrations_are_recorded_once_and_the_store_is_private(tmp_path: Path) -> None:
    db = tmp_path / "data" / "s.duckdb"
    with store.connect(db) as con:
        applied = con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
        assert store.migrate(con) == []
    assert [name for (name,) in applied] == [name for name, _ in store.migrations.MIGRATIONS]
    assert db.stat().st_mode & 0o777 == 0o600
    assert db.parent.stat().st_mode & 0o777 == 0o700


def test_read_only_store_location_is_a_clear_error(tmp_path: Path) -> None:
    from agent_usage.errors import StoreError

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with (
        pytest.raises(StoreError, match="cannot create the store directory"),
        store.connect(blocker / "s.duckdb"),
    ):
        pass


def test_a_root_reached_twice_is_read_once_and_symlink_loops_end(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("claude-code", "resume-fork", tmp_path)
    alias = tmp_path / "alias"
    alias.symlink_to(root, target_is_directory=True)
    (root / "projects" / "-home-al-src-shop" / "loop").symlink_to(root / "projects", target_is_directory=True)
    env = {"HOME": str(isolated_home), "CLAUDE_CONFIG_DIR": f"{root},{alias}"}
    summary = ingest(tmp_path / "s.duckdb", env=env)
    single = ingest(tmp_path / "single.duckdb", env=fixture_env("claude-code", root, isolated_home))
    assert summary.files_found == single.files_found == summary.files_read
    assert _events(tmp_path / "s.duckdb") == _events(tmp_path / "single.duckdb") == 3


def test_worker_processes_store_exactly_what_one_process_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel parsing (spawned workers, whole files per task) must not change a single row."""
    from agent_usage import ingest_parallel
    from agent_usage.demo import generate

    corpus = generate(tmp_path / "corpus", days=6, sessions_per_day=6, seed=3)
    monkeypatch.setattr(ingest_parallel, "GROUP_BYTES", 64 * 1024)
    rows = {}
    for workers in ("1", "2"):
        monkeypatch.setenv("AGENT_USAGE_WORKERS", workers)
        db = tmp_path / f"w{workers}.duckdb"
        summary = ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
        assert summary.files_read == summary.files_found > 20
        with store.connect(db, read_only=True) as con:
            rows[workers] = con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
            files = con.execute("SELECT * EXCLUDE (last_read) FROM files ORDER BY path").fetchall()
        rows[f"files{workers}"] = files
    assert len(rows["1"]) > 100
    assert rows["1"] == rows["2"]
    assert rows["files1"] == rows["files2"]


def test_absurd_counts_are_skipped_and_unknown_record_types_ignored(
    tmp_path: Path, isolated_home: Path
) -> None:
    root = copy_fixture("claude-code", "resume-fork", tmp_path)
    env, db = fixture_env("claude-code", root, isolated_home), tmp_path / "s.duckdb"
    ingest(db, env=env)
    before = _events(db)
    session = next((root / "projects").rglob("*.jsonl"))
    template = next(json.loads(line) for line in session.read_text().splitlines() if '"usage"' in line)
    absurd = {**template, "requestId": "req_absurd", "message": {**template["message"], "id": "msg_absurd"}}
    absurd["message"]["usage"] = {"input_tokens": 5, "output_tokens": 10**12}
    newer = {
        "type": "telemetry_snapshot_v9",
        "usage": {"output_tokens": 7},
        "timestamp": template["timestamp"],
    }
    with session.open("a") as handle:
        handle.write(json.dumps(absurd) + "\n" + json.dumps(newer) + "\n")
    summary = ingest(db, env=env)
    assert _events(db) == before
    assert any("absurd token count 1000000000005" in problem for problem in summary.problems)
    assert summary.bad_lines == 1  # the absurd line; the unknown record type is not an error


def test_reading_only_needle_lines_stores_what_reading_every_line_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The block reader's shortcut (parsers' NEEDLES) must not change a row, a file record or
    a bad-line count, on real-shaped files with damaged lines among them."""
    from agent_usage import ingest_read
    from agent_usage.demo import generate
    from agent_usage.lines import LineReader

    corpus = generate(tmp_path / "corpus", days=4, sessions_per_day=5, seed=11)
    damaged = sorted((tmp_path / "corpus").rglob("*.jsonl"))[::7]
    for path in damaged:  # damage in the middle, where only the block check can see it
        first, rest = path.read_bytes().split(b"\n", 1)
        path.write_bytes(first + b'\n{"type":"assistant","message":{"usage":\n  \nnot json\n' + rest)
    monkeypatch.setenv("AGENT_USAGE_WORKERS", "1")
    results = {}
    for mode in ("needles", "every line"):
        if mode == "every line":  # the reader ignores the needles; parsers keep their own prefilters
            monkeypatch.setattr(
                ingest_read, "LineReader", lambda handle, start, whole, _: LineReader(handle, start, whole)
            )
        db = tmp_path / f"{mode}.duckdb"
        summary = ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
        with store.connect(db, read_only=True) as con:
            events = con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
            files = con.execute("SELECT * EXCLUDE (last_read) FROM files ORDER BY path").fetchall()
        results[mode] = (events, files, summary.bad_lines, summary.duplicates, summary.problems)
    assert len(results["needles"][0]) > 50 and results["needles"][2] >= 2 * len(damaged) > 0
    assert results["needles"] == results["every line"]
