"""The dashboard's data as plain snapshots: the overview's cards and charts, a table tab's
report, the filter choices. Each loader opens the store for one unit of work (the TUI's
thread workers call them), so the TUI never opens the store or runs SQL itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from agent_usage import budgets, queries, store
from agent_usage.names import project_aliases
from agent_usage.queries import Filters, UsageRow
from agent_usage.reports import Report, build
from agent_usage.settings import Settings

if TYPE_CHECKING:
    from agent_usage.budgets import BudgetStatus


@dataclass(slots=True)
class Overview:
    """The numbers of the overview tab."""

    today: UsageRow
    week: UsageRow
    month: UsageRow
    all_time: UsageRow
    selected: UsageRow
    active_days: int
    daily: list[UsageRow] = field(default_factory=list)
    by_harness: list[UsageRow] = field(default_factory=list)
    by_model: list[UsageRow] = field(default_factory=list)
    by_project: list[UsageRow] = field(default_factory=list)
    budgets: list[BudgetStatus] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Choices:
    """The values the filter screen offers."""

    harnesses: list[str]
    projects: list[str]
    """Project folders (what the filters hold); `project_labels` names them."""
    models: list[str]
    project_labels: dict[str, str] = field(default_factory=dict)


def load_overview(db: Path, selected: Filters, now: datetime, settings: Settings | None = None) -> Overview:
    """Cards for fixed windows (today, week, month, all time, in the zone of `selected`), charts
    for the selected range and the status of every budget in `settings` (budgets ignore the
    filters: they are global)."""
    zone = selected.tz
    start_of_week = settings.start_of_week if settings else "monday"
    with store.connect(db) as con:
        selected = _named(con, selected, settings)
        unbounded = replace(selected, since=None, until=None)

        def current(period: str) -> Filters:
            """Everything since the start of the calendar day, week or month that holds `now`."""
            return replace(unbounded, since=budgets.period_bounds(period, now, zone, start_of_week)[0])

        daily = queries.usage_rows(con, "day", selected)
        return Overview(
            today=queries.totals(con, current("daily")),
            week=queries.totals(con, current("weekly")),
            month=queries.totals(con, current("monthly")),
            all_time=queries.totals(con, unbounded),
            selected=queries.totals(con, selected),
            active_days=len(daily),
            daily=daily,
            by_harness=_by_cost(queries.usage_rows(con, "harness", selected)),
            by_model=_by_cost(queries.usage_rows(con, "model", selected)),
            by_project=_by_cost(queries.usage_rows(con, "project", selected)),
            budgets=budgets.evaluate(con, settings, now, zone) if settings and settings.budgets else [],
        )


def _by_cost(rows: list[UsageRow]) -> list[UsageRow]:
    return sorted(rows, key=lambda r: (-(r.cost_usd or 0.0), -r.total_tokens, r.key))


def load_report(
    db: Path,
    view: str,
    filters: Filters,
    now: datetime,
    session: str | None = None,
    settings: Settings | None = None,
) -> Report:
    """A report for a table tab or a session's turns."""
    with store.connect(db) as con:
        return build(con, view, _named(con, filters, settings), now, session_id=session)


def _named(con: duckdb.DuckDBPyConnection, filters: Filters, settings: Settings | None) -> Filters:
    """The filters with the folders `[projects]` in config.toml names."""
    if settings is None or not settings.projects:
        return filters
    return replace(filters, project_aliases=project_aliases(con, settings.projects))


def load_choices(db: Path, settings: Settings | None = None) -> Choices:
    """Distinct harnesses, projects and models in the store (projects as `[projects]` names them)."""
    with store.connect(db) as con:
        named = _named(con, Filters(), settings)
        harnesses, models = (queries.distinct_values(con, column) for column in ("harness", "model"))
        labels = queries.project_labels(con, named)
        return Choices(harnesses, sorted(labels), models, labels)
