"""`agent-usage statusline`: Claude Code's status bar, from the store, answered from a cache.

The figures are the reports corpus's hand-worked events (fixtures/reports/expected.json) at
its pinned `now`, so every number on the line is checked against arithmetic done by hand.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_usage.statusline import line
from agent_usage.statusline.facts import Facts
from agent_usage.statusline.payload import Payload, parse_payload
from tests.conftest import EXPECTED, append_turn, invoke_cli, reports_env, run_cli

NOW = EXPECTED["now"].rstrip("Z")
NOW_EPOCH = datetime.fromisoformat(NOW).replace(tzinfo=UTC).timestamp()
SESSION = "bbbbbbbb-0000-4000-8000-00000000000b"
"""C4 ($0.018) and C5 (a model without a price), both in the block active at `now`."""


def auto_cost(event: dict) -> float | None:
    """An event's cost in auto mode: its recorded cost when it has a non-zero one."""
    return event["reported"] or event["calculated"]


def expected_today() -> float:
    day = NOW[:10]
    return sum(auto_cost(e) or 0.0 for e in EXPECTED["events"] if e["ts"].startswith(day))


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    """The corpus and an empty store."""
    return {**reports_env(tmp_path), "AGENT_USAGE_NOW": NOW}


@pytest.fixture
def env(fresh_env: dict[str, str]) -> dict[str, str]:
    """The corpus and a store that holds it, as a `watch` or the TUI keeps it: the status line
    reads only its own session, so today's other usage comes from the store."""
    assert invoke_cli("ingest", env=fresh_env).returncode == 0
    return fresh_env


def transcript(env: dict[str, str], session: str = SESSION) -> Path:
    return Path(env["CLAUDE_CONFIG_DIR"]) / "projects" / "-home-al-src-shop" / f"{session}.jsonl"


def payload(env: dict[str, str], **extra: object) -> str:
    return json.dumps(
        {
            "session_id": SESSION,
            "transcript_path": str(transcript(env)),
            "cwd": "/home/al/src/shop",
            "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
            "cost": {"total_cost_usd": 0.5},
            **extra,
        }
    )


def statusline(env: dict[str, str], stdin: str, *args: str) -> str:
    """The one line printed; the call must succeed and print nothing else."""
    done = run_cli("statusline", *args, env=env, stdin=stdin)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].strip(), done.stdout
    return lines[0]


def test_first_call_reads_the_session_and_gives_hand_worked_figures(env: dict[str, str]) -> None:
    facts = json.loads(statusline(env, payload(env), "--json"))
    assert facts["session"] == {"cost_usd": pytest.approx(0.018), "unpriced_events": 1, "tokens": 3000}
    assert facts["today"]["cost_usd"] == pytest.approx(expected_today())
    active = EXPECTED["blocks_at_now"]["active"]
    block = facts["block"]
    assert block["cost_usd"] == pytest.approx(0.018) and block["unpriced_events"] == 1
    assert block["seconds_left"] == active["remaining_minutes"] * 60
    assert block["burn_usd_per_hour"] == pytest.approx(active["cost_per_hour"])
    assert block["projected_cost_usd"] == pytest.approx(active["projected_cost"])
    assert facts["claude_cost_usd"] == 0.5 and facts["problem"] is None


def test_the_line_in_its_default_order(env: dict[str, str]) -> None:
    text = statusline(env, payload(env))
    today = f"${expected_today():,.2f}"
    assert text == (
        f"Sonnet 4.5 | $0.02 +1 unpriced session | {today} today"
        " | $0.02 +1 unpriced block (3h00m left) | $0.05/h"
    )


def test_a_day_without_use_costs_nothing_and_has_no_block(env: dict[str, str]) -> None:
    later = {**env, "AGENT_USAGE_NOW": "2026-11-20T12:00:00"}
    assert statusline(later, payload(env)) == "Sonnet 4.5 | $0.02 +1 unpriced session | $0.00 today"


def test_only_the_session_is_read_never_the_whole_history(fresh_env: dict[str, str]) -> None:
    facts = json.loads(statusline(fresh_env, payload(fresh_env), "--json"))
    assert facts["session"]["tokens"] == 3000  # C4 and C5, on the day before `now`
    assert facts["today"]["tokens"] == 0  # X2 and G1 fall on `now`'s day, in files not read
    report = invoke_cli("report", "session", "--json", "--no-ingest", env=fresh_env)
    sessions = {row["key"] for row in json.loads(report.stdout)["rows"]}
    assert sessions == {SESSION}


def test_a_cached_answer_loads_neither_duckdb_nor_the_cli(env: dict[str, str]) -> None:
    statusline(env, payload(env))  # the first call of a session fills the cache
    done = run_cli("statusline", env={**env, "PYTHONPROFILEIMPORTTIME": "1"}, stdin=payload(env))
    assert done.returncode == 0 and done.stdout.strip()
    loaded = {row.split("|")[-1].strip() for row in done.stderr.splitlines() if "import time" in row}
    assert "agent_usage.statusline" in loaded
    assert not loaded & {
        "duckdb",
        "typer",
        "rich",
        "agent_usage.cli",
        "agent_usage.ingest",
        "orjson",
        "argparse",
    }


