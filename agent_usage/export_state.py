"""The exporter's own state in the store, written only after an endpoint accepted a request:
each series' pinned start time and value, and the spans each destination has taken.

Part of the store layer: the exporters hand plain rows here and never write the store.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from agent_usage import store
from agent_usage.export_queries import SeriesRow


def record_series(con: duckdb.DuckDBPyConnection, rows: Sequence[SeriesRow]) -> None:
    """Persist the series an endpoint accepted (their start times and values), in one transaction."""
    if not rows:
        return
    con.execute("BEGIN")
    try:
        store.create_staging(con, "accepted_series", like="export_series")
        with con.appender("accepted_series") as appender:
            appender.append_rows(list(rows))
        con.execute("INSERT OR REPLACE INTO export_series SELECT * FROM accepted_series")
        con.execute("COMMIT")
    except BaseException:
        store.rollback(con)
        raise


def record_spans(con: duckdb.DuckDBPyConnection, destination: str, event_keys: Sequence[str]) -> None:
    """Advance the destination's watermark by the keys of one accepted batch."""
    con.execute(
        "INSERT INTO exported_spans SELECT ?, unnest(?::VARCHAR[]), now()::TIMESTAMP",
        [destination, list(event_keys)],
    )
