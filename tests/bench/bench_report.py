"""Benchmark: every report view on a store of a million usage events.

Run: python tests/bench/bench_report.py [--events 1000000] [--db PATH]
The store is filled in SQL (a year of events over 4 harnesses, 12 models, 20k sessions of
50 consecutive requests on one model, 40 projects) and priced like a real one. Each view is
built through `reports.build` and timed as a report runs it: open read-only, query, close.
Prints figures as JSON; asserts nothing, so it never makes CI flaky.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_usage import pricing, store
from agent_usage.queries import Filters
from agent_usage.reports import VIEWS, build

MODELS = (
    ("claude-code", "anthropic", "claude-sonnet-4-5"),
    ("claude-code", "anthropic", "claude-opus-4-1"),
    ("claude-code", "anthropic", "claude-haiku-4-5"),
    ("codex", "openai", "gpt-5"),
    ("codex", "openai", "gpt-5-codex"),
    ("codex", "openai", "gpt-5-mini"),
    ("gemini-cli", "google", "gemini-2.5-pro"),
    ("gemini-cli", "google", "gemini-2.5-flash"),
    ("pi", "anthropic", "claude-sonnet-4-5"),
    ("pi", "openai", "gpt-5"),
    ("pi", "google", "gemini-2.5-pro"),
    ("pi", "acme", "acme-coder-1"),
)


def fill(db: Path, events: int) -> float:
    """Insert `events` synthetic rows; return the seconds it took."""
    started = time.perf_counter()
    with store.connect(db) as con:
        con.execute("CREATE TEMP TABLE m (i INTEGER, harness VARCHAR, provider VARCHAR, model VARCHAR)")
        con.executemany("INSERT INTO m VALUES (?, ?, ?, ?)", [(i, *row) for i, row in enumerate(MODELS)])
        con.execute(
            f"""
            INSERT INTO events
            SELECT 'bench:' || r, TIMESTAMP '2025-11-22' + to_seconds((r * 31536000 // {events})::BIGINT),
                   m.harness, 'session-' || (r // 50), m.model,
                   (hash(r) % 5000)::BIGINT, (hash(r + 1) % 200000)::BIGINT, (hash(r + 2) % 20000)::BIGINT,
                   0, (hash(r + 3) % 4000)::BIGINT, 0, NULL, m.provider, '1.0', NULL, NULL,
                   'project-' || (r // 50 % 40), '/home/dev/project-' || (r // 50 % 40), 'main', NULL, NULL,
                   FALSE, 0, '/bench/' || (r // 50) || '.jsonl', r, 0, NULL, FALSE
            FROM range({events}) t(r) JOIN m ON m.i = (r // 50 + r // 1000) % {len(MODELS)}
            """
        )
        pricing.refresh(con)
    return time.perf_counter() - started


def time_view(db: Path, view: str, filters: Filters, **options: object) -> float:
    started = time.perf_counter()
    with store.connect(db, read_only=True) as con:
        build(con, view, filters, datetime(2026, 11, 22), **options)  # type: ignore[arg-type]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="agent-usage-bench-")) / "bench.duckdb"
    figures: dict[str, object] = {"events": args.events, "fill_seconds": round(fill(db, args.events), 2)}
    everything = Filters(tz=ZoneInfo("Europe/Berlin"))
    last_month = Filters(
        tz=ZoneInfo("Europe/Berlin"), since=datetime(2026, 10, 22), harnesses=("claude-code",)
    )
    for view in VIEWS:
        time_view(db, view, everything)  # warm the OS cache once
        figures[f"{view}_seconds"] = round(min(time_view(db, view, everything) for _ in range(3)), 3)
    figures["daily_breakdown_seconds"] = round(time_view(db, "daily", everything, breakdown=True), 3)
    figures["daily_last_month_claude_seconds"] = round(time_view(db, "daily", last_month), 3)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
