"""Incremental ingest: discover session files, read only what changed, merge into the store.

A file whose size and mtime are unchanged is not opened. An appended file is read from
its stored byte offset with the parser state saved last time. A file rewritten in place
(head fingerprint changed, shrunk, or not appendable) is re-read whole and replaces its own
rows in the same transaction. A final line without a newline is left for the next run.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from agent_usage import pricing, store
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import MAX_TOKENS_PER_REQUEST, FileContext, HarnessParser
from agent_usage.paths import resolve_paths
from agent_usage.records import UsageEvent

BATCH_EVENTS = 20_000
FINGERPRINT_BYTES = 4096

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes read so far, bytes to read in all)."""


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


@dataclass(slots=True)
class SourceFile:
    """A discovered session file and how it must be read this run."""

    harness: str
    path: Path
    size: int
    mtime_ns: int
    start: int = 0
    state: dict[str, object] = field(default_factory=dict)
    replace: bool = False


def discover(env: Mapping[str, str], harnesses: Iterable[str] | None = None) -> list[tuple[str, Path]]:
    """Every session file of the selected harnesses, each real path once."""
    seen: set[str] = set()
    found: list[tuple[str, Path]] = []
    for name, parser in PARSERS.items():
        if harnesses is not None and name not in harnesses:
            continue
        for root in parser.roots(env):
            if not root.is_dir():
                continue
            for path in sorted(parser.discover(root)):
                real = os.path.realpath(path)
                if real not in seen:
                    seen.add(real)
                    found.append((name, path))
    return found


def _fingerprint(handle: BinaryIO, length: int) -> str:
    handle.seek(0)
    return f"{length}:{hashlib.blake2b(handle.read(length), digest_size=12).hexdigest()}"


def plan(
    found: list[tuple[str, Path]], known: Mapping[str, store.FileRecord], summary: IngestSummary
) -> list[SourceFile]:
    """Decide per file: skip (unchanged), append from the stored offset, or re-read whole."""
    todo: list[SourceFile] = []
    for harness, path in found:
        try:
            stat = path.stat()
        except OSError as error:
            summary.problems.append(f"{path}: cannot stat: {error.strerror}")
            continue
        record = known.get(str(path))
        source = SourceFile(harness, path, stat.st_size, stat.st_mtime_ns)
        if record is None:
            todo.append(source)
            continue
        if record.size == stat.st_size and record.mtime_ns == stat.st_mtime_ns:
            summary.files_unchanged += 1
            continue
        source.replace = True
        if PARSERS[harness].appendable(path) and stat.st_size >= record.read_offset:
            length = int(record.fingerprint.split(":", 1)[0])
            try:
                with path.open("rb") as handle:
                    same_head = _fingerprint(handle, length) == record.fingerprint
            except OSError:
                same_head = False
            if same_head:
                source.start = record.read_offset
                source.state = orjson.loads(record.parser_state)
                source.replace = False
        todo.append(source)
    return todo


class LineReader:
    """Complete lines of a file from a byte offset; `end` is where the next read starts."""

    def __init__(self, handle: BinaryIO, start: int, whole: bool) -> None:
        self.handle = handle
        self.start = start
        self.end = start
        self.whole = whole

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        offset = self.start
        for line in self.handle:
            if not line.endswith(b"\n") and not self.whole:
                break
            yield offset, line
            offset += len(line)
            self.end = offset


def _open_source(path: Path, start: int) -> tuple[BinaryIO, bool]:
    """A binary handle positioned at `start`; `.zst` files are decompressed whole."""
    if path.name.endswith(".zst"):
        import zstandard

        with path.open("rb") as compressed:
            data = zstandard.ZstdDecompressor().stream_reader(compressed).read()
        return io.BytesIO(data), True
    handle = path.open("rb")
    handle.seek(start)
    return handle, False


def _sane(event: UsageEvent, ctx: FileContext) -> bool:
    if event.total_tokens > MAX_TOKENS_PER_REQUEST:
        ctx.stats.bad(f"byte {event.source_offset}", f"absurd token count {event.total_tokens}")
        return False
    return True


class _Batch:
    """Events and file records waiting for the next write transaction."""

    def __init__(self, db_path: Path, summary: IngestSummary) -> None:
        self.db_path = db_path
        self.summary = summary
        self.events: list[UsageEvent] = []
        self.files: list[store.FileRecord] = []
        self.replace: list[str] = []

    def flush(self) -> None:
        if not (self.events or self.files or self.replace):
            return
        with store.connect(self.db_path) as con:
            result = store.write_batch(con, self.events, self.files, self.replace)
        self.summary.events_new += result.new_events
        self.summary.duplicates += result.duplicates
        self.events, self.files, self.replace = [], [], []


def _read(source: SourceFile, parser: HarnessParser, batch: _Batch, summary: IngestSummary) -> int:
    """Parse one file into the batch; return the bytes consumed."""
    ctx = FileContext(path=source.path, state=dict(source.state))
    try:
        handle, whole = _open_source(source.path, source.start)
    except OSError as error:
        summary.problems.append(f"{source.path}: cannot read: {error.strerror}")
        return 0
    if source.replace:
        batch.replace.append(str(source.path))
    with handle:
        whole = whole or not parser.appendable(source.path)
        reader = LineReader(handle, 0 if whole else source.start, whole)
        try:
            for event in parser.parse(reader, ctx):
                if _sane(event, ctx):
                    batch.events.append(event)
                    summary.events_parsed += 1
                    if len(batch.events) >= BATCH_EVENTS:
                        batch.flush()
        except OSError as error:
            summary.problems.append(f"{source.path}: read failed: {error.strerror}")
            return 0
        fingerprint = _fingerprint(handle, min(reader.end, FINGERPRINT_BYTES)) if not whole else "0:"
    end = source.size if whole else reader.end
    summary.bad_lines += ctx.stats.bad_lines
    summary.problems.extend(f"{source.path}: skipped {note}" for note in ctx.stats.bad_line_notes)
    batch.files.append(
        store.FileRecord(
            path=str(source.path),
            harness=source.harness,
            size=source.size if end >= source.size else end,
            mtime_ns=source.mtime_ns if end >= source.size else 0,
            read_offset=end,
            fingerprint=fingerprint,
            parser_state=orjson.dumps(ctx.state).decode(),
            bad_lines=ctx.stats.bad_lines,
        )
    )
    return max(end - source.start, 0)


def ingest(
    db_path: Path,
    env: Mapping[str, str] | None = None,
    harnesses: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    prices_file: Path | None = None,
) -> IngestSummary:
    """Bring the store up to date with the session files on disk."""
    started = time.perf_counter()
    env = os.environ if env is None else env
    summary = IngestSummary()
    found = discover(env, harnesses)
    summary.files_found = len(found)
    with store.connect(db_path) as con:
        known = store.load_file_records(con)
    todo = plan(found, known, summary)
    total_bytes = sum(max(s.size - s.start, 0) for s in todo)
    batch = _Batch(db_path, summary)
    done_bytes = 0
    for source in todo:
        done_bytes += _read(source, PARSERS[source.harness], batch, summary)
        summary.files_read += 1
        if progress is not None:
            progress(done_bytes, total_bytes)
    batch.flush()
    summary.bytes_read = done_bytes
    with store.connect(db_path) as con:
        pricing.refresh(con, prices_file if prices_file is not None else resolve_paths().prices_file)
        store.set_meta(con, "last_ingest", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    summary.seconds = time.perf_counter() - started
    return summary
