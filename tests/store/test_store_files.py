"""Store files that are damaged, half-made or not ours: one line each, the right exit code,
and nothing of the user's changed; permissions private under any umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pytest

from agent_usage import store
from tests.conftest import FIXTURES, invoke_cli, run_cli

CLAUDE = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks")}


def default_db() -> Path:
    return Path(os.environ["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"


def assert_one_line_error(result: object, *needles: str, code: int = 1) -> None:
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("report", "daily"),
        ("report", "daily", "--no-ingest"),
        ("ingest",),
        ("watch", "--once", "--endpoint", "http://127.0.0.1:9", "--no-traces"),
    ],
)
def test_a_truncated_store_is_one_line_naming_it(command: tuple[str, ...]) -> None:
    demo_env = {**CLAUDE}
    assert invoke_cli("ingest", env=demo_env).returncode == 0
    db = default_db()
    with store.connect(db) as con:  # enough rows that the file spans several blocks
        con.execute("CREATE TABLE filler AS SELECT range AS i FROM range(1000000)")
    os.truncate(db, 300_000)
    result = invoke_cli(*command, env=demo_env)
    assert_one_line_error(result, f"error: {db}: not a usable agent-usage store (damaged file", "hint: ")
    assert "agent-usage rebuild" in result.stderr


def test_doctor_works_on_a_broken_store_and_says_what_is_wrong() -> None:
    assert invoke_cli("ingest", env=CLAUDE).returncode == 0
    db = default_db()
    with store.connect(db) as con:
        con.execute("CREATE TABLE filler AS SELECT range AS i FROM range(1000000)")
    os.truncate(db, 300_000)
    result = invoke_cli("doctor", env=CLAUDE)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "claude-code" in result.stdout and "agent-usage doctor" in result.stdout
    assert f"store: {db}: not a usable agent-usage store (damaged file" in result.stdout
    assert "hint: `agent-usage rebuild`" in result.stdout


def test_an_empty_duckdb_file_becomes_a_store(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    for command in (("report", "daily", "--no-ingest", "--json"), ("doctor",)):
        result = invoke_cli(*command, "--db", str(db), env=CLAUDE)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr and "replacement scan" not in result.stderr


def test_a_half_migrated_store_is_completed(tmp_path: Path) -> None:
    """Killed between creating `_migrations` and committing the first migration."""
    db = tmp_path / "half.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    result = invoke_cli("report", "daily", "--no-ingest", "--json", "--db", str(db), env=CLAUDE)
    assert result.returncode == 0, result.stderr
    assert invoke_cli("ingest", "--db", str(db), env=CLAUDE).returncode == 0


def test_a_store_missing_a_table_is_named_as_damaged(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert invoke_cli("ingest", "--db", str(db), env=CLAUDE).returncode == 0
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE events")
    for command in (("report", "daily", "--no-ingest"), ("ingest",)):
        result = invoke_cli(*command, "--db", str(db), env=CLAUDE)
        assert_one_line_error(result, "damaged: table events is missing", "agent-usage rebuild")
    doctor = invoke_cli("doctor", "--db", str(db), env=CLAUDE)
    assert doctor.returncode == 1 and "Traceback" not in doctor.stderr
    assert "damaged: table events is missing" in doctor.stdout


def test_a_foreign_duckdb_file_is_never_migrated(tmp_path: Path) -> None:
    db = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE invoices (id INTEGER)")
    for command in (("report", "daily"), ("ingest",), ("rebuild",)):
        result = invoke_cli(*command, "--db", str(db), env=CLAUDE)
        assert_one_line_error(result, f"{db}: not an agent-usage store (a DuckDB file with other tables)")
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
    assert tables == ["invoices"]
    assert not list(tmp_path.glob("foreign.duckdb.*"))


def test_a_file_that_is_not_duckdb_is_refused_and_never_replaced(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    for command in (("report", "daily"), ("ingest",), ("rebuild",)):
        result = invoke_cli(*command, "--db", str(notes), env=CLAUDE)
        assert_one_line_error(result, f"{notes}: not an agent-usage store (not a DuckDB file)")
        assert "rebuild` re-creates" not in result.stderr
    assert notes.read_text() == "my notes\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("notes")] == ["notes.txt"]


def test_a_fifo_as_store_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "store.duckdb"
    os.mkfifo(fifo)
    result = run_cli("report", "daily", "--db", str(fifo), env=CLAUDE, timeout=30)
    assert_one_line_error(result, "not a regular file")


def test_under_umask_000_our_folders_are_0700_and_the_store_0600(tmp_path: Path) -> None:
    home = tmp_path / "deep" / "agent-usage-home"
    env = {**CLAUDE, "AGENT_USAGE_HOME": str(home)}
    assert run_cli("ingest", env=env, umask=0).returncode == 0
    for folder in (tmp_path / "deep", home, home / "data"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    db = home / "data" / "usage.duckdb"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_an_existing_store_readable_by_others_is_tightened() -> None:
    assert invoke_cli("ingest", env=CLAUDE).returncode == 0
    db = default_db()
    os.chmod(db, 0o644)
    assert invoke_cli("ingest", env=CLAUDE).returncode == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AGENT_USAGE_BUSY_TIMEOUT", "abc"),
        ("AGENT_USAGE_BATCH", "abc"),
        ("AGENT_USAGE_INGEST_MEMORY", "lots"),
        ("AGENT_USAGE_WORKERS", "-1"),
    ],
)
def test_a_bad_tuning_variable_is_one_line_naming_it(variable: str, value: str) -> None:
    result = invoke_cli("ingest", env={**CLAUDE, variable: value})
    assert_one_line_error(result, f"error: {variable}={value!r}: expected", code=2)
