"""`agent-usage import` end to end: every format, re-import, malformed and empty files, privacy."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.queries import Filters, totals
from tests.conftest import FIXTURES, invoke_cli

IMPORTS = FIXTURES / "imports"
EXPECTED = json.loads((IMPORTS / "expected.json").read_text())["files"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path), "AGENT_USAGE_HOME": str(tmp_path / "au"), "TZ": "UTC"}


def store_totals(env: dict[str, str], harness: str | None = None):  # noqa: ANN201
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    with store.connect(db, read_only=True) as con:
        return totals(con, Filters(harnesses=(harness,) if harness else ()))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_format_imports_the_hand_worked_tokens(env: dict[str, str], name: str) -> None:
    want = EXPECTED[name]
    result = invoke_cli("import", str(IMPORTS / name), env=env)
    assert result.returncode == 0, result.stderr
    assert f"(harness {want['harness']}): {want['events']} new, 0 already stored" in result.stderr
    got = store_totals(env, want["harness"])
    assert (
        got.events,
        got.input_tokens,
        got.cache_read_tokens,
        got.cache_write_tokens,
        got.output_tokens,
    ) == (
        want["events"],
        want["input"],
        want["cache_read"],
        want["cache_write"],
        want["output"],
    )
    assert got.reasoning_tokens == want.get("reasoning", 0)
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    with store.connect(db, read_only=True) as con:
        searches = con.execute("SELECT sum(web_search_requests) FROM events").fetchone()[0]
    assert searches == want.get("web_searches", 0)
    assert f"{want.get('skipped', 0)} skipped" in result.stderr
    if "reported_cost" in want:
        assert got.cost_usd == pytest.approx(want["reported_cost"], abs=1e-12)
    elif "cost" in want:  # calculated: the batch row is billed at the batch rate, half the standard
        assert got.cost_usd == pytest.approx(want["cost"], abs=1e-12)
    else:
        assert got.cost_usd is not None and got.cost_usd > 0, "imported API usage must be priced"


def test_reimport_adds_nothing_and_imports_show_in_reports(env: dict[str, str]) -> None:
    for name in ("anthropic_usage.json", "openai_usage.json", "litellm_spend_logs.json"):
        assert invoke_cli("import", str(IMPORTS / name), env=env).returncode == 0
    before = store_totals(env)
    again = invoke_cli("import", str(IMPORTS / "anthropic_usage.json"), env=env)
    assert "0 new, 3 already stored" in again.stderr
    assert store_totals(env) == before
    report = json.loads(invoke_cli("report", "harness", "--json", "--no-ingest", env=env).stdout)
    assert [row["key"] for row in report["rows"]] == ["anthropic-api", "litellm", "openai-api"]
    daily = json.loads(invoke_cli("report", "daily", "--json", "--no-ingest", env=env).stdout)
    assert daily["totals"]["events"] == before.events == 3 + 2 + 2


def test_a_renamed_copy_of_an_export_is_still_a_reimport(env: dict[str, str], tmp_path: Path) -> None:
    copy = tmp_path / "downloads" / "usage (1).json"
    copy.parent.mkdir()
    shutil.copy(IMPORTS / "openai_usage.json", copy)
    assert "2 new" in invoke_cli("import", str(IMPORTS / "openai_usage.json"), env=env).stderr
    assert "0 new, 2 already stored" in invoke_cli("import", str(copy), env=env).stderr


def test_prompt_and_response_text_never_reach_the_store(env: dict[str, str]) -> None:
    for name in ("litellm_spend_logs.json", "litellm_spend_logs.csv"):
        assert invoke_cli("import", str(IMPORTS / name), env=env).returncode == 0
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    assert b"SECRET" not in db.read_bytes()
    assert not list(db.parent.glob("*.wal")) or b"SECRET" not in db.with_suffix(".duckdb.wal").read_bytes()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("malformed.json", "malformed.json: not valid JSON"),
        ("unknown.csv", "unknown.csv: unrecognised columns (Day, Spend, Team); expected one of: anthropic ("),
        ("header_only_unknown.csv", "header_only_unknown.csv: unrecognised columns (Day, Spend, Team)"),
        ("binary.json", "binary.json: a binary file, not a JSON or CSV export"),
    ],
)
def test_unusable_files_are_one_clear_error_and_store_nothing(
    env: dict[str, str], name: str, message: str
) -> None:
    assert invoke_cli("import", str(IMPORTS / "generic.csv"), env=env).returncode == 0
    before = store_totals(env)
    result = invoke_cli("import", str(IMPORTS / name), env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert store_totals(env) == before


@pytest.mark.parametrize("name", ["empty.csv", "empty.json"])
def test_a_file_of_zero_rows_imports_nothing(env: dict[str, str], name: str) -> None:
    result = invoke_cli("import", str(IMPORTS / name), env=env)
    assert result.returncode == 0
    assert f"{name}: no usage rows; nothing imported" in result.stderr


def test_format_and_provider_overrides(env: dict[str, str]) -> None:
    forced = invoke_cli("import", str(IMPORTS / "generic.csv"), "--format", "gemini", env=env)
    assert forced.returncode == 0 and "2 skipped" in forced.stderr  # no Gemini counts in those rows
    wrong = invoke_cli("import", str(IMPORTS / "generic.csv"), "--format", "bedrock", env=env)
    assert (
        wrong.returncode == 2
        and "--format: choose one of anthropic, litellm, openai, gemini, generic" in wrong.stderr
    )
    priced = invoke_cli("import", str(IMPORTS / "gemini_usage.json"), "--provider", "google", env=env)
    assert priced.returncode == 0
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    with store.connect(db, read_only=True) as con:
        assert con.execute(
            "SELECT DISTINCT provider FROM events WHERE harness = 'gemini-api'"
        ).fetchall() == [("google",)]


def test_generic_rows_keep_their_project_and_well_known_models_their_provider(env: dict[str, str]) -> None:
    assert invoke_cli("import", str(IMPORTS / "generic_known_models.csv"), env=env).returncode == 0
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    with store.connect(db, read_only=True) as con:
        rows = con.execute("SELECT model, provider, project FROM events ORDER BY model").fetchall()
    assert rows == [
        ("claude-sonnet-4-5", "anthropic", "beta"),
        ("gpt-4o", "openai", "alpha"),
        ("my-own-model", None, None),  # unknown to genai-prices: no provider is guessed
    ]
    projects = json.loads(invoke_cli("report", "project", "--json", "--no-ingest", env=env).stdout)["rows"]
    assert {row["key"] for row in projects} == {"alpha", "beta", "(unknown)"}
