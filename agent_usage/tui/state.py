"""The TUI's filter state: the range and the harness, project and model picked, turned into
query `Filters`. The data itself comes from `agent_usage.dashboard`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from agent_usage.queries import Filters
from agent_usage.scope import Scope

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

    def to_filters(self, zone: ZoneInfo, now: datetime) -> Filters:
        """The query filters of this state, with periods in `zone` (raises a UsageError on a bad date)."""
        custom = self.range == "custom"
        return Scope(
            since=self.since if custom else None,
            until=self.until if custom else None,
            last=self.range if self.range in ("7d", "30d", "3m") else None,
            today=self.range == "today",
            harnesses=(self.harness,) if self.harness else (),
            projects=(self.project,) if self.project else (),
            models=(self.model,) if self.model else (),
        ).filters(zone, now)
