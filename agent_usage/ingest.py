"""Incremental ingest: discover session files, read only what changed, merge into the store.

A file whose size and mtime are unchanged is not opened. An appended file is read from
its stored byte offset with the parser state saved last time. A file rewritten in place
(head fingerprint changed, shrunk, or not appendable) is re-read whole and replaces its own
rows in the same transaction. A final line without a newline is left for the next run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from pathlib import Path

from agent_usage import store, tuning
from agent_usage.ingest_parallel import ProgressCallback, read_all
from agent_usage.ingest_plan import (
    IngestSummary,
    SourceFile,
    changed_files,
    discover,
    plan,
    unread_coverage,
)
from agent_usage.ingest_read import GroupResult
from agent_usage.paths import resolve_paths
from agent_usage.records import UsageEvent

__all__ = ["IngestSummary", "ProgressCallback", "SourceFile", "discover", "ingest", "plan", "unread_files"]


class _Batch:
    """Events and file records waiting for the next write transaction."""

    def __init__(self, db_path: Path, summary: IngestSummary, prices_file: Path) -> None:
        self.db_path = db_path
        self.summary = summary
        self.prices_file = prices_file
        self.events: list[UsageEvent] = []
        self.chunks: list[bytes] = []
        self.count = 0
        self.files: list[store.FileRecord] = []
        self.replaced: list[str] = []
        self.limit = tuning.batch_events()
        self.memory_limit = tuning.ingest_memory_limit()

    def replace(self, path: str) -> None:
        self.replaced.append(path)

    def add(self, event: UsageEvent) -> None:
        self.events.append(event)
        self.count += 1
        if self.count >= self.limit:
            self.flush()

    def file(self, record: store.FileRecord) -> None:
        self.files.append(record)

    def take(self, result: GroupResult) -> None:
        """Whole files parsed by a worker: their events go in one batch with their deletions."""
        self.replaced.extend(result.replaced)
        self.chunks.append(result.events_json)
        self.count += result.rows
        self.files.extend(result.files)
        self.summary.merge(result.summary)
        if self.count >= self.limit:
            self.flush()

    def flush(self) -> None:
        if not (self.count or self.files or self.replaced):
            return
        if self.events:
            rows, dropped = store.keep_best_copies(self.events)
            self.summary.duplicates += dropped
            self.chunks.append(store.encode_events(rows))
        result = store.commit_events(
            self.db_path, self.chunks, self.files, self.replaced, self.prices_file, self.memory_limit
        )
        self.summary.events_new += result.new_events
        self.summary.duplicates += result.duplicates
        self.events, self.chunks, self.count, self.files, self.replaced = [], [], 0, [], []


def ingest(
    db_path: Path,
    env: Mapping[str, str] | None = None,
    harnesses: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    prices_file: Path | None = None,
    only: Collection[str] | None = None,
    since: datetime | None = None,
) -> IngestSummary:
    """Bring the store up to date with the session files on disk (or with the `only` files).

    With `since` (naive UTC, the start of the period a question asks about), only the files
    that can hold an event from then on are read; the summary says how many were left.
    Ingests of one process run one at a time (a keeper's watcher and a command it answers).
    """
    with _one_at_a_time:
        return _ingest(db_path, env, harnesses, progress, prices_file, only, since)


_one_at_a_time = threading.RLock()


def _ingest(
    db_path: Path,
    env: Mapping[str, str] | None,
    harnesses: Iterable[str] | None,
    progress: ProgressCallback | None,
    prices_file: Path | None,
    only: Collection[str] | None,
    since: datetime | None,
) -> IngestSummary:
    started = time.perf_counter()
    env = os.environ if env is None else env
    summary = IngestSummary()
    found = discover(env, harnesses, only, summary.problems)
    summary.files_found = len(found)
    prices = prices_file if prices_file is not None else resolve_paths().prices_file
    with store.connect(db_path) as con:
        stamps = store.load_file_stamps(con, [path for _, path in found] if only is not None else None)
        changed, unread = changed_files(found, stamps, summary, since)
        summary.files_unread, summary.complete_from = unread_coverage(unread)
        changed.sort(key=lambda source: source.mtime_ns, reverse=True)  # the newest usage lands first
        known = store.load_file_records(con, [source.name for source in changed])
        if not changed:  # the common warm run: finish on this connection, no second open
            store.record_ingest(con, prices)
    if changed:
        summary.bytes_read = read_all(plan(changed, known), _Batch(db_path, summary, prices), progress)
        with store.connect(db_path) as con:
            store.record_ingest(con, prices)
    summary.seconds = time.perf_counter() - started
    return summary


def unread_files(db_path: Path | None, env: Mapping[str, str]) -> tuple[int, datetime | None]:
    """(session files new or changed since the store last read them, the instant from which
    the store is complete), without reading any: what `doctor` reports."""
    summary = IngestSummary()
    found = discover(env, problems=summary.problems)
    stamps: dict[str, tuple[int, int]] = {}
    if db_path is not None:
        with store.connect(db_path, read_only=True) as con:
            stamps = store.load_file_stamps(con)
    changed, _ = changed_files(found, stamps, summary)
    return unread_coverage(changed)
