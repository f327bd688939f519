"""Time for reports: the clock, the local zone, and user periods turned into UTC bounds.

The store keeps naive UTC timestamps. Everything a user types (`--since 2026-11-01`,
`--today`, `--last 4w`) is read in the report's zone and turned into a half-open UTC range
`[since, until)`, so calendar boundaries follow the zone the user asked for.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_usage.errors import UsageError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NOW_ENV = "AGENT_USAGE_NOW"


def now_utc() -> datetime:
    """The current instant as naive UTC; `AGENT_USAGE_NOW` pins it (reproducible reports, tests)."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        try:
            value = datetime.fromisoformat(pinned)
        except ValueError as error:
            raise UsageError(f"{NOW_ENV}={pinned!r} is not an ISO datetime") from error
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
    return datetime.now(UTC).replace(tzinfo=None)


def local_zone_name() -> str:
    """The IANA name of the machine's zone: `TZ`, then /etc/localtime, then /etc/timezone, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name and _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(name: str) -> ZoneInfo:
    """A validated IANA zone, or a usage error naming the option."""
    if not _is_zone(name):
        raise UsageError(f"--tz: unknown time zone {name!r}; use an IANA name such as Europe/Berlin")
    return ZoneInfo(name)


UTC_ZONE = ZoneInfo("UTC")


def resolve_zone(name: str | None = None) -> ZoneInfo:
    """The zone an entry point works in, resolved once and passed on as a ZoneInfo: `name`
    (an IANA name, or `local`), else this machine's zone."""
    if name is None or name.strip().lower() == "local":
        return ZoneInfo(local_zone_name())
    return zone(name)


def week_start_index(name: str) -> int:
    """0 for monday ... 6 for sunday."""
    try:
        return WEEKDAYS.index(name.lower())
    except ValueError:
        raise UsageError(f"--start-of-week: choose one of {', '.join(WEEKDAYS)}") from None


def week_first_day(day: date, week_start: int) -> date:
    """The first day of the week that contains `day`, weeks starting on `week_start` (0 = monday).

    The one place that decides it: reports, budgets, insights and the TUI's week card.
    """
    return day - timedelta(days=(day.weekday() - week_start) % 7)


def to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` (or an aware datetime) as naive UTC."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz)
    return local.astimezone(UTC).replace(tzinfo=None)


def from_utc(value: datetime, tz: ZoneInfo) -> datetime:
    """A naive UTC instant as a naive wall-clock time in `tz`."""
    return value.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def _parse(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option}: {value!r} is not a date or datetime (YYYY-MM-DD[THH:MM])") from None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, time()), tz)


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open UTC range; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None


def resolve_period(
    tz: ZoneInfo,
    since: str | None = None,
    until: str | None = None,
    last: str | None = None,
    today: bool = False,
    now: datetime | None = None,
) -> Period:
    """The UTC range for the period options; `--today` and `--last` are calendar-aligned in `tz`.

    `--last 7d` is today and the 6 days before it, `--last 4w` the 28 days ending today,
    `--last 3m` this month and the 2 before it. `--until` given as a bare date includes that day.
    """
    chosen = sum(bool(x) for x in (today, last, since))
    if chosen > 1:
        raise UsageError("use only one of --today, --last and --since")
    local_today = from_utc(now or now_utc(), tz).date()
    start: datetime | None = None
    if today:
        start = _midnight(local_today, tz)
    elif last:
        amount, unit = last[:-1], last[-1:].lower()
        if unit not in ("d", "w", "m") or not amount.isdigit() or int(amount) < 1:
            raise UsageError(f"--last: {last!r} is not a count of d, w or m, e.g. 7d, 4w, 3m")
        n = int(amount)
        if unit == "m":
            first = _months_back(local_today.replace(day=1), n - 1)
        else:
            first = local_today - timedelta(days=n * (7 if unit == "w" else 1) - 1)
        start = _midnight(first, tz)
    elif since:
        start = to_utc(_parse(since, "--since"), tz)
    end: datetime | None = None
    if until:
        parsed = _parse(until, "--until")
        is_date = len(until.strip()) <= 10
        end = to_utc(parsed + timedelta(days=1) if is_date else parsed, tz)
    elif today:
        end = _midnight(local_today + timedelta(days=1), tz)
    if start and end and end <= start:
        raise UsageError("--until must be after the start of the period")
    return Period(start, end)


def offset_segments(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """(UTC instant from which it holds, UTC offset in seconds) for `tz` over [start, end].

    Lets SQL shift timestamps by a handful of constant offsets instead of converting every
    row through the ICU time zone functions, which is the slow part of calendar reports.
    """

    def offset(at: datetime) -> int:
        delta = at.replace(tzinfo=UTC).astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    segments = [(start, offset(start))]
    step = timedelta(days=1)
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        if offset(following) != segments[-1][1]:
            low, high = cursor, following  # the change happens in (low, high]
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(microsecond=0), offset(high)))
        cursor = following
    return segments
