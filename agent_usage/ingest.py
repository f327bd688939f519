"""Incremental ingest: discover session files, read only what changed, merge into the store.

A file whose size and mtime are unchanged is not opened. An appended file is read from
its stored byte offset with the parser state saved last time. A file rewritten in place
(head fingerprint changed, shrunk, or not appendable) is re-read whole and replaces its own
rows in the same transaction. A final line without a newline is left for the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO, Protocol

import orjson

from agent_usage import store, tuning
from agent_usage.lines import LineReader
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import MAX_TOKENS_PER_REQUEST, FileContext, file_kind, open_regular
from agent_usage.paths import resolve_paths
from agent_usage.records import UsageEvent

# Events per write transaction (`tuning.batch_events`, 10,000) and DuckDB's cache while merging
# (`tuning.ingest_memory_limit`, 96MB): together they keep a cold ingest under 300 MB.
FINGERPRINT_BYTES = 4096
LONG_TAIL_BYTES = 1024 * 1024
"""An unterminated last line this long is named once: it is read again on every change."""

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
    path: Path
    size: int
    mtime_ns: int
    start: int = 0
    state: dict[str, object] = field(default_factory=dict)
    replace: bool = False
    bad_lines: int = 0
    """Bad lines counted in the part already read (an appended file keeps adding to them)."""


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
                if not root.is_dir():
                    continue
            except OSError as error:  # a parent we may not enter (another user's HOME)
                on_error(str(root), error)
                continue
            if only is None:
                found.extend((name, path) for path in sorted(parser.discover(root, on_error)))
                continue
            real = str(root.resolve())
            for path in sorted(only):
                if path.startswith(real + os.sep) and real != str(root):
                    path = str(root) + path[len(real) :]
                if parser.accepts(root, path):
                    found.append((name, path))
    return found


def _fingerprint(handle: BinaryIO, length: int) -> str:
    handle.seek(0)
    return f"{length}:{hashlib.blake2b(handle.read(length), digest_size=12).hexdigest()}"


def changed_files(
    found: list[tuple[str, str]], stamps: Mapping[str, tuple[int, int]], summary: IngestSummary
) -> list[SourceFile]:
    """Files that are new or whose size or mtime moved; one stat each, nothing opened."""
    changed: list[SourceFile] = []
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
        if stamps.get(path) == (stat.st_size, stat.st_mtime_ns):
            summary.files_unchanged += 1
            continue
        changed.append(SourceFile(harness, Path(path), stat.st_size, stat.st_mtime_ns))
    return changed


def plan(changed: list[SourceFile], known: Mapping[str, store.FileRecord]) -> list[SourceFile]:
    """Decide per changed file: append from the stored offset, or re-read whole."""
    for source in changed:
        record = known.get(str(source.path))
        if record is None:
            continue
        source.replace = True
        if PARSERS[source.harness].appendable(source.path) and source.size >= record.read_offset:
            length = int(record.fingerprint.split(":", 1)[0])
            try:
                with open_regular(source.path) as handle:
                    same_head = _fingerprint(handle, length) == record.fingerprint
            except OSError:
                same_head = False
            if same_head:
                source.start = record.read_offset
                source.state = orjson.loads(record.parser_state)
                source.bad_lines = record.bad_lines
                source.replace = False
    return changed


def _open_source(path: Path, start: int) -> tuple[BinaryIO, bool]:
    """A binary handle positioned at `start`; `.zst` files are decompressed whole."""
    if path.name.endswith(".zst"):
        import zstandard

        with open_regular(path) as compressed:
            data = zstandard.ZstdDecompressor().stream_reader(compressed).read()
        return io.BytesIO(data), True
    handle = open_regular(path)
    handle.seek(start)
    return handle, False


def _sane(event: UsageEvent, ctx: FileContext) -> bool:
    if event.total_tokens > MAX_TOKENS_PER_REQUEST:
        ctx.stats.bad(f"byte {event.source_offset}", f"absurd token count {event.total_tokens}")
        return False
    return True


class _Sink(Protocol):
    """Where `read_file` puts what it found: the store's batch, or a worker's result."""

    summary: IngestSummary

    def replace(self, path: str) -> None: ...

    def add(self, event: UsageEvent) -> None: ...

    def file(self, record: store.FileRecord) -> None: ...


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


@dataclass(slots=True)
class GroupResult:
    """What a worker process parsed from a group of files, sent back to the writer."""

    summary: IngestSummary = field(default_factory=IngestSummary)
    events: list[UsageEvent] = field(default_factory=list)
    events_json: bytes = b"[]"
    files: list[store.FileRecord] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    bytes_read: int = 0
    rows: int = 0

    def replace(self, path: str) -> None:
        self.replaced.append(path)

    def add(self, event: UsageEvent) -> None:
        self.events.append(event)

    def file(self, record: store.FileRecord) -> None:
        self.files.append(record)


def read_file(source: SourceFile, sink: _Sink) -> int:
    """Parse one file into `sink`; return the bytes consumed."""
    parser = PARSERS[source.harness]
    summary = sink.summary
    ctx = FileContext(path=source.path, state=dict(source.state))
    try:
        handle, whole = _open_source(source.path, source.start)
    except OSError as error:
        summary.problems.append(f"{source.path}: cannot read: {error.strerror}")
        return 0
    if source.replace:
        sink.replace(str(source.path))
    with handle:
        whole = whole or not parser.appendable(source.path)
        reader = LineReader(handle, 0 if whole else source.start, whole, parser.NEEDLES)
        try:
            for event in parser.parse(reader, ctx):
                if _sane(event, ctx):
                    sink.add(event)
                    summary.events_parsed += 1
        except OSError as error:
            summary.problems.append(f"{source.path}: read failed: {error.strerror}")
            return 0
        fingerprint = _fingerprint(handle, min(reader.end, FINGERPRINT_BYTES)) if not whole else "0:"
    end = source.size if whole else reader.end
    _note_skipped(source, ctx, end, summary)
    # the stamp is the file's as found, also when its last line is unfinished: an agent that
    # finishes it changes size and mtime, so an unchanged file is not read again for nothing
    sink.file(
        store.FileRecord(
            path=str(source.path),
            harness=source.harness,
            size=source.size,
            mtime_ns=source.mtime_ns,
            read_offset=end,
            fingerprint=fingerprint,
            parser_state=orjson.dumps(ctx.state).decode(),
            bad_lines=source.bad_lines + ctx.stats.bad_lines,
        )
    )
    summary.files_read += 1
    return max(end - source.start, 0)


def _note_skipped(source: SourceFile, ctx: FileContext, end: int, summary: IngestSummary) -> None:
    """Count and name the bad lines of this read, and a long unfinished last line."""
    stats = ctx.stats
    summary.bad_lines += stats.bad_lines
    summary.problems.extend(f"{source.path}: skipped {note}" for note in stats.bad_line_notes)
    more = stats.bad_lines - len(stats.bad_line_notes)
    if more > 0:
        summary.problems.append(f"{source.path}: skipped {more} more bad line{'' if more == 1 else 's'}")
    tail = source.size - end
    if tail >= LONG_TAIL_BYTES:
        summary.problems.append(
            f"{source.path}: the last line ({tail / 1e6:.1f} MB) has no newline yet;"
            " it is read when the agent finishes it"
        )


def parse_group(sources: list[SourceFile]) -> GroupResult:
    """Worker-process entry: parse a group of whole files; events come back encoded."""
    result = GroupResult()
    for source in sources:
        result.bytes_read += read_file(source, result)
    rows, result.summary.duplicates = store.keep_best_copies(result.events)
    result.events_json, result.rows, result.events = store.encode_events(rows), len(rows), []
    return result


PARALLEL_MIN_BYTES = 64 * 1024 * 1024
"""Below this much to read, starting worker processes costs more than it saves."""
GROUP_BYTES = 8 * 1024 * 1024
"""Files are handed to workers in groups of about this many bytes."""
IN_PROCESS_FILE_BYTES = 64 * 1024 * 1024
"""A file this large is streamed in the writer process so its rows never sit in memory whole."""


def _groups(sources: list[SourceFile]) -> list[list[SourceFile]]:
    groups: list[list[SourceFile]] = []
    current: list[SourceFile] = []
    size = 0
    for source in sources:
        current.append(source)
        size += source.size - source.start
        if size >= GROUP_BYTES:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


def _workers(total_bytes: int) -> int:
    forced = tuning.workers()
    if forced is not None:
        return forced
    if total_bytes < PARALLEL_MIN_BYTES:
        return 1
    return min(os.cpu_count() or 1, 4)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker against the process's real stderr.

    The tracker is handed `sys.stderr.fileno()`. Under Textual, stderr is a capture whose
    fileno is -1, so every spawn failed with "bad value(s) in fds_to_keep" and a big history
    never loaded in the TUI. Elsewhere multiprocessing starts the tracker itself.
    """
    from multiprocessing import resource_tracker

    try:
        if sys.stderr is not None and sys.stderr.fileno() >= 0:
            return
    except (AttributeError, ValueError, io.UnsupportedOperation):
        return  # fileno() raising is handled by multiprocessing: it then passes no stderr
    with contextlib.redirect_stderr(sys.__stderr__):
        resource_tracker.ensure_running()


