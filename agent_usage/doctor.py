"""`agent-usage doctor`: what each harness source looks like on this machine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import orjson

from agent_usage.errors import StoreError
from agent_usage.heartbeat import Heartbeat
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import open_regular


@dataclass(slots=True)
class SourceReport:
    """One harness root: whether it exists and what the store holds from it."""

    harness: str
    root: Path
    exists: bool
    files_on_disk: int
    events: int
    last_event: datetime | None
    retention: str


@dataclass(slots=True)
class DoctorFacts:
    """Everything `doctor` says: the sources, the store, what is unread, the live keeper."""

    reports: list[SourceReport]
    db_path: Path
    last_ingest: str | None
    problem: StoreError | None
    unread: tuple[int, datetime | None] | None = None
    """(session files not read yet, the instant from which the store is complete)"""
    keeper: Heartbeat | None = None


def _json_setting(path: Path, *keys: str) -> object:
    try:
        with open_regular(path) as handle:
            value: object = orjson.loads(handle.read(1024 * 1024))
    except (OSError, orjson.JSONDecodeError):
        return None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def retention_note(harness: str, root: Path) -> str:
    """The agent's own history retention, read from its settings where it has one."""
    if harness == "claude-code":
        days = _json_setting(root.parent / "settings.json", "cleanupPeriodDays")
        return f"deletes transcripts after {days if days is not None else 30} days (cleanupPeriodDays)"
    if harness == "gemini-cli":
        age = _json_setting(root.parent / "settings.json", "general", "sessionRetention", "maxAge")
        return f"deletes chats after {age or '30d'} (general.sessionRetention)"
    if harness == "codex":
        return "compresses rollouts idle for 7 days to .jsonl.zst (still read)"
    return "keeps session files"


def sources(con: duckdb.DuckDBPyConnection | None, env: Mapping[str, str]) -> list[SourceReport]:
    """A report per harness root, with event counts from the store when it exists."""
    reports = []
    for name, parser in PARSERS.items():
        for root in parser.roots(env):
            try:
                exists = root.is_dir() or root.is_file()
            except OSError:  # a parent we may not enter: nothing there for us
                exists = False
            files = (1 if root.is_file() else sum(1 for _ in parser.discover(root))) if exists else 0
            events, last = 0, None
            if con is not None:
                row = con.execute(
                    "SELECT count(*), max(ts) FROM events WHERE harness = ? AND starts_with(source_path, ?)",
                    [name, str(root)],
                ).fetchone()
                if row:
                    events, last = row[0], row[1]
            reports.append(SourceReport(name, root, exists, files, events, last, retention_note(name, root)))
    return reports + (imported_sources(con) if con is not None else [])


def imported_sources(con: duckdb.DuckDBPyConnection) -> list[SourceReport]:
    """A report per harness that `agent-usage import` filled (provider exports, LiteLLM logs):
    the last file imported, how many files, events and the last event."""
    rows = con.execute(
        """SELECT harness, arg_max(source_path, ts), count(DISTINCT source_path), count(*), max(ts)
           FROM events WHERE harness NOT IN (SELECT unnest(?)) GROUP BY harness ORDER BY harness""",
        [list(PARSERS)],
    ).fetchall()
    return [
        SourceReport(
            harness, Path(latest), Path(latest).exists(), files, events, last,
            "imported with `agent-usage import`; the store keeps it",
        )
        for harness, latest, files, events, last in rows
    ]  # fmt: skip
