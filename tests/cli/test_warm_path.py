"""While a live `watch` or TUI keeps the store current, a report skips the walk of every
session file; any doubt about that keeper (gone, stale, elsewhere, other roots) means a walk."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from agent_usage import heartbeat
from tests.conftest import EXPECTED, append_turn, invoke_cli, reports_env


@pytest.fixture
def kept(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """(the CLI's environment over a copy of the corpus, its store, a Claude session file),
    the store ingested once and a new turn appended since."""
    env = {**reports_env(tmp_path), "AGENT_USAGE_NOW": EXPECTED["now"]}
    assert invoke_cli("ingest", "-q", env=env).returncode == 0
    session = next((tmp_path / "corpus" / "claude" / "projects").rglob("aaaaaaaa-*.jsonl"))
    append_turn(session, 1)
    return env, Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb", session


def _events(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    result = invoke_cli("report", "daily", "--json", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return document["totals"]["events"], document["coverage"]


def _keeper_env(env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **env}


def test_a_live_keeper_lets_a_report_skip_the_walk(kept: tuple[dict[str, str], Path, Path]) -> None:
    env, db, _ = kept
    heartbeat.beat(db, _keeper_env(env))  # this test's process plays the keeper
    skipped, coverage = _events(env)
    assert skipped == EXPECTED["totals"]["events"]  # the appended turn was not read: nothing was walked
    assert coverage == {"unread_files": 0, "complete_from": None}
    assert f"live: process {os.getpid()}" in invoke_cli("doctor", env=env).stdout
    heartbeat.stop(db)
    assert not heartbeat.heartbeat_path(db).exists()
    assert _events(env)[0] == EXPECTED["totals"]["events"] + 1


def _write(db: Path, **fields: object) -> None:
    beat = {"pid": os.getpid(), "host": os.uname().nodename, "roots": [], "time": time.time(), **fields}
    heartbeat.heartbeat_path(db).write_bytes(orjson.dumps(beat))


@pytest.mark.parametrize("doubt", ["stale", "dead", "other-host", "other-roots", "garbled"])
def test_any_doubt_about_the_keeper_means_a_walk(kept: tuple[dict[str, str], Path, Path], doubt: str) -> None:
    env, db, _ = kept
    roots = list(heartbeat.watched_roots(_keeper_env(env)))
    if doubt == "stale":
        _write(db, roots=roots, time=time.time() - heartbeat.STALE_AFTER_S - 5)
    elif doubt == "dead":
        gone = subprocess.Popen(["true"])
        gone.wait()
        _write(db, roots=roots, pid=gone.pid)
    elif doubt == "other-host":
        _write(db, roots=roots, host="another-machine")
    elif doubt == "other-roots":
        _write(db, roots=roots[:-1])
    else:
        heartbeat.heartbeat_path(db).write_bytes(b"{not json")
    assert heartbeat.live_keeper(db, _keeper_env(env)) is None
    assert _events(env)[0] == EXPECTED["totals"]["events"] + 1
