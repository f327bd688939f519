"""The heartbeat of a live store keeper, so a report can skip the walk of every session file.

A `watch` or a TUI that follows the agents' folders has read every file once and then ingests
each change its watcher reports. While it runs it writes a small file beside the store: its
pid, host, the roots it watches and the time. A report trusts the store as current only
while that file is fresh, its process is alive on this host, and it watches the same roots
the report would walk; anything else (no keeper, a crash, a stale or foreign heartbeat)
falls back to the walk. The keeper may trail a file change by its debounce (about 2 s).

A `watch` also names the socket on which it answers commands (`agent_usage.keeper`). This
module imports only the standard library: the keeper's thin client reads the heartbeat too.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from agent_usage.paths import write_atomically

BEAT_EVERY_S = 20.0
"""How often a keeper rewrites its heartbeat, also when nothing changes."""
STALE_AFTER_S = 60.0
"""A heartbeat older than this no longer counts (its keeper hangs, or was killed -9)."""


class Heartbeat(NamedTuple):
    """What a keeper says of itself."""

    pid: int
    host: str
    roots: tuple[str, ...]
    time: float
    """Seconds since the epoch when it was written."""
    socket: str | None = None
    """Where the keeper answers commands (a `watch`), or None (a TUI)."""


def heartbeat_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".heartbeat")


def watched_roots(env: Mapping[str, str]) -> tuple[str, ...]:
    """The harness roots that exist for `env`: what a keeper watches, and what a report would walk."""
    from agent_usage.parsers import harness_roots

    return tuple(str(root) for root in harness_roots(env))


def beat(db_path: Path, env: Mapping[str, str], answers_on: str | None = None) -> None:
    """Write (or refresh) this process's heartbeat for `db_path`, atomically; `answers_on` is
    the keeper's socket."""
    beat_now = Heartbeat(os.getpid(), socket.gethostname(), watched_roots(env), time.time(), answers_on)
    write_atomically(heartbeat_path(db_path), json.dumps(beat_now._asdict()).encode())


def stop(db_path: Path) -> None:
    """Remove this process's heartbeat (one written by another keeper is left alone)."""
    found = read(db_path)
    if found is not None and found.pid == os.getpid() and found.host == socket.gethostname():
        with contextlib.suppress(OSError):
            heartbeat_path(db_path).unlink()


def read(db_path: Path) -> Heartbeat | None:
    """The heartbeat beside `db_path`, or None when there is none or it cannot be read."""
    try:
        data = json.loads(heartbeat_path(db_path).read_bytes())
        answers_on = data.get("socket")
        return Heartbeat(
            int(data["pid"]),
            str(data["host"]),
            tuple(data["roots"]),
            float(data["time"]),
            str(answers_on) if answers_on else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: the store is private, so not a keeper of it
        return False
    return True


def alive_keeper(db_path: Path, now: float | None = None) -> Heartbeat | None:
    """The keeper of `db_path` whose heartbeat is fresh and whose process is alive on this host."""
    found = read(db_path)
    if found is None:
        return None
    age = (time.time() if now is None else now) - found.time
    if not 0 <= age <= STALE_AFTER_S or found.host != socket.gethostname() or not _alive(found.pid):
        return None
    return found


def live_keeper(db_path: Path, env: Mapping[str, str], now: float | None = None) -> Heartbeat | None:
    """The keeper that keeps `db_path` current for the roots of `env`, if one is alive."""
    found = alive_keeper(db_path, now)
    return found if found is not None and found.roots == watched_roots(env) else None
