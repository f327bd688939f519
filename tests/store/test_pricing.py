"""SQL pricing agrees with genai-prices' own calc_price; unknown models are NULL, never $0."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from agent_usage import cost_sql, pricing, store
from agent_usage.errors import ConfigError
from agent_usage.queries import Filters, totals
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
    ("anthropic", "claude-opus-4-8"),  # has fast-mode rates
    ("anthropic", "claude-opus-5"),
]


CONTEXTS = {  # what each stored service tier is billed as, in genai-prices' terms
    "fast": {"speed": "fast", "service_tier": "fast"},
    "priority": {"service_tier": "priority"},
    "flex": {"service_tier": "flex"},
    "batch": {"processing": "batch"},
}
TIERS = {
    "anthropic": [None, None, "fast", "batch", "priority"],
    "openai": [None, None, "fast", "priority", "flex", "batch"],
    "google": [None, "batch", "flex"],
}


def _event(i: int, provider: str, model: str, rng: random.Random) -> UsageEvent:
    big = rng.random() < 0.3  # some requests over the 200k tier
    cw = rng.randint(0, 5_000) if provider == "anthropic" else 0
    return UsageEvent(
        event_key=f"k{i}",
        ts=datetime(2026, rng.choice([1, 2, 4, 6, 10, 11]), rng.randint(1, 28), 12),  # tier prices from 10-12
        harness="test",
        session_id="s",
        model=model,
        provider=provider,
        input_tokens=rng.randint(0, 3_000),
        cache_read_tokens=rng.randint(0, 260_000 if big else 90_000),
        cache_write_5m_tokens=cw,
        cache_write_1h_tokens=rng.randint(0, 2_000) if cw else 0,
        output_tokens=rng.randint(1, 4_000),
        service_tier=rng.choice(TIERS[provider]),
        web_search_requests=rng.choice([0, 0, 1, 7]),
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
                f"SELECT e.event_key, {cost_sql.COST_SQL} FROM events e {cost_sql.PRICE_JOIN_SQL}"
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
            web_searches=event.web_search_requests,
        )
        oracle = calc_price(
            usage,
            event.model,
            provider_id=event.provider,
            genai_request_timestamp=event.ts.replace(tzinfo=UTC),
            price_context=CONTEXTS.get(event.service_tier or ""),
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
        cost_query = f"SELECT {cost_sql.COST_SQL} FROM events e {cost_sql.PRICE_JOIN_SQL}"
        assert con.execute(cost_query).fetchone() == (None,)
        overrides.write_text('[models."acme-*"]\ninput = 2.0\noutput = 8.0\n')
        pricing.refresh(con, overrides)
        assert con.execute(cost_query).fetchone() == (pytest.approx(10.0),)


def test_override_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "prices.toml"
    bad.write_text('[models."x"]\ninput = 1\ncolour = "red"\n')
    with pytest.raises(ConfigError, match=f"{bad}: models.x: unknown keys"):
        pricing.load_overrides(bad)


def test_a_store_from_before_fast_mode_pricing_upgrades_on_a_read_only_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report right after an upgrade opens the old store read-only: it is migrated first, its
    fast-mode request keeps a price, and the next ingest prices it at the fast rate."""
    db = tmp_path / "old.duckdb"
    fast = UsageEvent(
        "cc:m:r", datetime(2026, 11, 2, 9), "claude-code", "s", "claude-opus-4-8",
        provider="anthropic", input_tokens=1_000_000, service_tier="fast",
    )  # fmt: skip
    with monkeypatch.context() as patch:
        patch.setattr(
            store.migrations, "MIGRATIONS", store.migrations.MIGRATIONS[:3]
        )  # the schema as 2026-11-22 wrote it
        with store.connect(db) as con:
            old_columns = [
                c
                for c in store.EVENT_COLUMNS
                if c not in ("web_search_requests", "git_remote", "session_total")
            ]
            con.execute(
                f"INSERT INTO events ({', '.join(old_columns)}) VALUES ({', '.join('?' * len(old_columns))})",
                [getattr(fast, column) for column in old_columns],
            )
            for row in pricing.resolve("anthropic", "claude-opus-4-8", {}):
                if row.variant == "standard":
                    old_row = row.as_tuple()[:-2]  # no variant or web search columns yet
                    con.execute(f"INSERT INTO prices VALUES ({', '.join('?' * len(old_row))})", list(old_row))
            store.set_meta(con, "prices_version", "an older version")
    env = {**os.environ, "HOME": str(tmp_path), "AGENT_USAGE_HOME": str(tmp_path / "au"), "TZ": "UTC"}

    def cost(*flags: str) -> float:
        report = [sys.executable, "-m", "agent_usage", "report", "monthly", "--json", "--db", str(db)]
        result = subprocess.run([*report, *flags], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["totals"]["cost_usd"]

    with store.connect(db, read_only=True) as con:  # migrated on a read-only open
        assert totals(con, Filters()).cost_usd == pytest.approx(5.0)  # the fast twin holds the old rate
    assert cost("--no-ingest") == pytest.approx(10.0)  # a new price source re-prices, ingest or not
    assert cost() == pytest.approx(10.0)  # fast mode is $10/M input
