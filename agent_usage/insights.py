"""Adoption, habits and provider concentration: the figures a team asks for beyond raw spend.

Days and weeks are calendar days and weeks in the report's zone. Streaks count
consecutive active days. The current streak is still alive if its last day is today or
yesterday, so a morning without usage yet does not reset it. Concentration is the
Herfindahl-Hirschman index of spend shares per provider, on the usual 0 to 10,000 scale
(10,000 means one provider takes everything).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import duckdb

from agent_usage import periods, queries
from agent_usage.queries import Filters


@dataclass(frozen=True, slots=True)
class MonthShare:
    """One harness's share of a month's spend and requests."""

    month: str
    harness: str
    cost_usd: float
    cost_share: float
    requests: int
    request_share: float


@dataclass(slots=True)
class Adoption:
    active_days: int = 0
    first_day: date | None = None
    last_day: date | None = None
    current_streak: int = 0
    longest_streak: int = 0
    active_weeks: int = 0
    weeks_in_span: int = 0
    sessions: int = 0
    sessions_per_active_day: float = 0.0
    harnesses: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    harness_share_by_month: list[MonthShare] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProviderShare:
    provider: str
    cost_usd: float
    share: float
    requests: int


@dataclass(slots=True)
class Concentration:
    providers: list[ProviderShare]
    hhi: float
    warn_share: float
    unpriced_requests: int

    @property
    def top(self) -> ProviderShare | None:
        return self.providers[0] if self.providers else None

    @property
    def warning(self) -> bool:
        """One provider holds `warn_share` of priced spend or more."""
        return self.top is not None and round(self.top.share, 9) >= self.warn_share


def streaks(days: list[date], today: date) -> tuple[int, int]:
    """(current, longest) runs of consecutive days in the sorted, distinct `days`."""
    longest = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return current, longest


def adoption(con: duckdb.DuckDBPyConnection, filters: Filters, today: date) -> Adoption:
    """Active days, streaks, weekly-active weeks, sessions per active day, variety, harness share."""
    day_rows = queries.usage_rows(con, "day", filters)
    if not day_rows:
        return Adoption()
    days = sorted(date.fromisoformat(row.key) for row in day_rows)
    current, longest = streaks(days, today)
    weeks = {periods.week_first_day(day, filters.week_start) for day in days}
    span_weeks = (periods.week_first_day(days[-1], filters.week_start) - min(weeks)).days // 7 + 1
    total = queries.totals(con, filters)
    return Adoption(
        active_days=len(days),
        first_day=days[0],
        last_day=days[-1],
        current_streak=current,
        longest_streak=longest,
        active_weeks=len(weeks),
        weeks_in_span=span_weeks,
        sessions=total.sessions,
        sessions_per_active_day=total.sessions / len(days),
        harnesses=total.harnesses,
        models=total.models,
        harness_share_by_month=_harness_share(con, filters),
    )


def _harness_share(con: duckdb.DuckDBPyConnection, filters: Filters) -> list[MonthShare]:
    months = {row.key: row for row in queries.usage_rows(con, "month", filters)}
    shares: list[MonthShare] = []
    for harness in queries.totals(con, filters).harnesses:
        scoped = replace(filters, harnesses=(harness,))
        for row in queries.usage_rows(con, "month", scoped):
            month = months[row.key]
            cost, month_cost = row.cost_usd or 0.0, month.cost_usd or 0.0
            shares.append(
                MonthShare(
                    month=row.key,
                    harness=harness,
                    cost_usd=cost,
                    cost_share=cost / month_cost if month_cost else 0.0,
                    requests=row.events,
                    request_share=row.events / month.events,
                )
            )
    return sorted(shares, key=lambda s: (s.month, -s.cost_usd, s.harness))


def concentration(con: duckdb.DuckDBPyConnection, filters: Filters, warn_share: float) -> Concentration:
    """Spend share per provider (priced spend only) and its HHI."""
    rows = queries.usage_rows(con, "provider", filters)
    priced = sum(row.cost_usd or 0.0 for row in rows)
    providers = sorted(
        (
            ProviderShare(
                provider=row.key,
                cost_usd=row.cost_usd or 0.0,
                share=(row.cost_usd or 0.0) / priced if priced else 0.0,
                requests=row.events,
            )
            for row in rows
        ),
        key=lambda p: (-p.cost_usd, p.provider),
    )
    return Concentration(
        providers=providers,
        hhi=round(sum(p.share**2 for p in providers) * 10_000, 1),
        warn_share=warn_share,
        unpriced_requests=sum(row.unpriced_events for row in rows),
    )
