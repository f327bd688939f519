"""Adoption, habits and provider concentration on the reports corpus, against hand-worked figures."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_usage import store
from agent_usage.errors import ConfigError
from agent_usage.insights import adoption, concentration, streaks
from agent_usage.periods import UTC_ZONE
from agent_usage.queries import Filters
from agent_usage.settings import load
from tests.conftest import EXPECTED, invoke_cli

TODAY = date(2026, 11, 16)
EVENTS = EXPECTED["events"]


def cost(event: dict) -> float:
    return (event["reported"] if event["reported"] else event["calculated"]) or 0.0


def test_streaks_count_consecutive_days_and_stay_alive_until_tomorrow() -> None:
    days = [date(2026, 11, d) for d in (1, 2, 3, 5, 6, 9, 10, 11, 12)]
    assert streaks(days, date(2026, 11, 12)) == (4, 4)
    assert streaks(days, date(2026, 11, 13)) == (4, 4)  # no usage yet today: still alive
    assert streaks(days, date(2026, 11, 14)) == (0, 4)  # a whole day missed: broken
    assert streaks([date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)], date(2026, 11, 3)) == (3, 3)
    assert streaks([], TODAY) == (0, 0)


def test_adoption_figures_on_the_corpus(corpus_store: Path) -> None:
    with store.connect(corpus_store, read_only=True) as con:
        habits = adoption(con, Filters(tz=UTC_ZONE), TODAY)
        sunday = adoption(con, Filters(tz=UTC_ZONE, week_start=6), TODAY)
        tokyo = adoption(con, Filters(tz=ZoneInfo("Asia/Tokyo")), TODAY)
    assert (habits.active_days, habits.first_day, habits.last_day) == (4, date(2026, 11, 13), TODAY)
    assert (habits.current_streak, habits.longest_streak) == (4, 4)
    assert (habits.active_weeks, habits.weeks_in_span) == (2, 2)  # Mon 9th and Mon 16th
    assert (sunday.active_weeks, sunday.weeks_in_span) == (2, 2)  # Sun 8th and Sun 15th
    sessions = len({(e["harness"], e["session"]) for e in EVENTS})
    assert habits.sessions == sessions and habits.sessions_per_active_day == sessions / 4
    assert habits.harnesses == ["claude-code", "codex", "gemini-cli", "pi"]
    assert habits.models == sorted({e["model"] for e in EVENTS})
    tokyo_days = sorted(
        {
            datetime.fromisoformat(e["ts"]).replace(tzinfo=UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
            for e in EVENTS
        }
    )
    assert (tokyo.active_days, tokyo.first_day, tokyo.last_day) == (
        len(tokyo_days),
        tokyo_days[0],
        tokyo_days[-1],
    )
    spend = defaultdict(float)
    requests = defaultdict(int)
    for event in EVENTS:
        spend[event["harness"]] += cost(event)
        requests[event["harness"]] += 1
    total = sum(spend.values())
    for share in habits.harness_share_by_month:
        assert share.month == "2026-11"
        assert share.cost_share == pytest.approx(spend[share.harness] / total, abs=1e-12)
        assert share.request_share == requests[share.harness] / len(EVENTS)


def test_provider_concentration_and_hhi(corpus_store: Path) -> None:
    with store.connect(corpus_store, read_only=True) as con:
        result = concentration(con, Filters(tz=UTC_ZONE), warn_share=0.7)
        strict = concentration(con, Filters(tz=UTC_ZONE), warn_share=0.5)
    provider = {"claude-code": "anthropic", "pi": "anthropic", "codex": "openai", "gemini-cli": "google"}
    spend = defaultdict(float)
    for event in EVENTS:
        spend[provider[event["harness"]]] += cost(event)
    total = sum(spend.values())
    hhi = round(sum((v / total) ** 2 for v in spend.values()) * 10_000, 1)
    assert [p.provider for p in result.providers] == ["anthropic", "openai", "google"]
    assert result.hhi == hhi == 4133.5
    assert result.top is not None and result.top.share == pytest.approx(spend["anthropic"] / total)
    assert result.unpriced_requests == 1  # acme-coder-1 counts in requests, not in spend shares
    assert not result.warning and strict.warning


def test_insights_cli_warns_above_the_configured_share(corpus_cli_env: dict[str, str]) -> None:
    config = Path(corpus_cli_env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    calm = invoke_cli("insights", "--json", env=corpus_cli_env)
    assert calm.returncode == 0, calm.stderr
    assert json.loads(calm.stdout)["concentration"]["warning"] is False
    assert "warning:" not in calm.stderr
    config.write_text("[concentration]\nwarn_share = 0.5\n")
    warned = invoke_cli("insights", "--json", env=corpus_cli_env)
    document = json.loads(warned.stdout)
    assert document["concentration"]["warning"] is True
    assert document["adoption"]["longest_streak_days"] == 4
    assert "warning: anthropic holds 55% of spend (warn_share 50%, HHI 4,134)" in warned.stderr
    table = invoke_cli("insights", "--no-ingest", env=corpus_cli_env)
    assert "Longest streak" in table.stdout
    assert "HHI 4,134 of 10,000 (warning when one provider holds 50% or more)" in table.stdout  # one line


def test_concentration_config_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[concentration]\nwarn_share = 2\n")
    with pytest.raises(ConfigError, match="concentration.warn_share must be a share between 0 and 1, got 2"):
        load(path)
    path.write_text("[concentration]\nshare = 0.5\n")
    with pytest.raises(ConfigError, match="unknown key concentration.share; expected warn_share"):
        load(path)
