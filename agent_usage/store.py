"""The DuckDB store: short-lived connections, numbered migrations and the event merge.

DuckDB allows one writing process per file and a writer blocks readers elsewhere, so every
connection here is opened for one unit of work and closed; a lock conflict is retried with
backoff and becomes `DatabaseBusyError` (exit code 3) after a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path

import duckdb
import orjson

from agent_usage import tuning
from agent_usage.errors import DatabaseBusyError, StoreError
from agent_usage.paths import private_dirs
from agent_usage.records import UsageEvent

EVENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(UsageEvent))

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "m001_events",
        """
        CREATE TABLE events (
            event_key VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            harness VARCHAR NOT NULL,
            session_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            cache_read_tokens BIGINT NOT NULL,
            cache_write_5m_tokens BIGINT NOT NULL,
            cache_write_1h_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            cost_reported_usd DOUBLE,
            provider VARCHAR,
            harness_version VARCHAR,
            parent_session_id VARCHAR,
            agent_id VARCHAR,
            project VARCHAR,
            cwd VARCHAR,
            git_branch VARCHAR,
            service_tier VARCHAR,
            message_id VARCHAR,
            is_sidechain BOOLEAN NOT NULL,
            rank BIGINT NOT NULL,
            source_path VARCHAR NOT NULL,
            source_offset BIGINT NOT NULL
        );
        CREATE TABLE files (
            path VARCHAR PRIMARY KEY,
            harness VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            read_offset BIGINT NOT NULL,
            fingerprint VARCHAR NOT NULL,
            parser_state VARCHAR NOT NULL,
            bad_lines BIGINT NOT NULL,
            last_read TIMESTAMP NOT NULL
        );
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        """,
    ),
    (
        "m002_prices",
        """
        CREATE TABLE prices (
            provider VARCHAR,
            model VARCHAR NOT NULL,
            matched_model VARCHAR,
            source VARCHAR NOT NULL,
            valid_from TIMESTAMP NOT NULL,
            valid_to TIMESTAMP NOT NULL,
            input DOUBLE, output DOUBLE, cache_read DOUBLE,
            cache_write_5m DOUBLE, cache_write_1h DOUBLE,
            tier_start BIGINT,
            tier_input DOUBLE, tier_output DOUBLE, tier_cache_read DOUBLE,
            tier_cache_write_5m DOUBLE, tier_cache_write_1h DOUBLE
        );
        """,
    ),
    (
        "m003_export_state",
        """
        CREATE TABLE export_series (
            metric VARCHAR NOT NULL,
            series VARCHAR NOT NULL,
            start_ns BIGINT NOT NULL,
            value DOUBLE NOT NULL,
            profile VARCHAR NOT NULL,
            PRIMARY KEY (metric, series)
        );
        CREATE TABLE exported_spans (
            destination VARCHAR NOT NULL,
            event_key VARCHAR NOT NULL,
            sent_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "m004_price_variants",
        # every price row gets a twin per service-tier variant (pricing.VARIANTS); the copies
        # keep events priced until the next refresh re-resolves them with their real rates
        """
        ALTER TABLE prices ADD COLUMN variant VARCHAR DEFAULT 'standard';
        INSERT INTO prices SELECT p.* REPLACE (v.name AS variant)
            FROM prices p, (VALUES ('fast'), ('priority'), ('flex'), ('batch')) v(name);
        DELETE FROM meta WHERE key = 'prices_version';
        """,
    ),
    (
        "m005_web_searches",
        # searches stored before this read as 0 (`rebuild` re-reads the files still on disk);
        # the dropped version makes the next refresh fetch every model's per-search price
        """
        ALTER TABLE events ADD COLUMN web_search_requests BIGINT DEFAULT 0;
        ALTER TABLE prices ADD COLUMN web_search DOUBLE;
        DELETE FROM meta WHERE key = 'prices_version';
        """,
    ),
)


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


def _lock_holder(message: str) -> str:
    match = re.search(r"\(PID (\d+)\)", message)
    return f" (held by PID {match.group(1)})" if match else ""


