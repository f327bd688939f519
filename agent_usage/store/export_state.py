"""The exporter's own state in the store, written only after an endpoint accepted a request:
each series' pinned start time and value, and the spans each destination has taken.

The exporters hand plain rows to the export loop, which records them here.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from agent_usage.export_queries import SeriesRow
from agent_usage.store.connection import rollback
from agent_usage.store.writer import create_staging


def record_series(con: duckdb.DuckDBPyConnection, rows: Sequence[SeriesRow]) -> None:
    """Persist the series an endpoint accepted (their start times and values), in one transaction."""
    if not rows:
        return
    con.execute("BEGIN")
    try:
        create_staging(con, "accepted_series", like="export_series")
        with con.appender("accepted_series") as appender:
            appender.append_rows(list(rows))
        con.execute("INSERT OR REPLACE INTO export_series SELECT * FROM accepted_series")
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise


def record_spans(con: duckdb.DuckDBPyConnection, destination: str, event_keys: Sequence[str]) -> None:
    """Advance the destination's watermark by the keys of one accepted batch."""
    con.execute(
        "INSERT INTO exported_spans SELECT ?, unnest(?::VARCHAR[]), now()::TIMESTAMP",
        [destination, list(event_keys)],
    )
