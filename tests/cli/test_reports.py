"""Every report view and filter, end to end through the real CLI, on the reports corpus.

`fixtures/reports/expected.json` lists each event with hand-worked tokens and cost. The
oracle here groups those events independently (zoneinfo, plain Python) and every view must
agree with it; a few figures are also pinned literally where a zone or week start moves them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from agent_usage.render.document import SCHEMA_PATH
from tests.conftest import FIXTURES, invoke_cli

CORPUS = FIXTURES / "reports"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
EVENTS = EXPECTED["events"]
NOW = EXPECTED["now"]
SCHEMA = json.loads(SCHEMA_PATH.read_text())
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The corpus ingested once, with the corpus's round prices; returns the env for reports."""
    base = tmp_path_factory.mktemp("reports")
    (base / "home").mkdir()
    (base / "au" / "config").mkdir(parents=True)
    shutil.copy(CORPUS / "prices.toml", base / "au" / "config" / "prices.toml")
    env = {
        "HOME": str(base / "home"),
        "AGENT_USAGE_HOME": str(base / "au"),
        "AGENT_USAGE_NOW": NOW,
        "CLAUDE_CONFIG_DIR": str(CORPUS / "claude"),
        "CODEX_HOME": str(CORPUS / "codex"),
        "GEMINI_CLI_HOME": str(CORPUS / "gemini"),
        "PI_CODING_AGENT_DIR": str(CORPUS / "pi"),
        "TZ": "UTC",
    }
    result = invoke_cli("ingest", env=env)
    assert result.returncode == 0, result.stderr
    assert "10 new events, 1 duplicate skipped" in result.stderr
    return env


def report(store: dict[str, str], *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = invoke_cli("report", *args, "--json", "--no-ingest", env={**store, **(env or {})})
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    return document


def local(event: dict[str, Any], tz: str) -> datetime:
    return datetime.fromisoformat(event["ts"] + "+00:00").astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def cost(event: dict[str, Any], mode: str) -> float | None:
    if mode == "calculate":
        return event["calculated"]
    if mode == "display":
        return event["reported"]
    return event["reported"] or event["calculated"]


def oracle(
    key: Callable[[dict[str, Any]], str],
    keep: Callable[[dict[str, Any]], bool] = lambda e: True,
    mode: str = "auto",
) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"events": 0, "input": 0, "output": 0, "cache_write": 0, "cache_read": 0, "cost": None}
    )
    for event in filter(keep, EVENTS):
        group = groups[key(event)]
        group["events"] += 1
        for field in ("input", "output", "cache_write", "cache_read"):
            group[field] += event[field]
        value = cost(event, mode)
        if value is not None:
            group["cost"] = (group["cost"] or 0.0) + value
    return dict(groups)


def as_oracle(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        row["key"]: {
            "events": row["events"],
            "input": row["input_tokens"],
            "output": row["output_tokens"],
            "cache_write": row["cache_write_tokens"],
            "cache_read": row["cache_read_tokens"],
            "cost": row["cost_usd"],
        }
        for row in rows
    }


