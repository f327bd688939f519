"""Budgets: the config file, status at each threshold, spend per calendar period, the CLI."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from agent_usage import store
from agent_usage.budgets import evaluate, period_bounds, status_for
from agent_usage.errors import ConfigError
from agent_usage.periods import UTC_ZONE
from agent_usage.render.document import SCHEMA_PATH
from agent_usage.settings import Budget, Settings, load
from tests.conftest import EXPECTED, REPORTS_CORPUS, invoke_cli

CORPUS = REPORTS_CORPUS
NOW = datetime(2026, 11, 16, 1, 0)  # Monday 01:00 UTC, as expected.json's "now"


def cost(event: dict) -> float | None:
    return event["reported"] if event["reported"] else event["calculated"]


def spend(since: str, until: str, **scope: str) -> float:
    """The oracle: hand-worked costs of the corpus's events in [since, until) and the scope."""
    return sum(
        cost(e) or 0.0
        for e in EXPECTED["events"]
        if since <= e["ts"] < until and all(e[key] == value for key, value in scope.items())
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_status_thresholds() -> None:
    assert status_for(7.99, 10, 0.8) == "ok"
    assert status_for(8.00, 10, 0.8) == "warning"
    assert status_for(9.99, 10, 0.8) == "warning"
    assert status_for(10.00, 10, 0.8) == "exceeded"
    assert status_for(5.00, 10, 0.5) == "warning"


def test_config_budgets_are_read_with_every_scope(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        """
        [budgets]
        daily = 20
        monthly = 400.5
        warn_at = 0.9
        start_of_week = "Sunday"
        [budgets.harness.claude-code]
        weekly = 100
        [budgets.project.shop]
        monthly = 50
        [budgets.model."gpt-5"]
        daily = 5
        """,
    )
    settings = load(path)
    assert settings.warn_at == 0.9 and settings.start_of_week == "sunday"
    assert set(settings.budgets) == {
        Budget("daily", 20.0),
        Budget("monthly", 400.5),
        Budget("weekly", 100.0, "harness", "claude-code"),
        Budget("monthly", 50.0, "project", "shop"),
        Budget("daily", 5.0, "model", "gpt-5"),
    }
    assert load(tmp_path / "missing.toml") == Settings()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[budgets]\nyearly = 5", "unknown key budgets.yearly; expected one of daily, weekly, monthly"),
        ("[budgets]\ndaily = -1", "budgets.daily must be a positive number of USD, got -1"),
        ("[budgets]\ndaily = 'ten'", "budgets.daily must be a positive number of USD, got 'ten'"),
        ("[budgets]\nwarn_at = 1.5", "budgets.warn_at must be a share between 0 and 1, got 1.5"),
        ("[budgets.harness]\npi = 3", "budgets.harness.pi must be a table like { monthly = 100 }"),
        ("[budget]\ndaily = 5", "unknown section [budget]; known sections: budgets"),
        ("[budgets\ndaily = 5", "not valid TOML"),
    ],
)
def test_bad_config_is_one_clear_error_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert caught.value.message.startswith(f"{path}: ")
    assert message in caught.value.message


def test_periods_are_calendar_periods_in_the_zone() -> None:
    assert period_bounds("daily", NOW, UTC_ZONE, "monday") == (datetime(2026, 11, 16), datetime(2026, 11, 17))
    assert period_bounds("weekly", NOW, UTC_ZONE, "monday") == (
        datetime(2026, 11, 16),
        datetime(2026, 11, 23),
    )
    assert period_bounds("weekly", NOW, UTC_ZONE, "sunday") == (
        datetime(2026, 11, 15),
        datetime(2026, 11, 22),
    )
    assert period_bounds("monthly", NOW, UTC_ZONE, "monday") == (datetime(2026, 11, 1), datetime(2026, 12, 1))
    # 01:00 UTC on Monday is still Sunday in Los Angeles (UTC-8)
    assert period_bounds("daily", NOW, ZoneInfo("America/Los_Angeles"), "monday") == (
        datetime(2026, 11, 15, 8),
        datetime(2026, 11, 16, 8),
    )
    assert period_bounds("monthly", datetime(2026, 12, 15), UTC_ZONE, "monday")[1] == datetime(2027, 1, 1)


