"""Watch the agents' session folders and call back, debounced, when something changes.

File events are only a hint: the callback gets the changed session-file paths and runs an
incremental ingest of just those files, which decides from size, mtime and fingerprint what
to read. Skipping the walk and stat of every other file is what makes a live update cheap.
inotify is used where it works; when it is unavailable or its watch limit is reached, a
polling observer takes over.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agent_usage.parsers import harness_roots

log = logging.getLogger(__name__)
SESSION_SUFFIXES = (".jsonl", ".json", ".zst", ".db", ".db-wal")


class _Debounced(FileSystemEventHandler):
    """Collapses a burst of file events into one call, `delay` seconds after the last one,
    with the set of session-file paths that changed (moves count by their new path)."""

    def __init__(self, callback: Callable[[set[str]], None], delay: float) -> None:
        self._callback = callback
        self._delay = delay
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._paths: set[str] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        paths = [os.fsdecode(event.src_path)]
        if getattr(event, "dest_path", None):
            paths.append(os.fsdecode(event.dest_path))
        paths = [path for path in paths if path.endswith(SESSION_SUFFIXES)]
        if not paths:
            return
        with self._lock:
            self._paths.update(paths)
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        self._callback(self.take())

    def take(self) -> set[str]:
        """The paths seen and not yet handed to the callback, now, instead of after the delay."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            paths, self._paths = self._paths, set()
        return paths

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()


class FolderWatcher:
    """Observes the harness roots; `mode` says whether inotify (native) or polling is in use."""

    def __init__(
        self,
        env: Mapping[str, str],
        on_change: Callable[[set[str]], None],
        debounce: float = 0.5,
        poll_interval: float = 2.0,
        force_polling: bool = False,
    ) -> None:
        self.roots = harness_roots(env)
        self._handler = _Debounced(on_change, debounce)
        self._poll_interval = poll_interval
        self._force_polling = force_polling or bool(os.environ.get("AGENT_USAGE_POLL"))
        self._observer: BaseObserver | None = None
        self.mode = "off"

    def start(self) -> None:
        if not self.roots:
            return
        if not self._force_polling:
            try:
                self._observer = self._schedule(Observer())
                self.mode = "native"
                return
            except OSError as error:  # ENOSPC / EMFILE: inotify limits
                log.warning("file watching falls back to polling: %s", error)
        self._observer = self._schedule(PollingObserver(timeout=self._poll_interval))
        self.mode = "polling"

    def _schedule(self, observer: BaseObserver) -> BaseObserver:
        try:
            for root in self.roots:
                observer.schedule(self._handler, str(root), recursive=True)
            observer.daemon = True
            observer.start()
        except OSError:
            observer.stop()
            raise
        return observer

    def take_pending(self) -> set[str]:
        """The changed paths still waiting for their debounce (a command wants them read now)."""
        return self._handler.take()

    def stop(self) -> None:
        self._handler.cancel()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        self.mode = "off"