def assert_matches(rows: list[dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    got = as_oracle(rows)
    assert set(got) == set(expected)
    for key, want in expected.items():
        have = got[key]
        assert {k: v for k, v in have.items() if k != "cost"} == {
            k: v for k, v in want.items() if k != "cost"
        }, key
        if want["cost"] is None:
            assert have["cost"] is None, key
        else:
            assert have["cost"] == pytest.approx(want["cost"], abs=1e-9), key


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_daily_follows_the_zone(store: dict[str, str], tz: str) -> None:
    document = report(store, "daily", "--tz", tz)
    assert_matches(document["rows"], oracle(lambda e: local(e, tz).strftime("%Y-%m-%d")))
    assert document["totals"]["events"] == EXPECTED["totals"]["events"]
    assert document["totals"]["cost_usd"] == pytest.approx(EXPECTED["totals"]["cost_auto"])


def test_a_zone_moves_events_across_midnight(store: dict[str, str]) -> None:
    utc = {row["key"]: row["events"] for row in report(store, "daily", "--tz", "UTC")["rows"]}
    tokyo = {row["key"]: row["events"] for row in report(store, "daily", "--tz", "Asia/Tokyo")["rows"]}
    los_angeles = {
        row["key"]: row["events"] for row in report(store, "daily", "--tz", "America/Los_Angeles")["rows"]
    }
    assert utc == {"2026-11-13": 3, "2026-11-14": 3, "2026-11-15": 2, "2026-11-16": 2}
    # C3 (19:00 UTC) is 04:00 the next day in Tokyo; P1/P2 move to the 15th; C4/C5 to Monday the 16th
    assert tokyo == {"2026-11-13": 2, "2026-11-14": 2, "2026-11-15": 2, "2026-11-16": 4}
    # X2 (01:00 UTC Monday) is Sunday 17:00 in Los Angeles
    assert los_angeles == {"2026-11-13": 3, "2026-11-14": 3, "2026-11-15": 3, "2026-11-16": 1}


def week_of(event: dict[str, Any], tz: str, start: int) -> str:
    day = local(event, tz).date()
    return (day - timedelta(days=(day.weekday() - start) % 7)).isoformat()


@pytest.mark.parametrize(
    ("tz", "start", "index", "pinned"),
    [
        ("UTC", "monday", 0, {"2026-11-09": 8, "2026-11-16": 2}),
        ("Asia/Tokyo", "monday", 0, {"2026-11-09": 6, "2026-11-16": 4}),
        ("UTC", "sunday", 6, {"2026-11-08": 6, "2026-11-15": 4}),
        ("America/Los_Angeles", "sunday", 6, {"2026-11-08": 6, "2026-11-15": 4}),
    ],
)
def test_weekly_boundary_follows_zone_and_start_of_week(
    store: dict[str, str], tz: str, start: str, index: int, pinned: dict[str, int]
) -> None:
    document = report(store, "weekly", "--tz", tz, "--start-of-week", start)
    assert document["filters"]["start_of_week"] == start
    assert_matches(document["rows"], oracle(lambda e: week_of(e, tz, index)))
    assert {row["key"]: row["events"] for row in document["rows"]} == pinned


@pytest.mark.parametrize(
    ("view", "key"),
    [
        ("monthly", lambda e: local(e, "UTC").strftime("%Y-%m")),
        ("hourly", lambda e: local(e, "UTC").strftime("%Y-%m-%d %H:00")),
        ("session", lambda e: e["session"]),
        ("project", lambda e: e["project"]),
        ("model", lambda e: e["model"]),
        ("harness", lambda e: e["harness"]),
    ],
)
def test_grouped_views_match_the_hand_worked_events(
    store: dict[str, str], view: str, key: Callable[[dict[str, Any]], str]
) -> None:
    assert_matches(report(store, view, "--tz", "UTC")["rows"], oracle(key))


def test_unpriced_usage_is_null_and_named(store: dict[str, str]) -> None:
    rows = {row["key"]: row for row in report(store, "model", "--tz", "UTC")["rows"]}
    assert rows["acme-coder-1"]["cost_usd"] is None
    assert rows["acme-coder-1"]["unpriced_models"] == ["acme-coder-1"]
    table = invoke_cli("report", "daily", "--no-ingest", "--tz", "UTC", env=store).stdout
    assert "$0.23 + 1 unpriced model" in table
    assert "$0.00" not in table


@pytest.mark.parametrize(
    ("args", "keep"),
    [
        (("--harness", "codex"), lambda e: e["harness"] == "codex"),
        (("--harness", "pi", "--harness", "gemini-cli"), lambda e: e["harness"] in ("pi", "gemini-cli")),
        (("--project", "api"), lambda e: e["project"] == "api"),
        (("--model", "gpt-5"), lambda e: e["model"] == "gpt-5"),
        (
            ("--since", "2026-11-14", "--until", "2026-11-15"),
            lambda e: "2026-11-14" <= e["ts"][:10] <= "2026-11-15",
        ),
        (("--since", "2026-11-13T12:00"), lambda e: e["ts"] >= "2026-11-13T12:00"),
        (("--today",), lambda e: e["ts"][:10] == "2026-11-16"),
        (("--last", "2d"), lambda e: e["ts"][:10] >= "2026-11-15"),
        (("--last", "1w"), lambda e: e["ts"][:10] >= "2026-11-16"),  # now is a Monday: this week so far
        (("--last", "2w"), lambda e: e["ts"][:10] >= "2026-11-09"),  # and the whole week before
        (("--last", "1m"), lambda e: e["ts"][:7] == "2026-11"),
    ],
)
def test_filters_select_exactly_the_matching_events(
    store: dict[str, str], args: tuple[str, ...], keep: Callable[[dict[str, Any]], bool]
) -> None:
    document = report(store, "daily", "--tz", "UTC", *args)
    assert_matches(document["rows"], oracle(lambda e: e["ts"][:10], keep))


def test_today_and_since_are_read_in_the_zone(store: dict[str, str]) -> None:
    # now is 10:00 on Monday the 16th in Tokyo: today there is 15:00 UTC Sunday to 15:00 UTC Monday
    document = report(store, "harness", "--tz", "Asia/Tokyo", "--today")
    assert document["filters"]["since"] == "2026-11-15T15:00:00Z"
    assert document["filters"]["until"] == "2026-11-16T15:00:00Z"
    assert_matches(
        document["rows"], oracle(lambda e: e["harness"], lambda e: local(e, "Asia/Tokyo").day == 16)
    )


@pytest.mark.parametrize("mode", ["auto", "calculate", "display"])
def test_cost_modes(store: dict[str, str], mode: str) -> None:
    document = report(store, "harness", "--tz", "UTC", "--mode", mode)
    assert_matches(document["rows"], oracle(lambda e: e["harness"], mode=mode))
    pi = next(row for row in document["rows"] if row["key"] == "pi")
    assert pi["cost_usd"] == pytest.approx({"auto": 0.012, "calculate": 0.009, "display": 0.01}[mode])


def test_default_zone_is_the_local_one(store: dict[str, str]) -> None:
    document = report(store, "daily", env={"TZ": "Asia/Tokyo"})
    assert document["filters"]["tz"] == "Asia/Tokyo"
    assert_matches(document["rows"], oracle(lambda e: local(e, "Asia/Tokyo").strftime("%Y-%m-%d")))


def test_breakdown_adds_model_rows_that_sum_to_each_period(store: dict[str, str]) -> None:
    document = report(store, "daily", "--tz", "UTC", "--breakdown")
    assert document["filters"]["breakdown"] is True
    for row in document["rows"]:
        expected = oracle(lambda e: e["model"], lambda e, day=row["key"]: e["ts"][:10] == day)
        assert_matches(row["breakdown"], expected)
    table = invoke_cli("report", "daily", "--breakdown", "--no-ingest", "--tz", "UTC", env=store).stdout
    assert "└ acme-coder-1" in table and "└ claude-haiku-4-5" in table


def test_blocks_with_active_burn_rate_and_projection(store: dict[str, str]) -> None:
    document = report(store, "blocks", "--tz", "UTC")
    want = EXPECTED["blocks_at_now"]
    got = [
        {"start": b["start"][:-1], "gap": True}
        if b["is_gap"]
        else {
            "start": b["start"][:-1],
            "events": b["events"],
            "tokens": b["total_tokens"],
            "active": b["is_active"],
        }
        for b in document["blocks"]
    ]
    assert got == [
        {"start": b["start"], "gap": True}
        if b.get("gap")
        else {
            "start": b["start"],
            "events": b["events"],
            "tokens": b["tokens"],
            "active": b.get("active", False),
        }
        for b in want["blocks"]
    ]
    for block, expected in zip(document["blocks"], want["blocks"], strict=True):
        if not expected.get("gap"):
            assert block["cost_usd"] == pytest.approx(expected["cost"])
    active = document["active_block"]
    assert active["tokens_per_minute"] == pytest.approx(want["active"]["tokens_per_minute"])
    assert active["cost_per_hour"] == pytest.approx(want["active"]["cost_per_hour"])
    assert active["remaining_minutes"] == pytest.approx(want["active"]["remaining_minutes"])
    assert active["projected_tokens"] == want["active"]["projected_tokens"]
    assert active["projected_cost_usd"] == pytest.approx(want["active"]["projected_cost"])
    later = report(store, "blocks", "--tz", "UTC", env={"AGENT_USAGE_NOW": "2026-11-16T06:00:00Z"})
    assert later["active_block"] is None and not any(b["is_active"] for b in later["blocks"])


def test_token_limit_max_is_the_biggest_ended_block(store: dict[str, str]) -> None:
    document = report(store, "blocks", "--tz", "UTC", "--token-limit", "max")
    biggest = max(
        b["tokens"] for b in EXPECTED["blocks_at_now"]["blocks"] if "tokens" in b and not b.get("active")
    )
    assert document["token_limit"] == biggest == 39000
    active = document["active_block"]
    assert active["used_share"] == pytest.approx(3000 / 39000)
    assert active["remaining_tokens"] == 36000
    assert active["projected_share"] == pytest.approx(30000 / 39000)
    assert report(store, "blocks", "--tz", "UTC")["token_limit"] is None


def test_active_shows_the_running_block_alone(store: dict[str, str]) -> None:
    document = report(store, "blocks", "--active", "--token-limit", "10000", "--tz", "UTC")
    assert [(b["start"], b["is_active"]) for b in document["blocks"]] == [("2026-11-15T23:00:00Z", True)]
    assert document["totals"]["total_tokens"] == 3000
    panel = invoke_cli(
        "report", "blocks", "--active", "--token-limit", "10000", "--no-ingest", "--tz", "UTC", env=store
    ).stdout
    for line in (
        "Active 5-hour block",
        "Ends  04:00, in 3h 00m",
        "Spent  $0.02 + 1 unpriced model, 3,000 tokens, 2 requests",
        "Burn rate  150 tokens/min, $0.05/h",
        "Projected  30,000 tokens, $0.18 by the block's end",
        "Limit  10,000 tokens, 30% used",
        "Remaining  7,000 tokens",
        "Projected use  300%",
    ):
        assert line in panel
    later = {**store, "AGENT_USAGE_NOW": "2026-11-16T06:00:00Z"}
    quiet = invoke_cli("report", "blocks", "--active", "--no-ingest", "--tz", "UTC", env=later)
    assert quiet.returncode == 0 and quiet.stdout.strip() == "No active block."


def test_block_breakdown_splits_each_block_by_model(store: dict[str, str]) -> None:
    document = report(store, "blocks", "--breakdown", "--tz", "UTC")
    active = next(b for b in document["blocks"] if b["is_active"])
    assert active["per_model"] == [
        {"model": "claude-sonnet-4-5", "events": 1, "total_tokens": 2000, "cost_usd": pytest.approx(0.018)},
        {"model": "acme-coder-1", "events": 1, "total_tokens": 1000, "cost_usd": None},
    ]
    assert "per_model" not in report(store, "blocks", "--tz", "UTC")["blocks"][0]


def test_session_length_cuts_blocks_of_that_many_hours(store: dict[str, str]) -> None:
    document = report(store, "blocks", "--session-length", "3", "--tz", "UTC")
    # C1 10:00 and C2 12:30 share a block; C3 19:00 is more than 3 h after C2; C4 and C5 at 23:30
    # and 23:50 open a block at 23:00 that ends at 02:00, an hour after `now`
    assert [(b["start"], b["end"], b["is_gap"]) for b in document["blocks"]] == [
        ("2026-11-13T10:00:00Z", "2026-11-13T13:00:00Z", False),
        ("2026-11-13T15:30:00Z", "2026-11-13T19:00:00Z", True),
        ("2026-11-13T19:00:00Z", "2026-11-13T22:00:00Z", False),
        ("2026-11-13T22:00:00Z", "2026-11-15T23:30:00Z", True),
        ("2026-11-15T23:00:00Z", "2026-11-16T02:00:00Z", False),
    ]
    assert document["active_block"]["remaining_minutes"] == 60


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("daily", "--active"), "work with `report blocks`"),
        (("blocks", "--token-limit", "0"), "--token-limit: '0' is not a positive number"),
        (("blocks", "--token-limit", "lots"), "--token-limit: 'lots' is not a positive number"),
        (("blocks", "--session-length", "0"), "--session-length: give the hours"),
    ],
)
def test_block_options_are_checked(store: dict[str, str], args: tuple[str, ...], message: str) -> None:
    done = invoke_cli("report", *args, "--no-ingest", env=store)
    assert done.returncode == 2 and message in done.stderr


