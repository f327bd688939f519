"""Benchmark: generate a demo corpus of a given size, then time cold, warm and incremental ingest.

Run: python tests/bench/bench_ingest.py --size-mb 1000 [--out DIR]
Prints the figures; it asserts nothing, so it never makes CI flaky.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agent_usage.demo import generate


def _timed_cli(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one CLI run in a child process."""
    import os

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agent_usage", *args],
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="agent-usage-bench-"))
    started = time.perf_counter()
    corpus = generate(
        root / "corpus",
        days=90,
        sessions_per_day=40,
        target_bytes=args.size_mb * 1_000_000,
        tool_output_bytes=6_000,
    )
    generated = time.perf_counter() - started
    env = {**corpus.env, "AGENT_USAGE_HOME": str(root / "home")}
    db = str(root / "bench.duckdb")
    cold, cold_rss = _timed_cli(["ingest", "-q", "--db", db], env)
    warm, _ = _timed_cli(["report", "daily", "--db", db], env)
    report_only, _ = _timed_cli(["report", "daily", "--no-ingest", "--db", db], env)
    figures = {
        "corpus_mb": round(corpus.bytes_written / 1e6, 1),
        "files": corpus.files,
        "turns": corpus.turns,
        "generate_s": round(generated, 2),
        "cold_ingest_s": round(cold, 2),
        "cold_ingest_peak_rss_mb (max of child runs so far)": round(cold_rss, 1),
        "warm_report_daily_s": round(warm, 2),
        "report_daily_no_ingest_s": round(report_only, 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
