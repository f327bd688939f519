"""Parsing in worker processes while the writer process writes: files in groups of about
`GROUP_BYTES`, a bounded number of results in flight, large files streamed in-process, and
workers that end with their parent."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable
from typing import Protocol

from agent_usage import tuning
from agent_usage.ingest_plan import IngestSummary, SourceFile
from agent_usage.ingest_read import GroupResult, Sink, parse_group, read_file

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes read so far, bytes to read in all)."""


class Writer(Sink, Protocol):
    """The writer's batch: takes whole worker results as well as single events."""

    summary: IngestSummary

    def take(self, result: GroupResult) -> None: ...

    def flush(self) -> None: ...


PARALLEL_MIN_BYTES = 32 * 1024 * 1024
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
    result: GroupResult, batch: Writer, progress: ProgressCallback | None, done: int, total: int
) -> int:
    batch.take(result)
    if progress is not None:
        progress(done + result.bytes_read, total)
    return result.bytes_read


def read_all(todo: list[SourceFile], batch: Writer, progress: ProgressCallback | None) -> int:
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