def test_harness_aliases_name_the_same_harness(store: dict[str, str]) -> None:
    full = report(store, "daily", "--harness", "claude-code")["totals"]
    assert report(store, "daily", "--harness", "claude")["totals"] == full
    assert report(store, "daily", "--harness", "Gemini")["totals"]["harnesses"] == ["gemini-cli"]
    assert full["total_tokens"] == sum(
        e["input"] + e["output"] + e["cache_write"] + e["cache_read"]
        for e in EVENTS
        if e["harness"] == "claude-code"
    )


def test_an_unknown_harness_is_an_error_that_lists_the_valid_ones(store: dict[str, str]) -> None:
    done = invoke_cli("report", "daily", "--harness", "nope", "--no-ingest", env=store)
    assert done.returncode == 2
    assert "--harness: no harness 'nope'; choose from" in done.stderr
    assert "claude-code" in done.stderr and "claude (claude-code)" in done.stderr


@pytest.mark.parametrize(
    ("option", "pattern", "keys"),
    [
        ("--model", "SONNET", ["claude-sonnet-4-5"]),
        ("--model", "claude-*", ["claude-haiku-4-5", "claude-sonnet-4-5"]),
        ("--model", "gpt-5", ["gpt-5"]),
        ("--project", "API", ["api"]),
        ("--project", "s*p", ["shop"]),
    ],
)
def test_models_and_projects_match_any_case_globs_and_parts(
    store: dict[str, str], option: str, pattern: str, keys: list[str]
) -> None:
    view = "model" if option == "--model" else "project"
    document = report(store, view, option, pattern, "--tz", "UTC")
    assert sorted(row["key"] for row in document["rows"]) == keys


