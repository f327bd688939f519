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
    assert week.since == datetime(2026, 1, 3, 15, 0)  # Jan 4 00:00 Tokyo: 7 days ending today
    inclusive = resolve_period(tokyo, since="2026-01-01", until="2026-01-01")
    assert (inclusive.since, inclusive.until) == (datetime(2025, 12, 31, 15), datetime(2026, 1, 1, 15))
    with pytest.raises(UsageError, match="--until must be after"):
        resolve_period(tokyo, since="2026-01-02", until="2026-01-01")


def test_a_zone_is_resolved_once_local_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert resolve_zone() == resolve_zone("local") == ZoneInfo("Asia/Tokyo")
    assert resolve_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    with pytest.raises(UsageError, match="--tz: unknown time zone 'Mars/Base'"):
        resolve_zone("Mars/Base")
