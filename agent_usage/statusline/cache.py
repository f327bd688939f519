"""The status line's cache beside the store, and its refresher.

Claude Code runs the command on every message change, often several times a second. A call
answers from the cache when the transcript has not changed and the facts are fresh; when
the transcript has changed it still answers from the cache at once, and starts one detached
refresher (`statusline --refresh`) that reads the new lines and writes new facts for the
next call. Only a session's first call waits for the store.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from agent_usage.paths import private_dirs, write_atomically
from agent_usage.statusline.facts import Facts

FRESH_S = 20.0
"""Facts younger than this answer on their own while the transcript is unchanged (other
sessions' spend moves today's figure too, so they do not last for ever)."""
MAX_ENTRIES = 64
"""Sessions kept in the cache; the oldest go first."""


def cache_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".statusline")


def load(db_path: Path, session_key: str) -> Facts | None:
    """The cached facts of a session, or None (no cache, no entry, a damaged file)."""
    try:
        entries = json.loads(cache_path(db_path).read_bytes())
        return Facts.from_dict(entries[session_key])
    except (OSError, ValueError, KeyError, TypeError):  # a JSONDecodeError is a ValueError
        return None


def save(db_path: Path, session_key: str, facts: Facts) -> None:
    """Store a session's facts (atomically: a call reading meanwhile sees old or new, never half)."""
    target = cache_path(db_path)
    try:
        entries = json.loads(target.read_bytes())
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError):
        entries = {}
    entries[session_key] = facts.to_dict()
    if len(entries) > MAX_ENTRIES:
        newest = sorted(entries.items(), key=lambda item: item[1].get("at", 0), reverse=True)
        entries = dict(newest[:MAX_ENTRIES])
    with contextlib.suppress(OSError):  # no cache only makes the next call slower
        private_dirs(target.parent)
        write_atomically(target, json.dumps(entries, separators=(",", ":")).encode())


@contextlib.contextmanager
def refresh_lock(db_path: Path) -> Iterator[bool]:
    """Held by the one refresher at work; yields False when another holds it."""
    lock = db_path.with_name(db_path.name + ".statusline.lock")
    try:
        handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield True  # no lock file possible: refresh anyway, the store has its own lock
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(handle)


def refreshing(db_path: Path) -> bool:
    """Whether a refresher is at work right now."""
    with refresh_lock(db_path) as free:
        return not free


def start_refresh(raw_payload: bytes, db_path: Path) -> None:
    """Start a detached `statusline --refresh` with the payload on its stdin, unless one runs.

    It gets its own session, so it outlives this call and Claude Code's timeout for it.
    """
    if refreshing(db_path):
        return
    import subprocess

    command = [sys.executable, "-m", "agent_usage", "statusline", "--refresh", "--db", str(db_path)]
    with contextlib.suppress(OSError):
        child = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert child.stdin is not None
        with contextlib.suppress(OSError):
            child.stdin.write(raw_payload)
            child.stdin.close()
