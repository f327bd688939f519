"""A report over a period reads only the session files that period can need, gets the
figures a full read gets, and says how many files it left and from when the store is complete.

The corpus's files get the mtimes an agent would have left: the time of their last event.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent_usage import store
from agent_usage.ingest import ingest
from tests.conftest import EXPECTED, invoke_cli, reports_env

MARGIN = timedelta(hours=1)


def _utc_iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def aged(tmp_path: Path) -> tuple[dict[str, str], dict[str, datetime], Path]:
    """(the CLI's environment over a copy of the corpus whose files carry the mtime of their
    last event, each file's mtime, a store of the whole corpus read at once)."""
    env = {**reports_env(tmp_path), "AGENT_USAGE_NOW": EXPECTED["now"]}
    reference = tmp_path / "reference.duckdb"
    ingest(reference, env=env, prices_file=Path(env["AGENT_USAGE_HOME"]) / "config" / "prices.toml")
    with store.connect(reference, read_only=True) as con:
        last = dict(con.execute("SELECT source_path, max(ts) FROM events GROUP BY 1").fetchall())
    for path, ts in last.items():
        stamp = ts.replace(tzinfo=UTC).timestamp() + 5  # written just after its last event
        os.utime(path, (stamp, stamp))
    mtimes = {path: ts + timedelta(seconds=5) for path, ts in last.items()}
    return env, mtimes, reference


def _report(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = invoke_cli("report", *args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("period", [("--today",), ("--last", "2d"), ("--since", "2026-11-15T12:00")])
def test_a_period_reads_only_what_it_needs_and_gets_the_full_figures(
    aged: tuple[dict[str, str], dict[str, datetime], Path], period: tuple[str, ...]
) -> None:
    env, mtimes, reference = aged
    limited = _report(env, "daily", *period)
    full = _report({**env, "AGENT_USAGE_DB": str(reference)}, "daily", *period, "--no-ingest")
    assert limited["rows"] == full["rows"] and limited["totals"] == full["totals"]
    assert limited["totals"]["events"] > 0
    since = datetime.fromisoformat(limited["filters"]["since"].rstrip("Z"))
    left = [mtime for mtime in mtimes.values() if mtime < since - MARGIN]
    assert left, "the period leaves some file unread"
    assert limited["coverage"] == {
        "unread_files": len(left),
        "complete_from": _utc_iso(max(left).replace(microsecond=0) + MARGIN),
    }
    doctor = invoke_cli("doctor", env=env)
    assert f"unread: {len(left)} session file" in doctor.stdout


def test_an_all_time_report_reads_the_files_a_period_left(
    aged: tuple[dict[str, str], dict[str, datetime], Path],
) -> None:
    env, _, reference = aged
    assert _report(env, "daily", "--today")["coverage"]["unread_files"] > 0
    everything = _report(env, "daily")
    assert everything["coverage"] == {"unread_files": 0, "complete_from": None}
    full = _report({**env, "AGENT_USAGE_DB": str(reference)}, "daily", "--no-ingest")
    assert everything["rows"] == full["rows"] and everything["totals"] == full["totals"]
    assert full["coverage"] == {"unread_files": None, "complete_from": None}  # --no-ingest checks nothing
    assert "unread: none" in invoke_cli("doctor", env=env).stdout


def test_the_table_says_what_was_left(aged: tuple[dict[str, str], dict[str, datetime], Path]) -> None:
    env, _, _ = aged
    result = invoke_cli("report", "daily", "--today", env=env)
    assert result.returncode == 0
    assert "older session files not read: this period does not need them" in result.stderr