DUCKDB_MAGIC = b"DUCK"
"""Bytes 8 to 12 of every DuckDB database file."""
STORE_TABLES = frozenset({"events", "files", "meta", "prices", "export_series", "exported_spans"})
_REBUILD_HINT = "`agent-usage rebuild` re-creates it from the session files still on disk"
_DAMAGE_SIGNS = ("not a valid duckdb", "corrupt", "checksum", "serializ", "could not read", "enough bytes")


def is_duckdb_file(path: Path) -> bool:
    """Whether `path` starts like a DuckDB database (a missing or empty file counts as a new one).

    Only for a file no connection of this process has open: closing any descriptor of a file
    drops every POSIX lock this process holds on it, DuckDB's included.
    """
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with path.open("rb") as handle:
            head = handle.read(12)
    except FileNotFoundError:
        return True
    except OSError as error:
        raise StoreError(f"{path}: cannot read the store: {error.strerror}") from error
    return not head or head[8:12] == DUCKDB_MAGIC


def _check_regular(path: Path) -> None:
    """Refuse a FIFO or device before DuckDB opens it (a FIFO would block the open)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise StoreError(f"{path}: cannot read the store: {error.strerror}") from error
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path}: not an agent-usage store (not a regular file); it was left as it is")


def _not_duckdb(path: Path) -> StoreError:
    return StoreError(
        f"{path}: not an agent-usage store (not a DuckDB file); it was left as it is",
        hint="--db must name a store that `agent-usage ingest` made",
    )


def damaged(path: Path, error: BaseException) -> StoreError:
    """The one-line error for a store DuckDB cannot read (truncated, overwritten, half-written)."""
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return StoreError(f"{path}: not a usable agent-usage store (damaged file: {detail})", hint=_REBUILD_HINT)


def _is_damage(error: duckdb.Error) -> bool:
    lowered = str(error).lower()
    return isinstance(error, duckdb.InternalException | duckdb.SerializationException) or any(
        sign in lowered for sign in _DAMAGE_SIGNS
    )


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Open the store, retrying while another process holds the lock.

    Replacement scans are off: a query naming a missing table must fail as such, not pick up
    a Python variable of that name from the caller's frame.
    """
    _check_regular(path)
    busy_timeout_s = tuning.busy_timeout_s()
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.005
    while True:
        try:
            return duckdb.connect(
                str(path), read_only=read_only, config={"python_enable_replacements": False}
            )
        except duckdb.IOException as error:
            message = str(error)
            lowered = message.lower()
            if "lock" not in lowered and not is_duckdb_file(path):  # checked only once DuckDB refused it
                raise _not_duckdb(path) from error
            if _is_damage(error):
                raise damaged(path, error) from error
            if "lock" not in lowered:
                raise StoreError(f"{path}: cannot open the store: {message.splitlines()[0]}") from error
            if time.monotonic() >= deadline:
                raise DatabaseBusyError(
                    f"{path}: database busy{_lock_holder(message)} for more than {busy_timeout_s:g} s",
                    hint="another agent-usage process is writing; try again in a moment",
                ) from error
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        except duckdb.Error as error:
            if not is_duckdb_file(path):
                raise _not_duckdb(path) from error
            raise damaged(path, error) from error


def _prepare_location(path: Path) -> None:
    try:
        private_dirs(path.parent)
    except OSError as error:
        raise StoreError(f"{path.parent}: cannot create the store directory: {error.strerror}") from error
    if not os.access(path.parent, os.W_OK):
        raise StoreError(f"{path.parent}: the store directory is not writable")


def _make_private(path: Path) -> None:
    """Tighten a store file that others may read (made under a loose umask, or copied) to 0600."""
    with contextlib.suppress(OSError):  # not ours to change (another owner): leave it
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.chmod(path, 0o600)


