"""Commands answered by a live keeper: a running `watch` answers `report` and `ingest` on a
unix socket beside the store, so a command pays neither the imports of Typer and DuckDB nor
the walk of every session file.

The client (`keeper.client`) and this module import only the standard library. Whatever
doubt the client has (no keeper, a stale heartbeat, a refused or broken connection), the
command runs here, in its own process, as it would without a keeper: never wrong, only slower.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_usage.ingest_plan import IngestSummary

FORWARDED = frozenset({"report", "ingest"})
"""The commands a keeper answers: they read or update the store it keeps, and nothing else."""
MAX_SOCKET_PATH = 100
"""Bytes of a unix socket path this side of every platform's limit (104 on macOS, 108 on Linux)."""


def socket_path(db_path: Path) -> Path:
    """Where the keeper of `db_path` answers: beside the store, or, when that path is too long
    for a socket, in a private folder of the temp dir (or of /tmp, when TMPDIR is long too)
    named after the store."""
    beside = db_path.with_name(db_path.name + ".sock")
    if len(os.fsencode(beside)) <= MAX_SOCKET_PATH:
        return beside
    import hashlib
    import tempfile

    digest = hashlib.sha256(os.fsencode(db_path.absolute())).hexdigest()[:16]
    name = Path(f"agent-usage-{os.getuid()}") / f"{digest}.sock"
    in_temp = Path(tempfile.gettempdir()) / name
    return in_temp if len(os.fsencode(in_temp)) <= MAX_SOCKET_PATH else Path("/tmp") / name


_catch_up: Callable[[Path], IngestSummary | None] | None = None
"""Set by the keeper while it answers a command (one at a time)."""


def catch_up(db_path: Path) -> IngestSummary | None:
    """Inside a keeper's answer for `db_path`: ingest the changes its watcher saw and has not
    read yet, and return that ingest's summary. Anywhere else: None (nothing is done)."""
    return _catch_up(db_path) if _catch_up is not None else None
