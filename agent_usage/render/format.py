"""Formatting of money, token counts and times, shared by the tables, the TUI and the
status line (which is why nothing heavy is imported at the top)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo


def money(cost: float | None, unpriced_models: Sequence[str] = (), compact: bool = False) -> str:
    """`$12.40`, `$12.40 + 2 unpriced models`, or `unpriced`: never a silent $0."""
    if cost is None:
        return "unpriced" if unpriced_models else "-"
    text = f"${cost:,.2f}"
    if unpriced_models:
        count = len(unpriced_models)
        text += f" +{count} unpriced" if compact else f" + {count} unpriced model{'s' if count > 1 else ''}"
    return text


def count(value: int, noun: str, plural: str | None = None) -> str:
    """`1 event`, `2 events`: a number with its noun in the right form."""
    return f"{value} {noun if value == 1 else plural or noun + 's'}"


def tokens(value: int, compact: bool = False) -> str:
    """A token count: `1,234,567`, or `1.2M` in a compact layout for narrow terminals."""
    if not compact or value < 10_000:
        return f"{value:,}"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)


def local_time(value: datetime | None, tz: ZoneInfo, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC instant as wall-clock time in `tz`."""
    from agent_usage.periods import from_utc

    return from_utc(value, tz).strftime(pattern) if value else "-"


def duration(minutes: float) -> str:
    """`3h 05m` or `42m`."""
    hours, rest = divmod(int(round(minutes)), 60)
    return f"{hours}h {rest:02d}m" if hours else f"{rest}m"


def utc_iso(value: datetime | None) -> str | None:
    """A stored naive-UTC instant as ISO 8601 with a `Z`."""
    return value.isoformat() + "Z" if value else None
