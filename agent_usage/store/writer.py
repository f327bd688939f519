"""The one way events reach the store: staging, the merge of copies, the files' read
positions, and the prices of any new model, in one transaction per batch.

Ingest, import and rebuild all write through `commit_events` (rebuild also through
`carry_over`), so the rules of the merge live here only.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path

import duckdb
import orjson

from agent_usage import pricing
from agent_usage.records import UsageEvent
from agent_usage.store.connection import connect, rollback
from agent_usage.store.meta import set_meta

EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(UsageEvent))


@dataclass(slots=True)
class FileRecord:
    """What the store remembers of one source file between ingests."""

    path: str
    harness: str
    size: int
    mtime_ns: int
    read_offset: int
    fingerprint: str
    parser_state: str
    bad_lines: int


_file_row = attrgetter(*(f.name for f in fields(FileRecord)))


def load_file_stamps(
    con: duckdb.DuckDBPyConnection, paths: Sequence[str] | None = None
) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of the known files (all, or `paths`): all an unchanged file costs to check."""
    if paths is None:
        rows = con.execute("SELECT path, size, mtime_ns FROM files").fetchall()
    else:
        rows = con.execute(
            "SELECT path, size, mtime_ns FROM files WHERE path IN (SELECT unnest(?::VARCHAR[]))",
            [list(paths)],
        ).fetchall()
    return {path: (size, mtime) for path, size, mtime in rows}


def load_file_records(con: duckdb.DuckDBPyConnection, paths: Sequence[str]) -> dict[str, FileRecord]:
    """The full records (offset, fingerprint, parser state) of the given files."""
    if not paths:
        return {}
    rows = con.execute(
        "SELECT path, harness, size, mtime_ns, read_offset, fingerprint, parser_state, bad_lines FROM files"
        " WHERE path IN (SELECT unnest(?::VARCHAR[]))",
        [list(paths)],
    ).fetchall()
    return {row[0]: FileRecord(*row) for row in rows}


_MERGE_COLUMNS = [c for c in EVENT_COLUMNS if c not in ("event_key", "ts")]
COPY_ORDER_SQL = "rank DESC, source_path, source_offset"
"""Which copy of an event key is kept, in every batch and across batches: the highest rank,
then the first path and offset. A total order on the copy's own data, so the stored row does
not depend on the order in which files are read (newest first, or only those a period needs)."""
_UPDATE_BETTER_COPY = (
    "UPDATE events SET "
    + ", ".join(f"{c} = b.{c}" for c in _MERGE_COLUMNS)
    + " FROM batch b WHERE events.event_key = b.event_key AND (b.rank > events.rank"
    " OR (b.rank = events.rank AND (b.source_path < events.source_path"
    " OR (b.source_path = events.source_path AND b.source_offset < events.source_offset))))"
)


@dataclass(slots=True)
class MergeResult:
    new_events: int
    duplicates: int


def keep_best_copies(events: Sequence[UsageEvent]) -> tuple[list[UsageEvent], int]:
    """(one row per event key, copies dropped), chosen exactly as `write_batch` chooses
    within a batch: highest rank, then first path and offset, carrying the earliest timestamp
    of all copies.

    Merging the result stores what merging every copy stores, so callers run this first and
    fewer rows cross into DuckDB (Claude writes one copy per content block: on a real-shaped
    history that is 4 rows in 10).
    """
    best: dict[str, UsageEvent] = {}
    dropped = 0
    for event in events:
        kept = best.get(event.event_key)
        if kept is None:
            best[event.event_key] = event
            continue
        dropped += 1
        first_ts = min(kept.ts, event.ts)
        if (-event.rank, event.source_path, event.source_offset) < (
            -kept.rank,
            kept.source_path,
            kept.source_offset,
        ):
            best[event.event_key] = kept = event
        kept.ts = first_ts
    return list(best.values()), dropped


