"""Crash safety and the store's recovery: a killed ingest, a corrupted store, `rebuild`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent_usage import ingest as ingest_module
from agent_usage import store
from agent_usage.demo import generate
from tests.conftest import FIXTURES, invoke_cli, reports_env

CORPUS = FIXTURES / "reports"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())


@pytest.fixture
def corpus_env(tmp_path: Path) -> dict[str, str]:
    return reports_env(tmp_path)


def db_of(env: dict[str, str]) -> Path:
    return Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"


def rows(db: Path) -> list[tuple]:
    with store.connect(db, read_only=True) as con:
        return con.execute("SELECT * FROM events ORDER BY event_key").fetchall()


def totals_json(env: dict[str, str]) -> dict:
    result = invoke_cli("report", "daily", "--json", "--no-ingest", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["totals"]


def test_a_corrupted_store_is_detected_and_rebuilt_from_the_files(corpus_env: dict[str, str]) -> None:
    assert invoke_cli("ingest", env=corpus_env).returncode == 0
    db = db_of(corpus_env)
    damage = b"\x00garbage, not a database\x00" * 4096
    with db.open("r+b") as handle:  # the header stays: DuckDB's own file, damaged inside
        handle.seek(4096)
        handle.write(damage)
    broken = invoke_cli("report", "daily", env=corpus_env)
    assert broken.returncode == 1
    assert f"error: {db}: not a usable agent-usage store (damaged file" in broken.stderr
    assert "hint: `agent-usage rebuild` re-creates it" in broken.stderr
    assert "Traceback" not in broken.stderr
    rebuilt = invoke_cli("rebuild", env=corpus_env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "warning: the old store could not be read" in rebuilt.stderr
    backups = list(db.parent.glob("usage.duckdb.*.old"))
    assert len(backups) == 1 and damage in backups[0].read_bytes()
    assert f"the store as it was is kept at {backups[0]}" in rebuilt.stderr
    totals = totals_json(corpus_env)
    assert totals["events"] == EXPECTED["totals"]["events"]
    assert totals["cost_usd"] == pytest.approx(EXPECTED["totals"]["cost_auto"], abs=1e-9)


def test_rebuild_keeps_what_only_the_store_knows(corpus_env: dict[str, str]) -> None:
    assert invoke_cli("ingest", env=corpus_env).returncode == 0
    imported = invoke_cli("import", str(FIXTURES / "imports" / "openai_usage.json"), env=corpus_env)
    assert imported.returncode == 0, imported.stderr
    with store.connect(db_of(corpus_env)) as con:  # as `watch` leaves them after exporting
        con.execute(
            "INSERT INTO exported_spans SELECT 'http://collector/v1/traces', event_key, now() FROM events"
        )
        con.execute("INSERT INTO export_series VALUES ('agent.requests', '{}', 42, 12, 'p')")
    before = totals_json(corpus_env)
    # the agent deletes an old session file: its usage must survive the rebuild
    codex = next(Path(corpus_env["CODEX_HOME"]).rglob("rollout-*.jsonl"))
    codex.unlink()
    rebuilt = invoke_cli("rebuild", env=corpus_env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "kept from the old store" in rebuilt.stderr
    assert totals_json(corpus_env) == before
    with store.connect(db_of(corpus_env), read_only=True) as con:
        sent = con.execute("SELECT count(*) FROM exported_spans").fetchone()[0]
        series = con.execute("SELECT start_ns, value FROM export_series").fetchall()
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert sent == events and series == [(42, 12.0)]


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0.7, 1.1, 1.5])
def test_an_ingest_killed_midway_is_completed_by_the_next_run(tmp_path: Path, kill_after: float) -> None:
    corpus = generate(tmp_path / "corpus", days=20, sessions_per_day=10, seed=5)
    env = {**corpus.env, "AGENT_USAGE_HOME": str(tmp_path / "au"), "AGENT_USAGE_BATCH": "100"}
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "CODEX_", "GEMINI_", "PI_"))
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "agent_usage", "ingest", "-q"],
        env={**full_env, **env, "AGENT_USAGE_WORKERS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the ingest finished before it was killed: use a larger corpus"
    finished = invoke_cli("ingest", env=env)
    assert finished.returncode == 0, finished.stderr
    clean_env = {**env, "AGENT_USAGE_HOME": str(tmp_path / "clean")}
    assert invoke_cli("ingest", env=clean_env).returncode == 0
    assert rows(db_of(env)) == rows(db_of(clean_env))


def test_files_deleted_or_truncated_between_discovery_and_read(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The agent (or its 30-day cleanup) changes files while an ingest is planning its reads."""
    from tests.conftest import copy_fixture, fixture_env

    root = copy_fixture("claude-code", "subagents", tmp_path)
    env = fixture_env("claude-code", root, isolated_home)
    files = sorted((root / "projects").rglob("*.jsonl"))
    deleted, truncated = files[0], files[1]
    original = truncated.read_bytes()
    real_plan = ingest_module.plan

    def plan_then_interfere(changed, known):  # type: ignore[no-untyped-def]
        todo = real_plan(changed, known)
        deleted.unlink()
        truncated.write_bytes(original[: len(original) // 2])
        return todo

    monkeypatch.setattr(ingest_module, "plan", plan_then_interfere)
    db = tmp_path / "s.duckdb"
    summary = ingest_module.ingest(db, env=env)
    assert any(p.startswith(f"{deleted}: cannot read") for p in summary.problems)
    monkeypatch.setattr(ingest_module, "plan", real_plan)
    truncated.write_bytes(original)  # the agent finishes writing it
    ingest_module.ingest(db, env=env)
    clean = tmp_path / "clean"
    shutil.copytree(root, clean)
    ingest_module.ingest(tmp_path / "clean.duckdb", env=fixture_env("claude-code", clean, isolated_home))
    survivors = {str(deleted.relative_to(root)), str(truncated.relative_to(root))}
    with (
        store.connect(db, read_only=True) as con,
        store.connect(tmp_path / "clean.duckdb", read_only=True) as other,
    ):
        got = con.execute("SELECT event_key, output_tokens FROM events ORDER BY 1").fetchall()
        want = other.execute("SELECT event_key, output_tokens FROM events ORDER BY 1").fetchall()
    assert got == want, survivors


@pytest.mark.slow
def test_a_folder_of_100k_files(tmp_path: Path, isolated_home: Path) -> None:
    """Empty sessions by the hundred thousand (abandoned starts) do not stop or slow an ingest to a halt."""
    from tests.conftest import copy_fixture, fixture_env

    root = copy_fixture("claude-code", "content-blocks", tmp_path)
    crowded = root / "projects" / "-home-al-src-crowded"
    crowded.mkdir()
    for index in range(100_000):
        (crowded / f"{index:06d}.jsonl").touch()
    env = fixture_env("claude-code", root, isolated_home)
    db = tmp_path / "s.duckdb"
    first = ingest_module.ingest(db, env=env)
    assert first.files_found == first.files_read > 100_000
    assert not [problem for problem in first.problems if "crowded" in problem]
    again = ingest_module.ingest(db, env=env)
    # every file is skipped unopened, also the fixture's session that ends in a partial line:
    # it is read again only when the agent finishes that line (its size changes)
    assert again.files_unchanged == 100_001 and again.files_read == 0 and again.events_new == 0
    with store.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM files").fetchone()[0] == first.files_found
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == first.events_new > 0


@pytest.mark.parametrize("name", ["usage.duckdb", "old.duckdb"])  # `old` was the attach alias
def test_rebuild_carries_over_a_store_an_older_version_wrote(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Rebuild of a store from before the web search column keeps its rows, whatever the file's
    name (DuckDB names a database after its file, and `old` was the attach alias)."""
    db = tmp_path / name
    columns = [
        c for c in store.EVENT_COLUMNS if c not in ("web_search_requests", "git_remote", "session_total")
    ]  # before m005
    with monkeypatch.context() as patch:
        patch.setattr(store.migrations, "MIGRATIONS", store.migrations.MIGRATIONS[:4])
        with store.connect(db) as con:
            con.execute(
                f"INSERT INTO events ({', '.join(columns)}) SELECT 'imported:' || i,"
                " TIMESTAMP '2026-11-01' + to_hours(i), 'imported', 's', 'gpt-5', 1000, 0, 0, 0, 10, 0,"
                " NULL, 'openai', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, 0,"
                " '/exports/usage.csv', i FROM range(3) t(i)"
            )
    env = {**os.environ, "HOME": str(isolated_home), "AGENT_USAGE_HOME": str(tmp_path / "au")}
    result = subprocess.run(
        [sys.executable, "-m", "agent_usage", "rebuild", "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "3 events (3 before); 3 kept from the old store" in result.stderr
    with store.connect(db, read_only=True) as con:
        assert con.execute("SELECT count(*), sum(web_search_requests) FROM events").fetchone() == (3, 0)
