"""Planning an ingest: which session files exist, which changed since the last run (one
stat each, nothing opened), and how each changed file is read: appended from its stored
offset, or re-read whole when it was rewritten in place."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

import orjson

from agent_usage import store
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import file_kind, open_regular

FINGERPRINT_BYTES = 4096
"""The head of a file that identifies it: a changed head means the file was rewritten."""
MTIME_MARGIN = timedelta(hours=1)
"""How far before a period's start a file's mtime may lie and the file still be read: an
event is written at or after its own time, so only a clock that disagrees with the file
system's (a network mount) could put one after its file's mtime."""


@dataclass(slots=True)
class IngestSummary:
    """What one ingest run did, for the CLI summary and for tests."""

    files_found: int = 0
    files_read: int = 0
    files_unchanged: int = 0
    bytes_read: int = 0
    events_parsed: int = 0
    events_new: int = 0
    duplicates: int = 0
    bad_lines: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    files_unread: int = 0
    """Changed files left for later: older than the period this ingest was asked for."""
    complete_from: datetime | None = None
    """From this instant (naive UTC) on, the store holds every event; None: all of them."""

    def merge(self, other: IngestSummary) -> None:
        """Add a worker's counts (files read, events parsed, copies dropped, bad lines, problems)."""
        self.files_read += other.files_read
        self.events_parsed += other.events_parsed
        self.duplicates += other.duplicates
        self.bad_lines += other.bad_lines
        self.problems.extend(other.problems)


@dataclass(slots=True)
class SourceFile:
    """A discovered session file and how it must be read this run."""

    harness: str
    name: str
    """The path as discovered (a str: most files a period leaves unread never need a Path)."""
    size: int
    mtime_ns: int
    start: int = 0
    state: dict[str, object] = field(default_factory=dict)
    replace: bool = False
    bad_lines: int = 0
    """Bad lines counted in the part already read (an appended file keeps adding to them)."""

    @property
    def path(self) -> Path:
        return Path(self.name)


def discover(
    env: Mapping[str, str],
    harnesses: Iterable[str] | None = None,
    only: Collection[str] | None = None,
    problems: list[str] | None = None,
) -> list[tuple[str, str]]:
    """(harness, path) of every session file (a file reachable twice is dropped by `plan`).

    With `only` (paths a folder watcher reported), just those of them that `discover` would
    list, spelled below the configured root as a full walk spells them.
    """
    found: list[tuple[str, str]] = []

    def on_error(folder: str, error: OSError) -> None:
        if problems is not None:
            problems.append(f"{folder}: cannot read folder: {error.strerror or error}")

    for name, parser in PARSERS.items():
        if harnesses is not None and name not in harnesses:
            continue
        for root in parser.roots(env):
            try:
                if root.is_file():  # a harness that names one file (Copilot's OTel exporter)
                    if only is None or str(root) in only:
                        found.append((name, str(root)))
                    continue
                if not root.is_dir():
                    continue
            except OSError as error:  # a parent we may not enter (another user's HOME)
                on_error(str(root), error)
                continue
            if only is None:
                found.extend((name, path) for path in sorted(parser.discover(root, on_error)))
                continue
            real = str(root.resolve())
            for path in sorted({_main_file(path) for path in only}):
                if path.startswith(real + os.sep) and real != str(root):
                    path = str(root) + path[len(real) :]
                if parser.accepts(root, path):
                    found.append((name, path))
    return found


WAL_SUFFIX = "-wal"
"""A SQLite session store (OpenCode's) takes its writes in this sidecar first: a change of
the sidecar is a change of the database, which is what is read."""


def _main_file(path: str) -> str:
    return path.removesuffix(WAL_SUFFIX) if path.endswith(".db" + WAL_SUFFIX) else path


def _stamp(path: str, stat: os.stat_result) -> tuple[int, int]:
    """(size, mtime) of a session file; a database's include its WAL sidecar's, whose
    writes leave the database file itself untouched until a checkpoint."""
    if not path.endswith(".db"):
        return stat.st_size, stat.st_mtime_ns
    try:
        wal = os.stat(path + WAL_SUFFIX)
    except OSError:
        return stat.st_size, stat.st_mtime_ns
    return stat.st_size + wal.st_size, max(stat.st_mtime_ns, wal.st_mtime_ns)


def fingerprint(handle: BinaryIO, length: int) -> str:
    handle.seek(0)
    return f"{length}:{hashlib.blake2b(handle.read(length), digest_size=12).hexdigest()}"


def changed_files(
    found: list[tuple[str, str]],
    stamps: Mapping[str, tuple[int, int]],
    summary: IngestSummary,
    since: datetime | None = None,
) -> tuple[list[SourceFile], list[SourceFile]]:
    """(files that are new or whose size or mtime moved, those of them left unread): one stat
    each, nothing opened.

    With `since` (naive UTC, the start of the period a question asks about), a changed file
    last modified more than `MTIME_MARGIN` before it cannot hold an event of the period and
    is left unread: still changed, so the next ingest that needs it reads it.
    """
    cutoff = None if since is None else int((since - MTIME_MARGIN).replace(tzinfo=UTC).timestamp()) * 10**9
    changed: list[SourceFile] = []
    unread: list[SourceFile] = []
    seen: set[tuple[int, int]] = set()
    for harness, path in found:
        try:
            stat = os.stat(path)
        except OSError as error:
            summary.problems.append(f"{path}: cannot stat: {error.strerror}")
            continue
        if not S_ISREG(stat.st_mode):  # a FIFO would block the open, /dev/zero never end
            summary.problems.append(f"{path}: skipped: {file_kind(stat.st_mode)}, not a regular file")
            summary.files_found -= 1
            continue
        if (stat.st_dev, stat.st_ino) in seen:  # one file reached through two roots or a symlink
            summary.files_found -= 1
            continue
        seen.add((stat.st_dev, stat.st_ino))
        size, mtime_ns = _stamp(path, stat)
        if stamps.get(path) == (size, mtime_ns):
            summary.files_unchanged += 1
            continue
        source = SourceFile(harness, path, size, mtime_ns)
        (unread if cutoff is not None and mtime_ns < cutoff else changed).append(source)
    return changed, unread


def unread_coverage(unread: list[SourceFile]) -> tuple[int, datetime | None]:
    """(files left unread, the instant from which the store is complete despite them).

    A file holds no event after its mtime (give or take `MTIME_MARGIN`), so the newest
    unread file bounds what the store may miss.
    """
    if not unread:
        return 0, None
    newest = max(source.mtime_ns for source in unread)
    return len(unread), datetime.fromtimestamp(newest / 1e9, UTC).replace(tzinfo=None) + MTIME_MARGIN


def plan(changed: list[SourceFile], known: Mapping[str, store.FileRecord]) -> list[SourceFile]:
    """Decide per changed file: append from the stored offset, or re-read whole."""
    for source in changed:
        record = known.get(source.name)
        if record is None:
            continue
        source.replace = True
        if PARSERS[source.harness].appendable(source.path) and source.size >= record.read_offset:
            length = int(record.fingerprint.split(":", 1)[0])
            try:
                with open_regular(source.path) as handle:
                    same_head = fingerprint(handle, length) == record.fingerprint
            except OSError:
                same_head = False
            if same_head:
                source.start = record.read_offset
                source.state = orjson.loads(record.parser_state)
                source.bad_lines = record.bad_lines
                source.replace = False
    return changed
