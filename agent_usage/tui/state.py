"""What the TUI shows, as plain data: the filter state and the loaders behind each screen.

Everything here runs in thread workers; it opens one short-lived store connection per load
and returns dataclasses, so widgets never touch DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent_usage import budgets, periods, queries, store
from agent_usage.queries import Filters, UsageRow
from agent_usage.reports import Report, build
from agent_usage.settings import Settings

if TYPE_CHECKING:
    from agent_usage.budgets import BudgetStatus

RANGES: dict[str, str] = {
    "all": "All time",
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "3m": "Last 3 months",
    "custom": "Custom",
}


@dataclass(frozen=True, slots=True)
class FilterState:
    """The filters that apply to every tab."""

    range: str = "30d"
    since: str | None = None  # custom range, dates in the zone
    until: str | None = None
    harness: str | None = None
    project: str | None = None
    model: str | None = None

    def describe(self) -> str:
        span = f"{self.since or '…'} to {self.until or '…'}" if self.range == "custom" else RANGES[self.range]
        parts = [span]
        parts += [
            f"{label}: {value}"
            for label, value in (("harness", self.harness), ("project", self.project), ("model", self.model))
            if value
        ]
        return " · ".join(parts)

    def to_filters(self, tz: str, now: datetime) -> Filters:
        zone = periods.zone(tz)
        if self.range == "custom":
            period = periods.resolve_period(zone, since=self.since, until=self.until, now=now)
        elif self.range == "today":
            period = periods.resolve_period(zone, today=True, now=now)
        elif self.range == "all":
            period = periods.Period()
        else:
            period = periods.resolve_period(zone, last=self.range, now=now)
        return Filters(
            since=period.since,
            until=period.until,
            harnesses=(self.harness,) if self.harness else (),
            projects=(self.project,) if self.project else (),
            models=(self.model,) if self.model else (),
            tz=tz,
        )


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
    models: list[str]


def load_overview(
    db: Path, state: FilterState, tz: str, now: datetime, settings: Settings | None = None
) -> Overview:
    """Cards for fixed windows (today, week, month, all time), charts for the selected range
    and the status of every budget in `settings` (budgets ignore the filters: they are global)."""
    zone = periods.zone(tz)
    selected = state.to_filters(tz, now)
    unbounded = replace(selected, since=None, until=None)
    today = periods.from_utc(now, zone).date()
    start_of_week = settings.start_of_week if settings else "monday"
    week_start = periods.week_first_day(today, periods.week_start_index(start_of_week))

    def since(day: datetime | None) -> Filters:
        return replace(unbounded, since=day)

    def midnight(day: object) -> datetime:
        return periods.to_utc(datetime.fromisoformat(str(day)), zone)

    with store.connect(db) as con:
        daily = queries.usage_rows(con, "day", selected)
        return Overview(
            today=queries.totals(con, since(midnight(today))),
            week=queries.totals(con, since(midnight(week_start))),
            month=queries.totals(con, since(midnight(today.replace(day=1)))),
            all_time=queries.totals(con, unbounded),
            selected=queries.totals(con, selected),
            active_days=len(daily),
            daily=daily,
            by_harness=_by_cost(queries.usage_rows(con, "harness", selected)),
            by_model=_by_cost(queries.usage_rows(con, "model", selected)),
            by_project=_by_cost(queries.usage_rows(con, "project", selected)),
            budgets=budgets.evaluate(con, settings, now, tz) if settings and settings.budgets else [],
        )


def _by_cost(rows: list[UsageRow]) -> list[UsageRow]:
    return sorted(rows, key=lambda r: (-(r.cost_usd or 0.0), -r.total_tokens, r.key))


def load_report(
    db: Path, view: str, state: FilterState, tz: str, now: datetime, session: str | None = None
) -> Report:
    """A report for a table tab or a session's turns."""
    with store.connect(db) as con:
        return build(con, view, state.to_filters(tz, now), now, session_id=session)


def load_choices(db: Path) -> Choices:
    """Distinct harnesses, projects and models in the store."""
    with store.connect(db) as con:

        def distinct(column: str) -> list[str]:
            sql = f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL ORDER BY 1"
            return [row[0] for row in con.execute(sql).fetchall()]

        return Choices(distinct("harness"), distinct("project"), distinct("model"))