def test_a_new_turn_answers_at_once_then_the_refresher_catches_up(env: dict[str, str]) -> None:
    before = json.loads(statusline(env, payload(env), "--json"))["session"]["tokens"]
    append_turn(transcript(env), 1)  # 10 input and 1000 output tokens
    stale = json.loads(statusline(env, payload(env), "--json"))["session"]["tokens"]
    assert stale == before  # answered from the cache, a refresher started in the background
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = json.loads(statusline(env, payload(env), "--json"))["session"]["tokens"]
        if now != before:
            break
        time.sleep(0.3)
    assert now == before + 1010


@pytest.mark.parametrize(
    ("stdin", "problem"),
    [
        ("", "no session data on stdin"),
        ("not json", "stdin is not JSON"),
        ("[1, 2]", "stdin is not a JSON object"),
    ],
)
def test_bad_stdin_still_prints_a_line(env: dict[str, str], stdin: str, problem: str) -> None:
    text = statusline(env, stdin)
    assert text.endswith(f"agent-usage: {problem}")


def test_fields_of_the_wrong_type_are_left_out(env: dict[str, str]) -> None:
    text = statusline(env, json.dumps({"session_id": 5, "model": "x", "cost": {"total_cost_usd": "1"}}))
    assert text.startswith(f"${expected_today():,.2f} today")


def test_a_missing_store_and_no_transcript_still_say_something(tmp_path: Path) -> None:
    text = statusline({"AGENT_USAGE_HOME": str(tmp_path / "empty")}, json.dumps({"session_id": "x"}))
    assert text == "agent-usage: no usage recorded yet"


def test_format_picks_and_orders_segments(env: dict[str, str]) -> None:
    text = statusline(env, payload(env), "--format", "{today} · {model} · {left}")
    assert text == f"${expected_today():,.2f} today · Sonnet 4.5 · 3h00m left"


def test_an_unknown_segment_is_said_on_the_line(env: dict[str, str]) -> None:
    text = statusline(env, payload(env), "--format", "{model} {cost}")
    assert text.startswith("agent-usage statusline: --format: unknown segment {cost}; segments: model")


def test_claude_codes_rate_limits_set_the_time_left(env: dict[str, str]) -> None:
    limits = {
        "five_hour": {"used_percentage": 42, "resets_at": NOW_EPOCH + 3600},
        "seven_day": {"used_percentage": 36.4, "resets_at": NOW_EPOCH + 86400},
    }
    text = statusline(
        env, payload(env, rate_limits=limits, context_window={"used_percentage": 26}),
        "--format", "{left} | {limits} | {context}",
    )  # fmt: skip
    assert text == "1h00m left | 5h 42% · 7d 36% | ctx 26%"


@pytest.mark.parametrize(("limit", "colour"), [(1.0, None), (0.065, "33"), (0.05, "31")])
def test_budget_state_is_coloured_as_elsewhere(env: dict[str, str], limit: float, colour: str | None) -> None:
    config = Path(env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.write_text(f"[budgets]\ndaily = {limit}\n")
    share = f"{expected_today() / limit:.0%}"
    coloured = statusline({**env, "NO_COLOR": ""}, payload(env), "--format", "{budget}")
    assert coloured == (f"\033[{colour}mdaily {share}\033[0m" if colour else f"daily {share}")
    assert statusline(env, payload(env), "--format", "{budget}") == f"daily {share}"  # NO_COLOR=1


def test_a_bad_option_is_said_on_the_line(env: dict[str, str]) -> None:
    assert statusline(env, payload(env), "--colour") == "agent-usage statusline: unknown option --colour"
    assert statusline(env, payload(env), "--format") == "agent-usage statusline: --format needs a value"
    assert statusline(env, payload(env), "--format={model}") == "Sonnet 4.5"


def test_help_documents_the_options(env: dict[str, str]) -> None:
    done = run_cli("statusline", "--help", env=env)
    assert done.returncode == 0
    assert "--format" in done.stdout and "--json" in done.stdout and "status bar" in done.stdout


# the template and the payload, without a process


def test_an_empty_segment_takes_its_separator_along() -> None:
    values = {"model": "Opus", "session": "", "today": "$1.00 today", "problem": ""}
    assert line.render(line.DEFAULT_FORMAT, values) == "Opus | $1.00 today"
    assert line.render(line.DEFAULT_FORMAT, {**values, "model": ""}) == "$1.00 today"
    assert line.render("[{model}] {today}!", {**values, "model": ""}) == "$1.00 today!"
    assert line.render("[{model}] {today}!", values) == "[Opus] $1.00 today!"


def test_the_payload_keeps_only_well_typed_fields() -> None:
    parsed = parse_payload(b'{"model": {"id": "claude-opus-4-6"}, "rate_limits": {"five_hour": {}}}')
    assert parsed == Payload(model="claude-opus-4-6", raw=parsed.raw)


def test_facts_survive_their_cache_form() -> None:
    facts = Facts(at=1.0, stamp=(3, 4), problem="x")
    assert Facts.from_dict(json.loads(json.dumps(facts.to_dict()))) == facts
