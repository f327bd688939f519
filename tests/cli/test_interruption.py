"""Ctrl-C, SIGKILL and repeated rebuilds: the store stays as it was, history is never lost,
and the user sees one line (`interrupted`, exit 130), never a traceback."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.demo import generate
from agent_usage.parsers import PARSERS
from agent_usage.rebuild import KEEP_BACKUPS
from tests.conftest import FIXTURES, run_cli, start_cli

IMPORT = FIXTURES / "imports" / "openai_usage.json"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A generated four-harness history big enough that a rebuild takes a few seconds."""
    root = tmp_path_factory.mktemp("corpus")
    return generate(root, days=20, sessions_per_day=10, seed=5).env


def counts(db: Path) -> tuple[int, int]:
    """(all events, imported events) of a store."""
    with store.connect(db, read_only=True) as con:
        row = con.execute(
            "SELECT count(*), count(*) FILTER (harness NOT IN (SELECT unnest(?::VARCHAR[]))) FROM events",
            [list(PARSERS)],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def stored_store(tmp_path: Path, corpus: dict[str, str]) -> tuple[dict[str, str], Path]:
    env = {**corpus, "AGENT_USAGE_HOME": str(tmp_path / "au"), "AGENT_USAGE_WORKERS": "1"}
    assert run_cli("ingest", env=env).returncode == 0
    imported = run_cli("import", str(IMPORT), env=env)
    assert imported.returncode == 0, imported.stderr
    return env, tmp_path / "au" / "data" / "usage.duckdb"


def interrupt(
    args: tuple[str, ...], env: dict[str, str], after: float, started: Path | None = None
) -> tuple[int, str]:
    """Start the CLI, send SIGINT (Ctrl-C) `after` seconds after `started` appears (or after
    the start); (exit code, stderr)."""
    process = start_cli(*args, env=env)
    if started is not None:  # on a busy machine the interpreter alone can take a second to start
        deadline = time.monotonic() + 30
        while not started.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


@pytest.mark.slow
def test_ctrl_c_during_rebuild_leaves_the_store_as_it_was(tmp_path: Path, corpus: dict[str, str]) -> None:
    env, db = stored_store(tmp_path, corpus)
    before = counts(db)
    assert before[1] > 0
    interrupted = 0
    building = db.with_name(db.name + ".rebuilding")
    for after in (0.0, 0.2, 0.4, 0.7, 1.0, 1.5):
        code, err = interrupt(("rebuild",), env, after, started=building)
        assert "Traceback" not in err, err
        if code == 0:
            continue  # finished before the signal: a complete rebuild is fine too
        interrupted += 1
        assert code == 130 and err.strip().endswith("interrupted"), err
        assert counts(db) == before, f"after Ctrl-C at {after} s"
        assert not db.with_name(db.name + ".rebuilding").exists()
    assert interrupted >= 3, "rebuild finished too fast to be interrupted: use a larger corpus"
    finished = run_cli("rebuild", env=env)
    assert finished.returncode == 0, finished.stderr
    assert counts(db) == before
    assert len(list(db.parent.glob("usage.duckdb.*.old"))) <= KEEP_BACKUPS


def test_rebuild_never_carries_over_from_an_emptied_store(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks")}
    db = Path(os.environ["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    assert run_cli("ingest", env=env).returncode == 0
    assert run_cli("import", str(IMPORT), env=env).returncode == 0
    before = counts(db)
    assert run_cli("rebuild", env=env).returncode == 0  # a good copy is now kept as .old
    with store.connect(db) as con:  # what an interrupted rebuild of an older version left
        con.execute("DELETE FROM events")
    rebuilt = run_cli("rebuild", env=env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert counts(db) == before
    assert "history carried over from the older copy" in rebuilt.stderr
    assert "the store as it was is kept at" in rebuilt.stderr


def test_rebuild_keeps_a_bounded_number_of_named_copies(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks")}
    db = Path(os.environ["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    assert run_cli("ingest", env=env).returncode == 0
    seen: list[str] = []
    for _ in range(KEEP_BACKUPS + 2):
        result = run_cli("rebuild", env=env)
        assert result.returncode == 0, result.stderr
        kept = result.stderr.split("the store as it was is kept at ", 1)[1].split("\n", 1)[0]
        assert Path(kept).exists()
        seen.append(kept)
    backups = sorted(str(p) for p in db.parent.glob("usage.duckdb.*.old"))
    assert backups == sorted(seen[-KEEP_BACKUPS:])
    assert "removed 1 older copy" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("after", [0.0, 0.4, 0.8])
def test_ctrl_c_during_ingest_is_one_line_and_the_next_run_completes(
    tmp_path: Path, corpus: dict[str, str], after: float
) -> None:
    env = {**corpus, "AGENT_USAGE_HOME": str(tmp_path / "au"), "AGENT_USAGE_BATCH": "200"}
    code, err = interrupt(("ingest",), env, after, started=tmp_path / "au" / "data" / "usage.duckdb")
    assert code == 130, err
    assert "Traceback" not in err and err.strip().endswith("interrupted"), err
    assert run_cli("ingest", env=env).returncode == 0
    clean = {**env, "AGENT_USAGE_HOME": str(tmp_path / "clean")}
    assert run_cli("ingest", env=clean).returncode == 0
    assert counts(tmp_path / "au" / "data" / "usage.duckdb") == counts(
        tmp_path / "clean" / "data" / "usage.duckdb"
    )


@pytest.mark.slow
def test_ctrl_c_during_an_import_stores_all_or_nothing(tmp_path: Path) -> None:
    rows = 60_000
    csv = tmp_path / "big.csv"
    lines = ["date,model,input_tokens,output_tokens,cost_usd"]
    lines += [f"2026-10-{1 + i % 28:02d},gpt-4o,{1000 + i},{10 + i % 97},0.01" for i in range(rows)]
    csv.write_text("\n".join(lines) + "\n")
    db = Path(os.environ["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    for after in (0.0, 0.3, 0.6):
        code, err = interrupt(("import", str(csv), "--format", "generic"), {}, after, started=db)
        assert "Traceback" not in err, err
        if code == 0:
            break
        assert code == 130 and err.strip().endswith("interrupted"), err
        if db.exists():
            assert counts(db)[0] in (0, rows)


@pytest.mark.slow
def test_workers_end_when_a_parallel_ingest_is_killed(tmp_path: Path, corpus: dict[str, str]) -> None:
    env = {**corpus, "AGENT_USAGE_HOME": str(tmp_path / "au"), "AGENT_USAGE_WORKERS": "2"}
    process = start_cli("ingest", env=env)
    children: set[int] = set()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        children = descendants(process.pid)
        if len(children) >= 2:  # the resource tracker and at least one parsing worker
            break
        time.sleep(0.05)
    assert len(children) >= 2, "no worker processes seen: the ingest ended first"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if alive(pid)], "worker processes outlived their parent"


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
