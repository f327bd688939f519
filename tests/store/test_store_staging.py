"""Staging tables hold every row put in them, however many (DuckDB 2.0.0 lost them).

A table made with `CREATE TABLE ... AS SELECT ... LIMIT 0` inside a transaction read back
empty once about 120,000 rows were added by a parallel `read_json` or an appender. An
`import` of a big CSV merges in one batch, so it stored nothing and called every row a
duplicate.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from agent_usage import store
from agent_usage.records import UsageEvent

ROWS = 130_000
BASE = datetime(2026, 3, 1, 9, 0)


def test_a_batch_larger_than_a_duckdb_row_group_is_stored_whole(tmp_path: Path) -> None:
    events = [
        UsageEvent(
            f"imported:{index}",
            BASE + timedelta(seconds=index),
            "imported",
            "s",
            "gpt-5",
            input_tokens=index % 7,
            output_tokens=1,
        )  # fmt: skip
        for index in range(ROWS)
    ]
    copy = dataclasses.replace(events[0], source_offset=1)
    with store.connect(tmp_path / "big.duckdb") as con:
        result = store.write_batch(con, [store.encode_events([*events, copy])], [], [])
        stored = con.execute(
            "SELECT count(event_key), sum(input_tokens), sum(output_tokens) FROM events"
        ).fetchone()
    assert (result.new_events, result.duplicates) == (ROWS, 1)
    assert stored == (ROWS, sum(index % 7 for index in range(ROWS)), ROWS)


def test_rows_appended_to_a_staging_table_in_a_transaction_stay_readable(tmp_path: Path) -> None:
    with store.connect(tmp_path / "staging.duckdb") as con:
        con.execute("BEGIN")
        store.create_staging(con, "accepted_series", like="export_series")
        with con.appender("accepted_series") as appender:
            appender.append_rows([("m", f"series-{i}", i, 1.0, "p") for i in range(ROWS)])
        readable = con.execute("SELECT count(series), sum(start_ns) FROM accepted_series").fetchone()
        con.execute("COMMIT")
    assert readable == (ROWS, ROWS * (ROWS - 1) // 2)
