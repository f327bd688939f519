"""Time for reports: the clock, the local zone, and user periods turned into UTC bounds.

The store keeps naive UTC timestamps. Everything a user types (`--since 2026-11-01`,
`--today`, `--last 4w`) is read in the report's zone and turned into a half-open UTC range
`[since, until)`, so calendar boundaries follow the zone the user asked for.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import re
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


RELATIVE = re.compile(r"(\d+)\s*([dwmy])")
"""`7d`, `2w`, `3m`, `1y`: that many days, weeks, months or years before today."""


def parse_when(value: str, option: str, today: date) -> tuple[datetime, bool]:
    """(wall-clock time, whether it names a whole day) of a `--since`/`--until` value: an ISO
    date or datetime, `today`, `yesterday`, a weekday (the latest one, today included), or
    `7d`, `2w`, `3m`, `1y` ago."""
    text = value.strip().lower()
    day: date | None = None
    if text == "today":
        day = today
    elif text == "yesterday":
        day = today - timedelta(days=1)
    elif text in WEEKDAYS:
        day = today - timedelta(days=(today.weekday() - WEEKDAYS.index(text)) % 7)
    elif match := RELATIVE.fullmatch(text):
        amount, unit = int(match.group(1)), match.group(2)
        if unit in "dw":
            day = today - timedelta(days=amount * (7 if unit == "w" else 1))
        else:
            months = amount * (12 if unit == "y" else 1)
            first = _months_back(today.replace(day=1), months)
            day = first.replace(day=min(today.day, calendar.monthrange(first.year, first.month)[1]))
    if day is not None:
        return datetime.combine(day, time()), True
    try:
        return datetime.fromisoformat(value.strip()), len(value.strip()) <= 10
    except ValueError:
        raise UsageError(
            f"{option}: {value!r} is not a date: use YYYY-MM-DD[THH:MM], today, yesterday, a weekday"
            " (monday) or a span ago (7d, 2w, 3m, 1y)"
        ) from None


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return to_utc(datetime.combine(day, time()), tz)


def month_after(first: date) -> date:
    """The first day of the month after the one `first` is in."""
    return _months_back(first.replace(day=1), -1)


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
    week_start: int = 0,
) -> Period:
    """The UTC range for the period options; `--today` and `--last` are calendar-aligned in `tz`.

    `--last N<unit>` is the N most recent calendar days, weeks, months or years, the current
    one (so far) included: `7d` is today and the 6 days before, `2w` this week (from its first
    day, `week_start`) and the one before, `3m` this month and the 2 before, `1y` this year.
    `--until` given as a day includes that day.
    """
    chosen = sum(bool(x) for x in (today, last, since))
    if chosen > 1:
        raise UsageError("use only one of --today, --last and --since")
    local_today = from_utc(now or now_utc(), tz).date()
    start: datetime | None = None
    if today:
        start = _midnight(local_today, tz)
    elif last:
        start = _midnight(_last_start(last, local_today, week_start), tz)
    elif since:
        start = to_utc(parse_when(since, "--since", local_today)[0], tz)
    end: datetime | None = None
    if until:
        parsed, whole_day = parse_when(until, "--until", local_today)
        end = to_utc(parsed + timedelta(days=1) if whole_day else parsed, tz)
    elif today:
        end = _midnight(local_today + timedelta(days=1), tz)
    if start and end and end <= start:
        raise UsageError("--until must be after the start of the period")
    return Period(start, end)


def _last_start(last: str, today: date, week_start: int) -> date:
    """The first day of the N most recent calendar periods that `--last` names."""
    match = RELATIVE.fullmatch(last.strip().lower())
    if not match or int(match.group(1)) < 1:
        raise UsageError(f"--last: {last!r} is not a count of d, w, m or y, e.g. 7d, 2w, 3m, 1y")
    n, unit = int(match.group(1)), match.group(2)
    if unit == "d":
        return today - timedelta(days=n - 1)
    if unit == "w":
        return week_first_day(today, week_start) - timedelta(days=7 * (n - 1))
    if unit == "m":
        return _months_back(today.replace(day=1), n - 1)
    return date(today.year - (n - 1), 1, 1)


def current_period_key(view: str, now: datetime, tz: ZoneInfo, week_start: int) -> str | None:
    """The row key of the day, week or month that holds `now` (a calendar view's row "so far")."""
    today = from_utc(now, tz).date()
    if view == "daily":
        return today.isoformat()
    if view == "weekly":
        return week_first_day(today, week_start).isoformat()
    if view == "monthly":
        return today.strftime("%Y-%m")
    return None


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
