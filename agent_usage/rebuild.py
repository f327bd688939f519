"""`agent-usage rebuild`: re-create the store from the session files still on disk.

For a store that is damaged, or one that should be re-derived after a parser fix. The new
store is built in a temporary file beside the old one and swapped in only when complete, so
an interrupted rebuild (Ctrl-C, a crash) leaves the store exactly as it was. The old file is
never deleted by the swap: it is kept beside the new one as `<store>.<time>-<n>.old`, and only
the newest `KEEP_BACKUPS` of those are kept.

What only an old store knows is carried over from the newest good copy (the store itself,
else the newest `.old` backup that holds events, so an emptied or damaged store never hides
a good older copy):
- rows whose source is gone (agents delete their files after about 30 days) and imported rows;
- the exporter's state (pinned series and sent spans), so a rebuild never resets a counter
  or re-sends a span.
Rows of files still on disk are re-read, so a parser fix takes effect. A file that is not
an agent-usage store is refused, never replaced.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent_usage import store
from agent_usage.errors import ForeignFileError
from agent_usage.ingest import IngestSummary, ingest

KEEP_BACKUPS = 3
"""`.old` copies kept beside the store; older ones are removed after a successful rebuild."""


@dataclass(slots=True)
class RebuildSummary:
    backup: Path | None
    """Where the store as it was before is kept (None when there was none)."""
    carried_from: Path | None
    """The copy whose history was carried over (None: no readable copy held any)."""
    old_events: int | None
    """Events in the store as it was (None: it could not be read)."""
    ingest: IngestSummary
    kept_events: int
    events: int
    removed_backups: list[Path] = field(default_factory=list)

    @property
    def old_readable(self) -> bool:
        return self.old_events is not None or self.backup is None


def _event_count(path: Path) -> int | None:
    """A store's event count, or None when it is damaged. A file that is not an agent-usage
    store raises `ForeignFileError`: a rebuild never replaces it."""
    try:
        with store.connect(path, read_only=True) as con:
            row = con.execute("SELECT count(*) FROM events").fetchone()
            return int(row[0]) if row else 0
    except ForeignFileError:
        raise
    except Exception:  # noqa: BLE001 - a StoreError or any DuckDB error: the copy is unusable
        return None


def backups(db_path: Path) -> list[Path]:
    """The `.old` copies of the store, newest first (their names sort by time)."""
    return sorted(db_path.parent.glob(f"{db_path.name}.*.old"), reverse=True)


def _carry_source(db_path: Path, live_events: int | None) -> Path | None:
    """The newest copy that can be read and holds events: the store, else a backup."""
    if live_events:
        return db_path
    for backup in backups(db_path):
        with contextlib.suppress(ForeignFileError):  # not one of ours after all: skip it
            if _event_count(backup):
                return backup
    return db_path if live_events == 0 else None


def _remove(path: Path) -> None:
    for part in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def _checkpoint(path: Path) -> None:
    """Fold a store's write-ahead log into the file, so the file alone is the whole store."""
    with store.connect(path) as con:
        con.execute("CHECKPOINT")


def _backup_name(db_path: Path) -> Path:
    """`<store>.<time>-<n>.old`: the counter tells apart rebuilds within one second, and names
    sort by age as text."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    counter = 0
    while (backup := db_path.with_name(f"{db_path.name}.{stamp}-{counter:03d}.old")).exists():
        counter += 1
    return backup


def _swap(db_path: Path, temp: Path, live_readable: bool) -> Path | None:
    """Put the new store in place; return where the old one is kept.

    The old file gets its backup name as a second (hard) link first and the new file then
    replaces the store's name in one rename, so at every moment the store's name holds a
    whole store: the old one or the new one.
    """
    if not db_path.exists():
        os.replace(temp, db_path)
        return None
    backup = _backup_name(db_path)
    if live_readable:
        _checkpoint(db_path)  # its log belongs to the old file, not to the new one
    wal = db_path.with_name(db_path.name + ".wal")
    os.link(db_path, backup)
    if wal.exists():
        os.replace(wal, backup.with_name(backup.name + ".wal"))
    os.replace(temp, db_path)
    return backup


def _prune(db_path: Path, keep: Path | None) -> list[Path]:
    """Remove all but the newest KEEP_BACKUPS `.old` copies (and never `keep`)."""
    removed = []
    for old in backups(db_path)[KEEP_BACKUPS:]:
        if old != keep:
            _remove(old)
            removed.append(old)
    return removed


def rebuild(db_path: Path, env: Mapping[str, str], prices_file: Path | None = None) -> RebuildSummary:
    """Ingest every file into a new store, carry over what only an old copy knew, swap it in."""
    live_events = _event_count(db_path) if db_path.exists() else None  # refuses a file not ours
    source = _carry_source(db_path, live_events)
    temp = db_path.with_name(db_path.name + ".rebuilding")
    _remove(temp)  # what an interrupted rebuild left
    try:
        summary = ingest(temp, env=env, prices_file=prices_file)
        kept = store.carry_over(temp, source, prices_file) if source is not None else 0
        _checkpoint(temp)
        backup = _swap(db_path, temp, live_events is not None)
    except BaseException:
        _remove(temp)
        raise
    events = _event_count(db_path) or 0
    carried_from = backup if source == db_path else source
    removed = _prune(db_path, carried_from)
    return RebuildSummary(
        backup=backup,
        carried_from=carried_from,
        old_events=live_events,
        ingest=summary,
        kept_events=kept,
        events=events,
        removed_backups=removed,
    )
