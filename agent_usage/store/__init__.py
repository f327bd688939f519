"""The DuckDB store, the only code that writes the database.

- `connection`: short-lived connections with lock retry, file checks, damaged and foreign files;
- `migrations`: the schema, as numbered migrations;
- `meta`: small facts the store keeps about itself;
- `writer`: the one write path of events (`commit_events`, `carry_over`) and the files' read positions;
- `export_state`: what the exporter recorded as accepted.

Callers use the names below (`store.connect`, `store.commit_events`, ...).
"""

from __future__ import annotations

from agent_usage.store import migrations
from agent_usage.store.connection import (
    STORE_TABLES,
    connect,
    damaged,
    open_every_connection_writable,
    rollback,
)
from agent_usage.store.meta import get_meta, set_meta
from agent_usage.store.migrations import migrate
from agent_usage.store.writer import (
    EVENT_COLUMNS,
    FileRecord,
    MergeResult,
    carry_over,
    commit_events,
    create_staging,
    encode_events,
    keep_best_copies,
    load_file_records,
    load_file_stamps,
    record_ingest,
    write_batch,
)

__all__ = [
    "EVENT_COLUMNS",
    "STORE_TABLES",
    "FileRecord",
    "MergeResult",
    "carry_over",
    "commit_events",
    "connect",
    "open_every_connection_writable",
    "create_staging",
    "damaged",
    "encode_events",
    "get_meta",
    "keep_best_copies",
    "load_file_records",
    "load_file_stamps",
    "migrate",
    "migrations",
    "record_ingest",
    "rollback",
    "set_meta",
    "write_batch",
]
