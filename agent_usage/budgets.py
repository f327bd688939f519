"""Budget status: spend in the current calendar period against each configured limit.

A period is the calendar day, week or month in the user's zone that contains "now", so a
daily budget resets at local midnight. Spend uses cost mode auto. Unpriced usage cannot be
counted, so it is reported beside the figure and never silently treated as $0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from agent_usage import periods, queries
from agent_usage.names import match_projects, project_aliases
from agent_usage.settings import Budget, Settings

STATUSES = ("ok", "warning", "exceeded")


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """One budget evaluated at one moment."""

    budget: Budget
    since: datetime
    until: datetime
    spend_usd: float
    unpriced_events: int
    status: str

    @property
    def share(self) -> float:
        return self.spend_usd / self.budget.limit_usd

    @property
    def remaining_usd(self) -> float:
        return max(self.budget.limit_usd - self.spend_usd, 0.0)


def status_for(spend: float, limit: float, warn_at: float) -> str:
    """ok below `warn_at` of the limit, warning from it, exceeded from the limit itself.

    Compared at a billionth of a dollar, the precision of the JSON contract, so float noise
    in a sum ($7.9999999999 for $8) never keeps a budget from its threshold.
    """
    spend = round(spend, 9)
    if spend >= round(limit, 9):
        return "exceeded"
    if spend >= round(warn_at * limit, 9):
        return "warning"
    return "ok"


def period_bounds(
    period: str, now: datetime, zone: ZoneInfo, start_of_week: str
) -> tuple[datetime, datetime]:
    """The UTC range of the calendar day, week or month (in `zone`) that contains `now`."""
    today = periods.from_utc(now, zone).date()
    if period == "daily":
        first, after = today, today + timedelta(days=1)
    elif period == "weekly":
        first = periods.week_first_day(today, periods.week_start_index(start_of_week))
        after = first + timedelta(days=7)
    else:
        first = today.replace(day=1)
        after = periods.month_after(first)
    return (
        periods.to_utc(datetime.combine(first, datetime.min.time()), zone),
        periods.to_utc(datetime.combine(after, datetime.min.time()), zone),
    )


def earliest_start(settings: Settings, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The start (naive UTC) of the earliest current budget period: all that budgets need."""
    starts = [period_bounds(b.period, now, tz, settings.start_of_week)[0] for b in settings.budgets]
    return min(starts, default=None)


def _filters(
    con: duckdb.DuckDBPyConnection,
    budget: Budget,
    since: datetime,
    until: datetime,
    tz: ZoneInfo,
    aliases: tuple[tuple[str, str], ...],
) -> queries.Filters:
    """The events a budget covers; a project budget names a project by its label, its folder
    or its `[projects]` name."""
    base = queries.Filters(since=since, until=until, tz=tz, mode="auto", project_aliases=aliases)
    if budget.scope == "harness":
        return replace(base, harnesses=(budget.value or "",))
    if budget.scope == "model":
        return replace(base, models=(budget.value or "",))
    if budget.scope == "project":
        labels = queries.project_labels(con, base)
        return replace(
            base, projects=tuple(match_projects(budget.value or "", labels)) or (budget.value or "",)
        )
    return base


def evaluate(
    con: duckdb.DuckDBPyConnection, settings: Settings, now: datetime, tz: ZoneInfo
) -> list[BudgetStatus]:
    """Every configured budget's status at `now`, most used share first."""
    statuses = []
    aliases = project_aliases(con, settings.projects)
    for budget in settings.budgets:
        since, until = period_bounds(budget.period, now, tz, settings.start_of_week)
        row = queries.totals(con, _filters(con, budget, since, until, tz, aliases))
        spend = round(row.cost_usd or 0.0, 9)
        statuses.append(
            BudgetStatus(
                budget=budget,
                since=since,
                until=until,
                spend_usd=spend,
                unpriced_events=row.unpriced_events,
                status=status_for(spend, budget.limit_usd, settings.warn_at),
            )
        )
    return sorted(statuses, key=lambda s: -s.share)