def test_a_pattern_that_matches_nothing_says_so_with_the_closest_names(store: dict[str, str]) -> None:
    done = invoke_cli("report", "model", "--model", "sonet-4", "--json", "--no-ingest", env=store)
    assert done.returncode == 0 and json.loads(done.stdout)["rows"] == []
    assert (
        "warning: --model 'sonet-4' matches no model in the store; closest: claude-sonnet-4-5" in done.stderr
    )


def test_sort_and_order(store: dict[str, str]) -> None:
    by_cost = oracle(lambda e: e["model"])
    ranked = sorted(by_cost, key=lambda key: -(by_cost[key]["cost"] or 0.0))
    assert [r["key"] for r in report(store, "model", "--sort", "cost")["rows"]] == ranked
    by_tokens = report(store, "model", "--sort", "tokens", "--order", "asc")["rows"]
    assert [r["total_tokens"] for r in by_tokens] == sorted(r["total_tokens"] for r in by_tokens)
    days = [r["key"] for r in report(store, "daily", "--tz", "UTC")["rows"]]
    assert [r["key"] for r in report(store, "daily", "--tz", "UTC", "--order", "desc")["rows"]] == days[::-1]
    done = invoke_cli("report", "model", "--sort", "price", "--no-ingest", env=store)
    assert done.returncode == 2 and "--sort: choose one of name, cost, tokens" in done.stderr


