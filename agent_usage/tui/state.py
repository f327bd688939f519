"""The TUI's filter state: the range and the harness, project and model picked, turned into
query `Filters`. The data itself comes from `agent_usage.dashboard`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent_usage.periods import month_after
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
    """The filters that apply to every tab; each kind takes any number of values (none: all)."""

    range: str = "30d"
    since: str | None = None  # custom range, dates in the zone
    until: str | None = None
    harness: tuple[str, ...] = ()
    project: tuple[str, ...] = ()
    model: tuple[str, ...] = ()

    def describe(self, project_labels: Mapping[str, str] | None = None) -> str:
        """`Last 30 days · harness: codex · project: api`, projects by their labels."""
        span = f"{self.since or '…'} to {self.until or '…'}" if self.range == "custom" else RANGES[self.range]
        labels = project_labels or {}
        projects = tuple(labels.get(folder, folder) for folder in self.project)
        parts = [span]
        parts += [
            f"{label}: {', '.join(values)}"
            for label, values in (("harness", self.harness), ("project", projects), ("model", self.model))
            if values
        ]
        return " · ".join(parts)

    def toggled(self, kind: str, value: str) -> FilterState:
        """This state with `value` added to the `kind` filter, or taken out if it was in."""
        current: tuple[str, ...] = getattr(self, kind)
        values = tuple(v for v in current if v != value) if value in current else (*current, value)
        return replace(self, **{kind: values})  # type: ignore[arg-type]

    def to_filters(self, zone: ZoneInfo, now: datetime) -> Filters:
        """The query filters of this state, with periods in `zone` (raises a UsageError on a bad date)."""
        custom = self.range == "custom"
        return Scope(
            since=self.since if custom else None,
            until=self.until if custom else None,
            last=self.range if self.range in ("7d", "30d", "3m") else None,
            today=self.range == "today",
            harnesses=self.harness,
            projects=self.project,
            models=self.model,
        ).filters(zone, now)


def period_dates(view: str, key: str) -> tuple[str, str]:
    """The first and last date (inclusive) of a Daily, Weekly or Monthly row's period, from its
    key (`2026-11-16`; the week's first day; `2026-11`), for a custom range."""
    if view == "monthly":
        first = date.fromisoformat(f"{key}-01")
        return first.isoformat(), (month_after(first) - timedelta(days=1)).isoformat()
    first = date.fromisoformat(key)
    last = first + timedelta(days=6) if view == "weekly" else first
    return first.isoformat(), last.isoformat()
