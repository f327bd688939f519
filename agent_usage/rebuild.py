"""`agent-usage rebuild`: re-create the store from the session files still on disk.

For a store that is damaged, or one that should be re-derived after a parser fix. The old
file is never deleted: it is renamed beside the new one. When it can still be read, what
only it knows is carried over:
- rows whose source is gone (agents delete their files after about 30 days) and imported rows;
- the exporter's state (pinned series and sent spans), so a rebuild never resets a counter
  or re-sends a span.
Rows of files still on disk are re-read, so a parser fix takes effect. When the old file
cannot be read, that history is gone, and the summary says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agent_usage import pricing, store
from agent_usage.ingest import IngestSummary, ingest


@dataclass(slots=True)
class RebuildSummary:
    backup: Path | None
    old_readable: bool
    old_events: int | None
    ingest: IngestSummary
    kept_events: int
    events: int


def _old_events(path: Path) -> int | None:
    """The old store's event count, or None when it cannot be opened or read."""
    try:
        with store.connect(path, read_only=True) as con:
            row = con.execute("SELECT count(*) FROM events").fetchone()
            return int(row[0]) if row else 0
    except Exception:  # noqa: BLE001 - a StoreError or any DuckDB error: the file is unusable
        return None


def _carry_over(db_path: Path, backup: Path, prices_file: Path | None) -> int:
    """Copy what only the old store knows into the new one; return the events kept.

    The old store is attached as it is (an older version may have written it, without the
    columns added since), so rows move by column name. Its alias derives from the new store's
    own name: DuckDB names a database after its file, so a fixed alias such as `old` clashed
    with a store file called `old.duckdb`.
    """
    with store.connect(db_path) as con:
        row = con.execute("SELECT current_database()").fetchone()
        alias = f"{row[0] if row else 'store'}_before_rebuild"
        old = '"' + alias.replace('"', '""') + '"'
        con.execute(f"ATTACH ? AS {old} (READ_ONLY)", [str(backup)])
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
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute(f"DETACH {old}")
        pricing.refresh(con, prices_file)  # models only the kept rows use need prices too
    return int(kept[0]) if kept else 0


def rebuild(db_path: Path, env: Mapping[str, str], prices_file: Path | None = None) -> RebuildSummary:
    """Move the old store aside, ingest every file again, carry over what only the old store knew."""
    backup: Path | None = None
    old_events: int | None = None
    if db_path.exists():
        old_events = _old_events(db_path)
        backup = db_path.with_name(f"{db_path.name}.{time.strftime('%Y%m%dT%H%M%S')}.old")
        db_path.rename(backup)
        wal = db_path.with_name(db_path.name + ".wal")
        if wal.exists():
            wal.rename(backup.with_name(backup.name + ".wal"))
    summary = ingest(db_path, env=env, prices_file=prices_file)
    kept = _carry_over(db_path, backup, prices_file) if backup is not None and old_events is not None else 0
    with store.connect(db_path, read_only=True) as con:
        row = con.execute("SELECT count(*) FROM events").fetchone()
    return RebuildSummary(
        backup=backup,
        old_readable=old_events is not None or backup is None,
        old_events=old_events,
        ingest=summary,
        kept_events=kept,
        events=int(row[0]) if row else 0,
    )