def test_no_cost_compact_and_colour(store: dict[str, str]) -> None:
    plain = invoke_cli("report", "model", "--no-ingest", env=store).stdout
    assert "Cost (USD)" in plain and "Cache write" in plain and "\x1b[" not in plain
    bare = invoke_cli("report", "model", "--no-ingest", "--no-cost", env=store).stdout
    assert "Cost (USD)" not in bare and "$" not in bare and "Cache write" in bare
    narrow = invoke_cli("report", "model", "--no-ingest", "--compact", env=store).stdout
    assert "Cache write" not in narrow and "44.0k" in narrow  # claude-sonnet-4-5's tokens, short
    coloured = invoke_cli("report", "model", "--no-ingest", "--color", env=store).stdout
    assert "\x1b[" in coloured  # even into a pipe
    assert "\x1b[" not in invoke_cli("report", "model", "--no-ingest", "--no-color", env=store).stdout


def test_budgets_stay_out_of_history_and_when_asked(store: dict[str, str], tmp_path: Path) -> None:
    config = Path(store["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.write_text("[budgets]\nmonthly = 1\n")
    try:
        assert "Budgets" in invoke_cli("report", "daily", "--no-ingest", env=store).stdout
        assert "Budgets" not in invoke_cli("report", "daily", "--no-ingest", "--no-budgets", env=store).stdout
        past = invoke_cli("report", "daily", "--no-ingest", "--until", "2026-11-14", env=store).stdout
        assert "Budgets" not in past  # a range that ended says nothing about this month's budget
        assert "budgets" not in report(store, "daily", "--until", "2026-11-14")
        assert "budgets" in report(store, "daily")
    finally:
        config.unlink()


@pytest.mark.parametrize("by", ["harness", "project"])
def test_breakdown_by_harness_or_project(store: dict[str, str], by: str) -> None:
    document = report(store, "daily", "--breakdown", by, "--tz", "UTC")
    assert document["filters"]["breakdown_by"] == by
    for row in document["rows"]:
        expected = oracle(lambda e: e[by], keep=lambda e, day=row["key"]: e["ts"][:10] == day)
        assert_matches(row["breakdown"], expected)
    table = invoke_cli("report", "daily", f"--breakdown={by}", "--no-ingest", "--tz", "UTC", env=store).stdout
    assert ("└ gemini-cli" if by == "harness" else "└ web") in table
    csv_header = invoke_cli("report", "daily", "--breakdown", by, "--csv", "--no-ingest", env=store).stdout
    assert csv_header.startswith(f"key,{by},events")


def test_session_id_prefix_shows_its_turns(store: dict[str, str]) -> None:
    document = report(store, "session", "--id", "aaaa", "--tz", "UTC")
    assert document["session"]["id"] == "aaaaaaaa-0000-4000-8000-00000000000a"
    assert document["session"]["project"] == "shop" and document["session"]["git_branch"] == "main"
    assert document["session"]["source_paths"][0].endswith("aaaaaaaa-0000-4000-8000-00000000000a.jsonl")
    assert [turn["ts"] for turn in document["turns"]] == [
        e["ts"] + "Z" for e in EVENTS if e["session"].startswith("aaaa")
    ]
    assert [turn["cost_usd"] for turn in document["turns"]] == pytest.approx([0.051, 0.024, 0.021])
    assert document["totals"]["events"] == 3
    table = invoke_cli("report", "session", "--id", "aaaa", "--no-ingest", "--tz", "UTC", env=store).stdout
    assert "3 turns" in table and "/home/al/src/shop" in table
    missing = invoke_cli("report", "session", "--id", "ffff", "--no-ingest", env=store)
    assert missing.returncode == 2 and missing.stderr.startswith("error: --id: no session matches 'ffff'")


def test_csv_carries_the_same_numbers_as_json(store: dict[str, str]) -> None:
    result = invoke_cli("report", "project", "--csv", "--no-ingest", "--tz", "UTC", env=store)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    document = report(store, "project", "--tz", "UTC")
    assert [row["key"] for row in rows] == [row["key"] for row in document["rows"]]
    for row, expected in zip(rows, document["rows"], strict=True):
        assert int(row["input_tokens"]) == expected["input_tokens"]
        assert float(row["cost_usd"]) == pytest.approx(expected["cost_usd"])
    broken_down = list(
        csv.DictReader(
            io.StringIO(
                invoke_cli(
                    "report", "daily", "--csv", "--breakdown", "--no-ingest", "--tz", "UTC", env=store
                ).stdout
            )
        )
    )
    unpriced = next(row for row in broken_down if row["model"] == "acme-coder-1")
    assert unpriced["key"] == "2026-11-15" and unpriced["cost_usd"] == ""
    blocks = list(
        csv.DictReader(
            io.StringIO(
                invoke_cli("report", "blocks", "--csv", "--no-ingest", "--tz", "UTC", env=store).stdout
            )
        )
    )
    assert [row["is_gap"] for row in blocks] == ["false", "true", "false", "true", "false"]  # as in the JSON


def test_bad_options_are_one_line_usage_errors(store: dict[str, str]) -> None:
    for args, message in [
        (("--tz", "Mars/Olympus"), "error: --tz: unknown time zone 'Mars/Olympus'"),
        (("--last", "7q"), "error: --last: '7q' is not a count of d, w, m or y"),
        (("--since", "the day before"), "error: --since: 'the day before' is not a date"),
        (("--start-of-week", "caturday"), "error: --start-of-week: choose one of monday"),
        (("--today", "--last", "7d"), "error: use only one of --today, --last and --since"),
        (("--json", "--csv"), "error: use only one of --json and --csv"),
        (("--mode", "guess"), "error: --mode: choose one of auto, calculate, display"),
    ]:
        result = invoke_cli("report", "daily", "--no-ingest", *args, env=store)
        assert result.returncode == 2, args
        assert result.stderr.startswith(message), result.stderr
        assert result.stdout == ""


@pytest.mark.parametrize(
    "view",
    [
        "daily",
        "weekly",
        "monthly",
        "hourly",
        "session",
        "project",
        "model",
        "harness",
        "blocks",
        "session --id aaaa",
    ],
)
def test_every_view_fits_every_width_without_cutting_a_cell(store: dict[str, str], view: str) -> None:
    for columns in (
        80,
        110,
        129,
    ):  # 110 to 129: just wide enough for the full layout (goldens: 100, 120, 160)
        result = invoke_cli("report", *view.split(), "--no-ingest", "--tz", "UTC", env=store, columns=columns)
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            assert len(line) <= columns, (columns, line)
        assert "…" not in result.stdout, (view, columns)


@pytest.mark.parametrize("columns", [80, 100, 120, 160])
@pytest.mark.parametrize("view", ["daily", "session", "blocks", "weekly --breakdown"])
def test_table_layout_matches_golden(store: dict[str, str], view: str, columns: int) -> None:
    result = invoke_cli("report", *view.split(), "--no-ingest", "--tz", "UTC", env=store, columns=columns)
    assert result.returncode == 0, result.stderr
    for line in result.stdout.splitlines():
        assert len(line) <= columns, line
    golden = GOLDEN / f"report-{view.replace(' --', '-')}-{columns}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(result.stdout)
    assert result.stdout == golden.read_text()