def encode_events(events: Sequence[UsageEvent]) -> bytes:
    """Events as one JSON array: orjson writes dataclasses in C, and worker processes can
    hand these bytes to the writer far cheaper than pickled tuples."""
    return orjson.dumps(list(events))


_columns: dict[str, list[tuple[str, str]]] = {}


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of a store table's columns, looked up once per process."""
    if table not in _columns:
        _columns[table] = [(row[0], row[1]) for row in con.execute(f"DESCRIBE {table}").fetchall()]
    return _columns[table]


def create_staging(con: duckdb.DuckDBPyConnection, name: str, like: str) -> None:
    """An empty temp table with the columns of `like`, declared column by column.

    Not `CREATE TABLE ... AS SELECT ... LIMIT 0`: in DuckDB 2.0.0, a table made that way inside
    a transaction and then filled by a parallel `read_json` of about 120,000 rows or more
    reads back empty, although `count(*)` reports every row. A batch that size then merged
    nothing and called every row a duplicate (`import` of a 150,000-row CSV stored none).
    Rows added with an appender vanish the same way.
    """
    columns = ", ".join(f'"{column}" {kind}' for column, kind in _column_types(con, like))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")


def _load_staging(con: duckdb.DuckDBPyConnection, chunks: Sequence[bytes]) -> int:
    """Bulk-load `encode_events` chunks into the `staging` table with DuckDB's JSON reader.

    One temp file per batch, read in parallel by DuckDB: about 4x faster than the row
    appender fed with Python tuples.
    """
    parts = [chunk[1:-1] for chunk in chunks if len(chunk) > 2]
    if not parts:
        return 0
    columns = "{" + ", ".join(f"'{column}': '{kind}'" for column, kind in _column_types(con, "events")) + "}"
    handle, name = tempfile.mkstemp(prefix="agent-usage-batch-", suffix=".json")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(b"[")
            out.write(b",".join(parts))
            out.write(b"]")
        row = con.execute(
            f"INSERT INTO staging SELECT * FROM read_json(?, format = 'array', columns = {columns})", [name]
        ).fetchone()
    finally:
        os.unlink(name)
    return int(row[0]) if row else 0


