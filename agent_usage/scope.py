"""The period and scope a user asked for (CLI options or the TUI's picks), as query `Filters`.

One place turns "since/until/last/today, these harnesses, projects and models" into UTC
bounds and filter tuples, so the CLI and the TUI cannot read the same words differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent_usage import periods
from agent_usage.cost_sql import COST_MODES
from agent_usage.errors import UsageError
from agent_usage.queries import Filters


@dataclass(frozen=True, slots=True)
class Scope:
    """The options as typed: dates and spans are read in the zone given to `filters`."""

    since: str | None = None
    until: str | None = None
    last: str | None = None
    today: bool = False
    harnesses: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    mode: str = "auto"
    start_of_week: str = "monday"

    def filters(self, zone: ZoneInfo, now: datetime) -> Filters:
        """The query filters, with calendar periods in `zone` (a UsageError on a bad value)."""
        if self.mode not in COST_MODES:
            raise UsageError(f"--mode: choose one of {', '.join(COST_MODES)}")
        week_start = periods.week_start_index(self.start_of_week)
        period = periods.resolve_period(zone, self.since, self.until, self.last, self.today, now, week_start)
        return Filters(
            since=period.since,
            until=period.until,
            harnesses=self.harnesses,
            projects=self.projects,
            models=self.models,
            tz=zone,
            mode=self.mode,
            week_start=week_start,
        )
