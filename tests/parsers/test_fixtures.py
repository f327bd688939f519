"""Every double-counting trap has a fixture whose exact totals are pinned in expected.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.ingest import ingest
from agent_usage.parsers import PARSERS
from agent_usage.queries import Filters, session_counts, totals
from tests.conftest import FIXTURES, fixture_env

TRAPS = sorted((p.parent.parent.name, p.parent.name) for p in FIXTURES.glob("*/*/expected.json"))


def test_every_harness_has_fixtures() -> None:
    assert {harness for harness, _ in TRAPS} == set(PARSERS)


def _ingest_fixture(harness: str, trap: str, tmp_path: Path, home: Path) -> tuple[Path, dict, object]:
    db = tmp_path / "store.duckdb"
    summary = ingest(db, env=fixture_env(harness, FIXTURES / harness / trap, home))
    expected = json.loads((FIXTURES / harness / trap / "expected.json").read_text())
    return db, expected, summary


@pytest.mark.parametrize(("harness", "trap"), TRAPS)
def test_fixture_totals_are_exact(harness: str, trap: str, tmp_path: Path, isolated_home: Path) -> None:
    db, expected, summary = _ingest_fixture(harness, trap, tmp_path, isolated_home)
    with store.connect(db) as con:
        got = totals(con, Filters(mode="calculate"))
        raw = con.execute(
            "SELECT sum(cache_write_5m_tokens), sum(cache_write_1h_tokens) FROM events"
        ).fetchone()
        sessions = session_counts(con)
    assert got.events == expected["events"]
    assert got.input_tokens == expected["input_tokens"]
    assert got.cache_read_tokens == expected["cache_read_tokens"]
    assert (raw[0], raw[1]) == (expected["cache_write_5m_tokens"], expected["cache_write_1h_tokens"])
    assert got.output_tokens == expected["output_tokens"]
    assert got.reasoning_tokens == expected["reasoning_tokens"]
    assert summary.bad_lines == expected["bad_lines"]
    assert sessions == expected["sessions"]
    if "cost_usd" in expected:
        if expected["cost_usd"] is None:
            assert got.cost_usd is None
            assert got.unpriced_models == expected["unpriced_models"]
        else:
            assert got.cost_usd == pytest.approx(expected["cost_usd"], abs=1e-9)


@pytest.mark.parametrize(("harness", "trap"), TRAPS)
def test_ingest_twice_gives_the_same_rows(
    harness: str, trap: str, tmp_path: Path, isolated_home: Path
) -> None:
    db, _, first = _ingest_fixture(harness, trap, tmp_path, isolated_home)
    with store.connect(db) as con:
        before = con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
    second = ingest(db, env=fixture_env(harness, FIXTURES / harness / trap, isolated_home))
    with store.connect(db) as con:
        after = con.execute("SELECT * FROM events ORDER BY event_key").fetchall()
    assert after == before
    assert first.events_new == len(before)
    assert second.events_new == 0
    assert second.files_read <= 1  # only a file with a pending partial last line is looked at again


REPORTING_COST = [
    t
    for t in TRAPS
    if "cost_reported_usd" in json.loads((FIXTURES / t[0] / t[1] / "expected.json").read_text())
]


@pytest.mark.parametrize(("harness", "trap"), REPORTING_COST)
def test_cost_reported_is_kept(harness: str, trap: str, tmp_path: Path, isolated_home: Path) -> None:
    db, expected, _ = _ingest_fixture(harness, trap, tmp_path, isolated_home)
    with store.connect(db) as con:
        got = totals(con, Filters(mode="display"))
    assert got.cost_usd == pytest.approx(expected["cost_reported_usd"], abs=1e-9)


def test_a_new_harness_is_exported_under_its_name(tmp_path: Path, isolated_home: Path) -> None:
    """`agent.harness.name` is the parser's harness name, and the provider the file recorded."""
    from tests.conftest import run_cli

    env = {**fixture_env("qwen-code", FIXTURES / "qwen-code" / "endpoint-provider", isolated_home)}
    result = run_cli("watch", "--dry-run", env=env)  # in its own process: `watch` sets up logging
    assert result.returncode == 0, result.stderr
    documents, text, at = [], result.stdout, 0
    while at < len(text.rstrip()):
        document, at = json.JSONDecoder().raw_decode(text, at)
        documents.append(document)
        at += len(text[at:]) - len(text[at:].lstrip())
    spans = [
        span
        for document in documents
        if document["signal"] == "traces"
        for resource in document["request"]["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    assert len(spans) == 2
    attributes = [{a["key"]: next(iter(a["value"].values())) for a in s["attributes"]} for s in spans]
    assert {a["agent.harness.name"] for a in attributes} == {"qwen-code"}
    assert sorted(a["gen_ai.provider.name"] for a in attributes) == [
        "openrouter",
        "unknown",
    ]  # DashScope: none
