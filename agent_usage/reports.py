"""What a report shows: one function per kind of view, returning plain data for the renderers.

A view is a grouping (daily, weekly, ... harness), the 5-hour blocks, or one session's turns.
The CLI and the TUI both build reports here; render turns them into tables, JSON or CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import duckdb

from agent_usage import blocks as blocks_module
from agent_usage import queries
from agent_usage.errors import UsageError
from agent_usage.queries import Filters, SessionInfo, Turn, UsageRow

GROUP_VIEWS: dict[str, str] = {
    "daily": "day",
    "weekly": "week",
    "monthly": "month",
    "hourly": "hour",
    "session": "session",
    "project": "project",
    "model": "model",
    "harness": "harness",
}
VIEWS = (*GROUP_VIEWS, "blocks")
BLOCK_HARNESSES = ("claude-code",)


@dataclass(slots=True)
class Report:
    """Everything one view shows; only the parts that belong to the view are filled."""

    view: str
    filters: Filters
    now: datetime
    totals: UsageRow
    rows: list[UsageRow] = field(default_factory=list)
    breakdown: dict[str, list[UsageRow]] | None = None
    breakdown_by: str | None = None
    """What the breakdown rows are: model, harness or project."""
    blocks: list[blocks_module.Block] = field(default_factory=list)
    burn: blocks_module.BurnRate | None = None
    token_limit: int | None = None
    """The tokens a block may use (`--token-limit`), for the remaining and projected shares."""
    block_options: BlockOptions | None = None
    session: SessionInfo | None = None
    turns: list[Turn] = field(default_factory=list)
    unread_files: int | None = None
    """Session files not read into the store yet (None: not checked, as with --no-ingest)."""
    complete_from: datetime | None = None
    """The store holds every event from this instant (naive UTC) on; None: every event."""


def build(
    con: duckdb.DuckDBPyConnection,
    view: str,
    filters: Filters,
    now: datetime,
    breakdown: bool | str = False,
    session_id: str | None = None,
    blocks: BlockOptions | None = None,
) -> Report:
    """The report for `view` under `filters`; `session_id` (an id or prefix) selects turn detail."""
    if view == "blocks":
        return _blocks(con, filters, now, blocks or BlockOptions(), breakdown)
    if session_id is not None:
        return _session_detail(con, filters, now, queries.resolve_session(con, session_id))
    group = GROUP_VIEWS[view]
    rows, total = queries.usage_report(con, group, filters)
    report = Report(view, filters, now, total, rows)
    if view == "session":
        report.rows.sort(key=lambda row: (row.last_ts or datetime.min, row.key))
    if breakdown:
        report.breakdown_by = "model" if breakdown is True else str(breakdown)
        report.breakdown = queries.breakdown(con, group, filters, report.breakdown_by)
    return report


@dataclass(frozen=True, slots=True)
class BlockOptions:
    """How `report blocks` cuts and shows blocks."""

    length: timedelta = blocks_module.BLOCK
    active_only: bool = False
    token_limit: str | None = None  # a number or "max"


def _blocks(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    now: datetime,
    options: BlockOptions,
    breakdown: bool | str,
) -> Report:
    """The blocks (or the running one), with per-model parts when `breakdown` (an empty
    `Report.breakdown` says so: a block holds its own in `Block.per_model`)."""
    if not filters.harnesses:
        filters = replace(filters, harnesses=BLOCK_HARNESSES)
    found = blocks_module.build_blocks(queries.timeline(con, filters), now, options.length)
    limit = blocks_module.token_limit(found, options.token_limit)
    active = next((b for b in found if b.is_active), None)
    scope = filters
    if options.active_only:
        found = [active] if active else []
        if active is not None:
            scope = replace(filters, since=active.start, until=active.end)
    return Report(
        "blocks",
        filters,
        now,
        queries.totals(con, scope),
        breakdown={} if breakdown else None,
        blocks=found,
        burn=blocks_module.burn_rate(active, now) if active else None,
        token_limit=limit,
        block_options=options,
    )


def recent_blocks(
    con: duckdb.DuckDBPyConnection, now: datetime, length: timedelta = blocks_module.BLOCK
) -> list[blocks_module.Block]:
    """The block harnesses' blocks since the last silence longer than `length`: the same last
    blocks as the full timeline gives, without reading all of it (the status line's)."""
    filters = Filters(harnesses=BLOCK_HARNESSES)
    start = queries.block_chain_start(con, filters, length)
    if start is None:
        return []
    return blocks_module.build_blocks(queries.timeline(con, replace(filters, since=start)), now, length)


def _session_detail(
    con: duckdb.DuckDBPyConnection, filters: Filters, now: datetime, session_id: str
) -> Report:
    return Report(
        "session",
        filters,
        now,
        queries.totals(con, replace(filters, session_ids=(session_id,))),
        session=queries.session_info(con, session_id),
        turns=queries.session_turns(con, session_id, filters),
    )


SORT_KEYS = {
    "name": lambda row: row.key,
    "cost": lambda row: row.cost_usd or 0.0,
    "tokens": lambda row: row.total_tokens,
}


def sort_rows(report: Report, by: str | None, order: str | None) -> None:
    """Order a report's rows (`--sort`, `--order`). By default a view keeps its own order
    (dates up, sessions by last activity, names up); `--order desc` alone turns it round.
    With `--sort`, names go up and cost and tokens down unless `--order` says otherwise."""
    if by is not None and by not in SORT_KEYS:
        raise UsageError(f"--sort: choose one of {', '.join(SORT_KEYS)}")
    if order is not None and order not in ("asc", "desc"):
        raise UsageError("--order: choose asc or desc")
    if by is None:
        if order == "desc":
            report.rows.reverse()
        return
    descending = order == "desc" if order else by != "name"
    report.rows.sort(key=SORT_KEYS[by], reverse=descending)  # type: ignore[arg-type]