def worker_init(parent_pid: int) -> None:
    """Worker-process initializer: leave Ctrl-C to the parent, and end soon after it dies.

    Ctrl-C reaches every process of the terminal's group; the parent stops the pool, so a
    worker printing its own KeyboardInterrupt traceback would only add noise. A parent killed
    with SIGKILL cannot shut its pool down, and an idle worker blocked on the task queue would
    wait for ever (and keep multiprocessing's resource tracker alive).
    """
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _take(
    result: GroupResult, batch: _Batch, progress: ProgressCallback | None, done: int, total: int
) -> int:
    batch.take(result)
    if progress is not None:
        progress(done + result.bytes_read, total)
    return result.bytes_read


def _read_all(todo: list[SourceFile], batch: _Batch, progress: ProgressCallback | None) -> int:
    """Parse every planned file; with several cores, worker processes parse while this one writes."""
    total = sum(max(s.size - s.start, 0) for s in todo)
    done = 0
    workers = _workers(total)
    large = [s for s in todo if workers == 1 or s.size - s.start >= IN_PROCESS_FILE_BYTES]
    if workers > 1:
        import multiprocessing
        from collections import deque
        from concurrent.futures import Future, ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        small = [s for s in todo if s.size - s.start < IN_PROCESS_FILE_BYTES]
        # spawn, not fork: the TUI calls ingest from a thread, and forking a threaded process is unsafe
        context = multiprocessing.get_context("spawn")
        _start_resource_tracker()
        groups = _groups(small)
        taken = 0
        try:
            with ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=worker_init, initargs=(os.getpid(),)
            ) as pool:
                pending: deque[Future[GroupResult]] = deque()
                for group in groups:
                    pending.append(pool.submit(parse_group, group))
                    if len(pending) > 2 * workers:  # bounded: results never pile up in memory
                        done += _take(pending.popleft().result(), batch, progress, done, total)
                        taken += 1
                while pending:
                    done += _take(pending.popleft().result(), batch, progress, done, total)
                    taken += 1
        # e.g. no importable __main__ to spawn from, or a descriptor the OS refuses to pass on
        except (BrokenProcessPool, OSError, ValueError) as error:
            batch.summary.problems.append(f"parallel parsing stopped ({error}); reading the rest here")
            large = [source for group in groups[taken:] for source in group] + large
    for source in large:
        done += read_file(source, batch)
        if progress is not None:
            progress(done, total)
    batch.flush()
    return done


def ingest(
    db_path: Path,
    env: Mapping[str, str] | None = None,
    harnesses: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
    prices_file: Path | None = None,
    only: Collection[str] | None = None,
) -> IngestSummary:
    """Bring the store up to date with the session files on disk (or with the `only` files)."""
    started = time.perf_counter()
    env = os.environ if env is None else env
    summary = IngestSummary()
    found = discover(env, harnesses, only, summary.problems)
    summary.files_found = len(found)
    prices = prices_file if prices_file is not None else resolve_paths().prices_file
    with store.connect(db_path) as con:
        stamps = store.load_file_stamps(con, [path for _, path in found] if only is not None else None)
        changed = changed_files(found, stamps, summary)
        known = store.load_file_records(con, [str(source.path) for source in changed])
        if not changed:  # the common warm run: finish on this connection, no second open
            store.record_ingest(con, prices)
    if changed:
        summary.bytes_read = _read_all(plan(changed, known), _Batch(db_path, summary, prices), progress)
        with store.connect(db_path) as con:
            store.record_ingest(con, prices)
    summary.seconds = time.perf_counter() - started
    return summary
