"""The benchmark scripts run end to end (on tiny sizes): the figures they print are only
worth anything if the scripts keep working as the schema and the CLI change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent_usage.parsers import PARSERS

BENCH = Path(__file__).resolve().parent / "bench"


def run_script(name: str, *args: str, tmp_path: Path) -> dict:
    env = {**os.environ, "TMPDIR": str(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, str(BENCH / name), *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout[result.stdout.index("{") :])


def test_the_report_benchmark_runs(tmp_path: Path) -> None:
    figures = run_script("bench_report.py", "--events", "5000", tmp_path=tmp_path)
    assert figures["events"] == 5000
    assert all(figures[f"{view}_seconds"] > 0 for view in ("daily", "session", "blocks"))


def test_the_ingest_benchmark_runs(tmp_path: Path) -> None:
    figures = run_script(
        "bench_ingest.py", "--size-mb", "1", "--events", "5000", "--ccusage", "none", tmp_path=tmp_path
    )
    assert set(figures["tokens_by_harness"]) == set(PARSERS) - {"amp"}  # the demo writes these
    assert all(tokens > 0 for tokens in figures["tokens_by_harness"].values())
    assert figures["live_ingest_new_events"] == 100
    assert isinstance(figures["report_daily_with_live_watch_s"], float)  # the watch answered
    assert figures["report_imports_heavy_modules"] == []
    assert figures["ccusage"].startswith("not run")


def test_the_statusline_benchmark_runs(tmp_path: Path) -> None:
    figures = run_script(
        "bench_statusline.py", "--size-mb", "1", "--calls", "2", "--ccusage", "none", tmp_path=tmp_path
    )
    assert figures["line"].startswith("Sonnet 4.5 | $")
    assert figures["session_tokens_after_refresh"] > figures["session_tokens"]  # the new turn counts
    assert figures["cached_call_median_s"] > 0 and figures["refresher_done_after_s"] > 0