def write_batch(
    con: duckdb.DuckDBPyConnection,
    chunks: Sequence[bytes],
    files: Sequence[FileRecord],
    replace_paths: Sequence[str],
) -> MergeResult:
    """Merge a batch of events (`encode_events` chunks) and its files' read positions in one
    transaction.

    Rows of `replace_paths` (files rewritten in place) are deleted first. Copies of one
    event key keep the copy first in `COPY_ORDER_SQL`, with the earliest timestamp of all.
    Claude sidechain replays of a message already stored from its main thread are dropped.
    """
    con.execute("BEGIN")
    try:
        if replace_paths:
            con.execute("DELETE FROM events WHERE source_path IN (SELECT unnest(?))", [list(replace_paths)])
        create_staging(con, "staging", like="events")
        loaded = _load_staging(con, chunks)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE batch AS
            SELECT * EXCLUDE (copy_rank, first_ts) REPLACE (first_ts AS ts) FROM (
                SELECT *, min(ts) OVER (PARTITION BY event_key) AS first_ts,
                       row_number() OVER (PARTITION BY event_key ORDER BY {COPY_ORDER_SQL}) AS copy_rank
                FROM staging)
            WHERE copy_rank = 1
            """
        )
        con.execute(_UPDATE_BETTER_COPY)
        con.execute(
            "UPDATE events SET ts = b.ts FROM batch b"
            " WHERE events.event_key = b.event_key AND b.ts < events.ts"
        )
        inserted = con.execute(
            "INSERT INTO events SELECT b.* FROM batch b ANTI JOIN events e ON e.event_key = b.event_key"
        ).fetchone()
        new_events = inserted[0] if inserted else 0
        dropped = con.execute(
            """
            DELETE FROM events WHERE harness = 'claude-code' AND is_sidechain
              AND message_id IN (SELECT message_id FROM batch WHERE harness = 'claude-code')
              AND EXISTS (SELECT 1 FROM events main WHERE main.harness = 'claude-code'
                  AND NOT main.is_sidechain AND main.message_id = events.message_id
                  AND main.event_key <> events.event_key)
            """
        ).fetchone()
        new_events -= dropped[0] if dropped else 0
        _upsert_files(con, files)
        con.execute("COMMIT")
    except BaseException:
        rollback(con)
        raise
    return MergeResult(new_events=new_events, duplicates=loaded - new_events)


def _upsert_files(con: duckdb.DuckDBPyConnection, files: Sequence[FileRecord]) -> None:
    if not files:
        return
    create_staging(con, "files_staging", like="files")
    with con.appender("files_staging") as appender:
        appender.append_rows([(*_file_row(f), None) for f in files])
    con.execute(
        "INSERT OR REPLACE INTO files SELECT * REPLACE (now()::TIMESTAMP AS last_read) FROM files_staging"
    )


def commit_events(
    db_path: Path,
    chunks: Sequence[bytes],
    files: Sequence[FileRecord] = (),
    replaced: Sequence[str] = (),
    prices_file: Path | None = None,
    memory_limit: str | None = None,
) -> MergeResult:
    """Merge one batch (`encode_events` chunks, the files' read positions, the files whose rows it
    replaces) in one transaction, then price any model new to the store.

    Prices come right after each batch, not at the end: the TUI shows a long first ingest as it
    lands. `memory_limit` bounds DuckDB's cache for the merge only, since the limit belongs to
    the database instance that other connections of this process (the TUI's loaders) share.
    """
    with connect(db_path) as con:
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        try:
            result = write_batch(con, chunks, files, replaced)
            pricing.refresh(con, prices_file)
        finally:
            if memory_limit:
                con.execute("RESET memory_limit")
    return result


def record_ingest(con: duckdb.DuckDBPyConnection, prices_file: Path | None) -> None:
    """At the end of an ingest: price any new model (or every model, on a new price source)
    and record when this ingest ran."""
    pricing.refresh(con, prices_file)
    set_meta(con, "last_ingest", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def carry_over(db_path: Path, old_path: Path, prices_file: Path | None) -> int:
    """Copy what only the old store knows into the new one; return the events kept.

    The old store is attached as it is (an older version may have written it, without the
    columns added since), so rows move by column name. Its alias derives from the new store's
    own name: DuckDB names a database after its file, so a fixed alias such as `old` clashed
    with a store file called `old.duckdb`.
    """
    with connect(db_path) as con:
        row = con.execute("SELECT current_database()").fetchone()
        alias = f"{row[0] if row else 'store'}_before_rebuild"
        old = '"' + alias.replace('"', '""') + '"'
        con.execute(f"ATTACH ? AS {old} (READ_ONLY)", [str(old_path)])
        try:
            con.execute("BEGIN")
            kept = con.execute(
                f"""
                INSERT INTO events BY NAME
                SELECT o.* FROM {old}.events o
                WHERE o.source_path NOT IN (SELECT path FROM files)
                  AND o.event_key NOT IN (SELECT event_key FROM events)
                """
            ).fetchone()
            tables = {
                name
                for (name,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]
                ).fetchall()
            }
            if "export_series" in tables:
                con.execute(f"INSERT OR REPLACE INTO export_series SELECT * FROM {old}.export_series")
            if "exported_spans" in tables:
                con.execute(f"INSERT INTO exported_spans SELECT * FROM {old}.exported_spans")
            con.execute("COMMIT")
        except BaseException:
            rollback(con)
            raise
        finally:
            con.execute(f"DETACH {old}")
        pricing.refresh(con, prices_file)  # models only the kept rows use need prices too
    return int(kept[0]) if kept else 0
