"""The figures a status line shows, worked out from the store after reading one session's files.

This is the slow half of a status line call (DuckDB, the ingest): it runs on the first call
of a session and, later, in a detached refresher, while calls in between answer from the
cache (`agent_usage.statusline.cache`). Heavy modules are imported inside `compute` so that
a cached answer never loads them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Figure:
    """Spend and tokens of one scope (this session, today)."""

    cost_usd: float | None
    unpriced_events: int
    tokens: int


@dataclass(frozen=True, slots=True)
class BlockFacts:
    """The running 5-hour block; times are seconds since the epoch."""

    start: float
    end: float
    cost_usd: float | None
    unpriced_events: int
    tokens: int
    cost_per_hour: float | None
    projected_cost_usd: float | None


@dataclass(frozen=True, slots=True)
class BudgetFacts:
    """One configured budget in its current period."""

    name: str
    spend_usd: float
    limit_usd: float
    status: str  # ok, warning or exceeded (budgets.status_for)


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything a status line needs from the store, as of `at`."""

    at: float
    stamp: tuple[int, ...]
    """(size, mtime_ns) of the transcript when they were worked out; () without one."""
    session: Figure | None = None
    today: Figure | None = None
    block: BlockFacts | None = None
    budgets: list[BudgetFacts] = field(default_factory=list)
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the facts (a cache entry)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Facts:
        """Facts from their JSON form (a cache entry); a KeyError or TypeError means a bad entry."""
        session, today, block = data.get("session"), data.get("today"), data.get("block")
        return cls(
            at=float(data["at"]),
            stamp=tuple(data["stamp"]),
            session=Figure(**session) if session else None,
            today=Figure(**today) if today else None,
            block=BlockFacts(**block) if block else None,
            budgets=[BudgetFacts(**item) for item in data.get("budgets") or []],
            problem=data.get("problem"),
        )


def transcript_stamp(transcript: str) -> tuple[int, ...]:
    """(size, mtime_ns) of the transcript, or () when there is none: what makes a cache entry stale."""
    if not transcript:
        return ()
    try:
        info = os.stat(transcript)
    except OSError:
        return ()
    return (info.st_size, info.st_mtime_ns)


def session_files(transcript: str) -> list[str]:
    """The session's transcript and its subagents' transcripts (`<session>/subagents/**`)."""
    if not transcript or not os.path.isfile(transcript):
        return []
    files = [transcript]
    subagents = Path(transcript).with_suffix("") / "subagents"
    if subagents.is_dir():
        files += sorted(str(path) for path in subagents.rglob("agent-*.jsonl"))
    return files


def compute(
    session_id: str,
    transcript: str,
    db_path: Path,
    prices_file: Path,
    config_file: Path,
    env: Mapping[str, str],
    now: datetime,
) -> Facts:
    """Read the session's new lines into the store, then this session's, today's, the active
    block's and the budgets' figures. `now` is naive UTC. Errors of ours become `problem`."""
    from agent_usage.errors import AgentUsageError
    from agent_usage.ingest import ingest

    at = now.replace(tzinfo=UTC).timestamp()
    stamp = transcript_stamp(transcript)
    files = session_files(transcript)
    try:
        if files:
            ingest(db_path, env=env, prices_file=prices_file, only=files)
        if not db_path.exists():
            return Facts(at, stamp, problem="no usage recorded yet")
        return _from_store(session_id, db_path, config_file, now, at, stamp)
    except AgentUsageError as error:
        return Facts(at, stamp, problem=error.message)


def _from_store(
    session_id: str, db_path: Path, config_file: Path, now: datetime, at: float, stamp: tuple[int, ...]
) -> Facts:
    from agent_usage import budgets, periods, settings, store
    from agent_usage.errors import ConfigError
    from agent_usage.queries import Filters, totals

    zone = periods.resolve_zone(None)
    problem = None
    try:
        config = settings.load(config_file)
    except ConfigError as error:
        config, problem = settings.Settings(), error.message
    day_start, day_end = budgets.period_bounds("daily", now, zone, config.start_of_week)
    with store.connect(db_path, read_only=True) as con:
        session = totals(con, Filters(session_ids=(session_id,), tz=zone)) if session_id else None
        today = totals(con, Filters(since=day_start, until=day_end, tz=zone))
        block = _active_block(con, now)
        statuses = budgets.evaluate(con, config, now, zone)
    return Facts(
        at=at,
        stamp=stamp,
        session=_figure(session) if session is not None and session.events else None,
        today=_figure(today),
        block=block,
        budgets=[BudgetFacts(s.budget.name, s.spend_usd, s.budget.limit_usd, s.status) for s in statuses],
        problem=problem,
    )


def _figure(row: Any) -> Figure:
    """A usage row's figures; nothing used at all is $0, not an unknown cost."""
    cost = row.cost_usd if row.events else 0.0
    return Figure(cost, row.unpriced_events, row.total_tokens)


def _active_block(con: Any, now: datetime) -> BlockFacts | None:
    """The running 5-hour block of the block harnesses, computed as `report blocks` does."""
    from agent_usage import blocks, reports

    found = reports.recent_blocks(con, now)
    active = next((block for block in found if block.is_active), None)
    if active is None:
        return None
    burn = blocks.burn_rate(active, now)

    def epoch(value: datetime) -> float:
        return value.replace(tzinfo=UTC).timestamp()

    return BlockFacts(
        start=epoch(active.start),
        end=epoch(active.end),
        cost_usd=active.cost_usd,
        unpriced_events=active.unpriced_events,
        tokens=active.total_tokens,
        cost_per_hour=burn.cost_per_hour if burn else None,
        projected_cost_usd=burn.projected_cost_usd if burn else None,
    )