_migration_lock = threading.Lock()


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of work on the store; the schema is migrated on every writable open.

    A DuckDB file that holds other tables and no record of our migrations is someone else's:
    it is refused, never migrated. Threads of one process (the TUI's workers) may open the
    store at once; migrations are serialised so two of them never race to create a table.
    DuckDB errors that mean a damaged file become one `StoreError` naming the file.
    """
    if read_only and not path.exists():
        read_only = False
    if not read_only:
        _prepare_location(path)
    con = _open(path, read_only)
    try:
        if read_only and _needs_upgrade(path, con):
            con.close()
            _upgrade(path)
            con = _open(path, read_only)
        if not read_only:
            _make_private(path)
            with _migration_lock:
                _refuse_foreign(path, con)
                migrate(con)
        _check_tables(path, con)
    except duckdb.Error as error:
        con.close()
        raise damaged(path, error) from error
    except BaseException:
        con.close()
        raise
    try:
        yield con
    except duckdb.Error as error:
        if _is_damage(error):
            raise damaged(path, error) from error
        raise
    finally:
        con.close()


def _needs_upgrade(path: Path, con: duckdb.DuckDBPyConnection) -> bool:
    """Whether a read-only open must migrate first: an older store, or a new empty file."""
    applied = _applied_migrations(con)
    if applied is None:
        _refuse_foreign(path, con)
        return True  # an empty DuckDB file (a store being created): make it one
    return any(name not in applied for name, _ in MIGRATIONS)


def _refuse_foreign(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    if _applied_migrations(con) is None and _has_tables(con):
        raise StoreError(
            f"{path}: not an agent-usage store (a DuckDB file with other tables); it was left as it is",
            hint="--db must name a store that `agent-usage ingest` made",
        )


def _check_tables(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    missing = sorted(STORE_TABLES - {name for (name,) in rows})
    if missing:
        raise StoreError(
            f"{path}: not a usable agent-usage store (damaged: table {missing[0]} is missing)",
            hint=_REBUILD_HINT,
        )


def _applied_migrations(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The migrations the store records, or None for a DuckDB file that is no agent-usage
    store: a read-only command must not add tables to a file someone else made."""
    try:
        return {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    except duckdb.CatalogException:
        return None


def _has_tables(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchone()
    return bool(row and row[0])


def _upgrade(path: Path) -> None:
    """Migrate a store before a read-only open (a report right after an upgrade): the
    queries need the current schema."""
    try:
        with connect(path):
            pass
    except DatabaseBusyError:
        raise
    except StoreError as error:
        if "not an agent-usage store" in error.message or "damaged" in error.message:
            raise
        raise StoreError(
            f"{path}: written by an older agent-usage and cannot be upgraded here ({error.message})",
            hint="open it once where the file is writable, or run `agent-usage rebuild`",
        ) from error


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations`; return their names."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    done = _applied_migrations(con) or set()
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN")
        con.execute(sql)
        con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
        con.execute("COMMIT")
        applied.append(name)
    return applied


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
_UPDATE_BETTER_COPY = (
    "UPDATE events SET "
    + ", ".join(f"{c} = b.{c}" for c in _MERGE_COLUMNS)
    + " FROM batch b WHERE events.event_key = b.event_key AND b.rank > events.rank"
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
    event key keep the highest rank and the earliest timestamp. Claude sidechain replays
    of a message already stored from its main thread are dropped.
    """
    con.execute("BEGIN")
    try:
        if replace_paths:
            con.execute("DELETE FROM events WHERE source_path IN (SELECT unnest(?))", [list(replace_paths)])
        create_staging(con, "staging", like="events")
        loaded = _load_staging(con, chunks)
        con.execute(
            """
            CREATE OR REPLACE TEMP TABLE batch AS
            SELECT * EXCLUDE (copy_rank, first_ts) REPLACE (first_ts AS ts) FROM (
                SELECT *, min(ts) OVER (PARTITION BY event_key) AS first_ts,
                       row_number() OVER (PARTITION BY event_key
                           ORDER BY rank DESC, source_path, source_offset) AS copy_rank
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


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure, keeping the failure: DuckDB may have ended the transaction
    itself (a conflict, an interrupt), and a second error would hide the first."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None
