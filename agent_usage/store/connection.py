"""Short-lived connections to the store: lock retry, file checks, and what a damaged or
foreign file says.

DuckDB allows one writing process per file and a writer blocks readers elsewhere, so every
connection is opened for one unit of work and closed; a lock conflict is retried with
backoff and becomes `DatabaseBusyError` (exit code 3) after a bounded wait.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from agent_usage import tuning
from agent_usage.errors import DamagedStoreError, DatabaseBusyError, ForeignFileError, StoreError
from agent_usage.paths import private_dirs
from agent_usage.store import migrations


def _lock_holder(message: str) -> str:
    match = re.search(r"\(PID (\d+)\)", message)
    return f" (held by PID {match.group(1)})" if match else ""


DUCKDB_MAGIC = b"DUCK"
"""Bytes 8 to 12 of every DuckDB database file."""
STORE_TABLES = frozenset({"events", "files", "meta", "prices", "export_series", "exported_spans"})
_REBUILD_HINT = "`agent-usage rebuild` re-creates it from the session files still on disk"
_DAMAGE_SIGNS = ("not a valid duckdb", "corrupt", "checksum", "serializ", "could not read", "enough bytes")


def _is_duckdb_file(path: Path) -> bool:
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
        raise ForeignFileError(f"{path}: not an agent-usage store (not a regular file); it was left as it is")


def _not_duckdb(path: Path) -> ForeignFileError:
    return ForeignFileError(
        f"{path}: not an agent-usage store (not a DuckDB file); it was left as it is",
        hint="--db must name a store that `agent-usage ingest` made",
    )


def damaged(path: Path, error: BaseException) -> DamagedStoreError:
    """The one-line error for a store DuckDB cannot read (truncated, overwritten, half-written)."""
    detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return DamagedStoreError(
        f"{path}: not a usable agent-usage store (damaged file: {detail})", hint=_REBUILD_HINT
    )


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
            if "lock" not in lowered and not _is_duckdb_file(path):  # checked only once DuckDB refused it
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
            if not _is_duckdb_file(path):
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
_one_configuration = False
"""Set in a process whose threads read and write at once (a keeper answering reports while
its watcher ingests): DuckDB refuses a read-only connection to a file that this process has
open read-write, so every connection is opened read-write there."""


def open_every_connection_writable(on: bool = True) -> None:
    """From now on (until called with False), this process opens the store read-write even
    for reads (see above)."""
    global _one_configuration
    _one_configuration = on


@contextmanager
def connect(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of work on the store; the schema is migrated on every writable open.

    A DuckDB file that holds other tables and no record of our migrations is someone else's:
    it is refused, never migrated. Threads of one process (the TUI's workers) may open the
    store at once; migrations are serialised so two of them never race to create a table.
    DuckDB errors that mean a damaged file become one `StoreError` naming the file.
    """
    if read_only and (_one_configuration or not path.exists()):
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
                migrations.migrate(con)
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
    applied = migrations.applied_migrations(con)
    if applied is None:
        _refuse_foreign(path, con)
        return True  # an empty DuckDB file (a store being created): make it one
    return any(name not in applied for name, _ in migrations.MIGRATIONS)


def _refuse_foreign(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    if migrations.applied_migrations(con) is None and _has_tables(con):
        raise ForeignFileError(
            f"{path}: not an agent-usage store (a DuckDB file with other tables); it was left as it is",
            hint="--db must name a store that `agent-usage ingest` made",
        )


def _check_tables(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    missing = sorted(STORE_TABLES - {name for (name,) in rows})
    if missing:
        raise DamagedStoreError(
            f"{path}: not a usable agent-usage store (damaged: table {missing[0]} is missing)",
            hint=_REBUILD_HINT,
        )


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
    except (DatabaseBusyError, ForeignFileError, DamagedStoreError):
        raise
    except StoreError as error:
        raise StoreError(
            f"{path}: written by an older agent-usage and cannot be upgraded here ({error.message})",
            hint="open it once where the file is writable, or run `agent-usage rebuild`",
        ) from error


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back after a failure, keeping the failure: DuckDB may have ended the transaction
    itself (a conflict, an interrupt), and a second error would hide the first."""
    with contextlib.suppress(duckdb.Error):
        con.execute("ROLLBACK")
