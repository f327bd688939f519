"""Calendar arithmetic: DST-exact local time in SQL, and the periods users type."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_usage import store
from agent_usage.errors import UsageError
from agent_usage.periods import resolve_period, resolve_zone
from agent_usage.queries import local_ts_sql


@pytest.mark.parametrize(
    "tz", ["Europe/Berlin", "America/Los_Angeles", "Australia/Lord_Howe", "Asia/Kolkata", "America/St_Johns"]
)
def test_local_time_in_sql_agrees_with_icu_across_dst(tmp_path: Path, tz: str) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        # one event every 7 minutes for two years, so every DST change is crossed at minute precision
        con.execute(
            """INSERT INTO events (event_key, ts, harness, session_id, model, input_tokens, cache_read_tokens,
                   cache_write_5m_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens,
                   is_sidechain, rank, source_path, source_offset)
               SELECT 'k' || r, TIMESTAMP '2025-01-01' + to_minutes(r * 7), 'pi', 's', 'm',
                      0, 0, 0, 0, 0, 0, FALSE, 0, '', 0
               FROM range(150000) t(r)"""
        )
        fast = local_ts_sql(con, ZoneInfo(tz))
        mismatches = con.execute(
            f"""SELECT count(*) FROM events e
                WHERE {fast} <> timezone(?, timezone('UTC', e.ts))""",
            [tz],
        ).fetchone()
    assert mismatches == (0,)


def test_last_and_until_are_calendar_aligned() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 1, 10, 3, 0)  # 12:00 on Jan 10 in Tokyo
    three_months = resolve_period(tokyo, last="3m", now=now)
    assert three_months.since == datetime(2025, 10, 31, 15, 0)  # Nov 1 00:00 Tokyo
    week = resolve_period(tokyo, last="1w", now=now)
    assert week.since == datetime(2026, 1, 4, 15, 0)  # Monday Jan 5 00:00 Tokyo: this week so far
    two_weeks = resolve_period(tokyo, last="2w", now=now, week_start=6)  # weeks from Sunday
    assert two_weeks.since == datetime(2025, 12, 27, 15, 0)  # Sunday Dec 28: last week and this one
    days = resolve_period(tokyo, last="7d", now=now)
    assert days.since == datetime(2026, 1, 3, 15, 0)  # Jan 4: today and the 6 days before
    year = resolve_period(tokyo, last="1y", now=now)
    assert year.since == datetime(2025, 12, 31, 15, 0)  # Jan 1 2026 00:00 Tokyo
    inclusive = resolve_period(tokyo, since="2026-01-01", until="2026-01-01")
    assert (inclusive.since, inclusive.until) == (datetime(2025, 12, 31, 15), datetime(2026, 1, 1, 15))
    with pytest.raises(UsageError, match="--until must be after"):
        resolve_period(tokyo, since="2026-01-02", until="2026-01-01")


@pytest.mark.parametrize(
    ("text", "since"),
    [
        ("today", datetime(2026, 1, 10)),
        ("yesterday", datetime(2026, 1, 9)),
        ("saturday", datetime(2026, 1, 10)),  # today is a Saturday: the latest one is today
        ("monday", datetime(2026, 1, 5)),
        ("7d", datetime(2026, 1, 3)),
        ("2w", datetime(2025, 12, 27)),
        ("1m", datetime(2025, 12, 10)),
        ("1y", datetime(2025, 1, 10)),
        ("2026-01-02T08:30", datetime(2026, 1, 2, 8, 30)),
    ],
)
def test_relative_dates_in_since(text: str, since: datetime) -> None:
    now = datetime(2026, 1, 10, 12, 0)  # a Saturday, in UTC
    assert resolve_period(ZoneInfo("UTC"), since=text, now=now).since == since


def test_until_a_relative_day_includes_that_day() -> None:
    period = resolve_period(ZoneInfo("UTC"), since="monday", until="yesterday", now=datetime(2026, 1, 10, 12))
    assert (period.since, period.until) == (datetime(2026, 1, 5), datetime(2026, 1, 10))
    with pytest.raises(UsageError, match="not a date: use YYYY-MM-DD"):
        resolve_period(ZoneInfo("UTC"), since="last tuesday")
    with pytest.raises(UsageError, match="--last: '0w' is not a count"):
        resolve_period(ZoneInfo("UTC"), last="0w")


def test_a_zone_is_resolved_once_local_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert resolve_zone() == resolve_zone("local") == ZoneInfo("Asia/Tokyo")
    assert resolve_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    with pytest.raises(UsageError, match="--tz: unknown time zone 'Mars/Base'"):
        resolve_zone("Mars/Base")
