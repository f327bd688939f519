"""SQL pricing agrees with genai-prices' own calc_price; unknown models are NULL, never $0."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from agent_usage import pricing, store
from agent_usage.errors import ConfigError
from agent_usage.records import UsageEvent

MODELS = [
    ("anthropic", "claude-opus-4-7"),
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-6"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-5.3-codex"),
    ("openai", "gpt-5"),
    ("google", "gemini-2.5-pro"),
    ("google", "gemini-3-flash-preview"),
]


def _event(i: int, provider: str, model: str, rng: random.Random) -> UsageEvent:
    big = rng.random() < 0.3  # some requests over the 200k tier
    cw = rng.randint(0, 5_000) if provider == "anthropic" else 0
    return UsageEvent(
        event_key=f"k{i}",
        ts=datetime(2026, rng.choice([1, 2, 4, 6]), rng.randint(1, 28), 12),
        harness="test",
        session_id="s",
        model=model,
        provider=provider,
        input_tokens=rng.randint(0, 3_000),
        cache_read_tokens=rng.randint(0, 260_000 if big else 90_000),
        cache_write_5m_tokens=cw,
        cache_write_1h_tokens=rng.randint(0, 2_000) if cw else 0,
        output_tokens=rng.randint(1, 4_000),
    )


def test_sql_cost_matches_calc_price(tmp_path: Path) -> None:
    rng = random.Random(11)
    events = [_event(i, *MODELS[i % len(MODELS)], rng) for i in range(400)]
    db = tmp_path / "s.duckdb"
    with store.connect(db) as con:
        store.write_batch(con, [store.encode_events(events)], [], [])
        pricing.refresh(con)
        got = dict(
            con.execute(
                f"SELECT e.event_key, {pricing.COST_SQL} FROM events e {pricing.PRICE_JOIN_SQL}"
            ).fetchall()
        )
    for event in events:
        writes = event.cache_write_5m_tokens + event.cache_write_1h_tokens
        usage = Usage(
            input_tokens=event.input_tokens + event.cache_read_tokens + writes,
            cache_read_tokens=event.cache_read_tokens,
            cache_write_tokens=writes,
            cache_write_1h_tokens=event.cache_write_1h_tokens,
            output_tokens=event.output_tokens,
        )
        oracle = calc_price(
            usage,
            event.model,
            provider_id=event.provider,
            genai_request_timestamp=event.ts.replace(tzinfo=UTC),
        ).total_price
        assert got[event.event_key] == pytest.approx(float(oracle), rel=1e-9, abs=1e-12), event


def test_unknown_model_costs_null_and_overrides_price_it(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    event = UsageEvent(
        event_key="x",
        ts=datetime(2026, 5, 1),
        harness="t",
        session_id="s",
        model="acme-coder-1",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
    )
    overrides = tmp_path / "prices.toml"
    with store.connect(db) as con:
        store.write_batch(con, [store.encode_events([event])], [], [])
        pricing.refresh(con, overrides)
        cost_sql = f"SELECT {pricing.COST_SQL} FROM events e {pricing.PRICE_JOIN_SQL}"
        assert con.execute(cost_sql).fetchone() == (None,)
        overrides.write_text('[models."acme-*"]\ninput = 2.0\noutput = 8.0\n')
        pricing.refresh(con, overrides)
        assert con.execute(cost_sql).fetchone() == (pytest.approx(10.0),)


def test_override_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text('[models."x"]\ninput = 1\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=f"{bad}: models.x: unknown keys"):
        pricing.load_overrides(bad)