def test_spend_per_budget_equals_the_hand_worked_costs(corpus_store: Path) -> None:
    settings = Settings(
        budgets=(
            Budget("daily", 1.0),
            Budget("weekly", 1.0, "harness", "claude-code"),
            Budget("monthly", 1.0),
            Budget("monthly", 1.0, "model", "gpt-5"),
            Budget("monthly", 1.0, "project", "api"),
        ),
        start_of_week="sunday",
    )
    with store.connect(corpus_store, read_only=True) as con:
        got = {s.budget.name: s for s in evaluate(con, settings, NOW, UTC_ZONE)}
    assert got["daily"].spend_usd == pytest.approx(spend("2026-11-16", "2026-11-17"), abs=1e-12)
    # the week from Sunday the 15th holds Claude's C4 and the unpriced C5
    claude_week = got["weekly harness claude-code"]
    assert claude_week.spend_usd == pytest.approx(spend("2026-11-15", "2026-11-22", harness="claude-code"))
    assert claude_week.unpriced_events == 1
    assert got["monthly"].spend_usd == pytest.approx(EXPECTED["totals"]["cost_auto"], abs=1e-12)
    assert got["monthly model gpt-5"].spend_usd == pytest.approx(
        spend("2026-11-01", "2026-12-01", model="gpt-5")
    )
    assert got["monthly project api"].spend_usd == pytest.approx(
        spend("2026-11-01", "2026-12-01", project="api")
    )


def test_status_moves_ok_warning_exceeded_with_the_limit(corpus_store: Path) -> None:
    month = EXPECTED["totals"]["cost_auto"]
    limits = {"ok": month / 0.79, "warning": month / 0.8, "exceeded": month}
    for expected, limit in limits.items():
        settings = Settings(budgets=(Budget("monthly", limit),))
        with store.connect(corpus_store, read_only=True) as con:
            (status,) = evaluate(con, settings, NOW, UTC_ZONE)
        assert status.status == expected, (limit, status.spend_usd)


def test_budget_check_exit_codes_follow_the_worst_status(corpus_cli_env: dict[str, str]) -> None:
    config = Path(corpus_cli_env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    missing = invoke_cli("budget", "check", env=corpus_cli_env)
    assert missing.returncode == 2 and "no budgets configured" in missing.stderr
    month = EXPECTED["totals"]["cost_auto"]
    config.write_text(f"[budgets]\nmonthly = {month / 0.9}\n")
    warning = invoke_cli("budget", "check", env=corpus_cli_env)
    assert warning.returncode == 0, warning.stderr
    assert "warning: monthly budget at $0.23 of $0.25 (90%)" in warning.stderr
    config.write_text(f"[budgets]\nmonthly = {month / 2}\n[budgets.harness.pi]\ndaily = 100\n")
    exceeded = invoke_cli("budget", "check", env=corpus_cli_env)
    assert exceeded.returncode == 1
    assert "exceeded: monthly budget at $0.23 of $0.11 (200%)" in exceeded.stderr
    assert invoke_cli("budget", "check", "--quiet", env=corpus_cli_env).stderr == ""
    config.write_text("[budgets]\nmonthly = 1000\n")
    fine = invoke_cli("budget", "check", env=corpus_cli_env)
    assert fine.returncode == 0 and "ok: 1 budget within limits" in fine.stderr


def test_budgets_appear_in_reports_and_their_json(corpus_cli_env: dict[str, str]) -> None:
    config = Path(corpus_cli_env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.write_text("[budgets]\ndaily = 0.05\n[budgets.model.gpt-5]\nmonthly = 1\n")
    listed = invoke_cli("budget", "--json", env=corpus_cli_env)
    document = json.loads(listed.stdout)
    assert [(b["name"], b["status"]) for b in document["budgets"]] == [
        ("daily", "exceeded"),
        ("monthly model gpt-5", "ok"),
    ]
    report = invoke_cli("report", "daily", "--json", env=corpus_cli_env)
    full = json.loads(report.stdout)
    jsonschema.validate(full, json.loads(SCHEMA_PATH.read_text()))
    assert full["budgets"] == document["budgets"]
    table = invoke_cli("report", "daily", "--no-ingest", env=corpus_cli_env)
    assert "Budgets" in table.stdout and "exceeded" in table.stdout
    config.write_text("[budgets]\nhourly = 1\n")
    broken = invoke_cli("report", "daily", env=corpus_cli_env)
    assert broken.returncode == 2
    assert "config.toml: unknown key budgets.hourly" in broken.stderr
