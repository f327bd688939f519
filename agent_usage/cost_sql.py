"""The cost of an event, in SQL: an event's tokens times the rates of the one `prices` row it
joins (its model, provider, date and service tier), above a tier threshold at the tier rates.

Read by the query side only (`queries`, `export_queries`); the rates themselves are written
by `pricing`. An unknown model's cost is NULL, never $0.
"""

from __future__ import annotations

from agent_usage.errors import ConfigError
from agent_usage.pricing import RATE_KEYS, VARIANTS


def _cost_expression(prefix: str) -> str:
    tokens = (
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
    )
    return " + ".join(f"e.{t} * p.{prefix}{k}" for t, k in zip(tokens, RATE_KEYS, strict=True))


_TIERED = """p.tier_start IS NOT NULL AND NOT coalesce(e.session_total, false)
              AND e.input_tokens + e.cache_read_tokens
              + e.cache_write_5m_tokens + e.cache_write_1h_tokens > p.tier_start"""
"""The request's input is above its model's tier threshold (e.g. 200k for long-context rates);
a session's total is many requests, none known to be above it."""

COST_SQL = f"""
    CASE WHEN p.input IS NULL THEN NULL
         ELSE CASE WHEN {_TIERED} THEN ({_cost_expression("tier_")}) / 1e6
                   ELSE ({_cost_expression("")}) / 1e6 END
              + coalesce(e.web_search_requests * p.web_search / 1e3, 0) END
"""
"""Calculated USD cost of event `e` priced by the matching `prices` row `p`: its tokens, and
its web searches at the per-search price (none where the model has no such price)."""


def component_cost_sql(token_column: str, rate_key: str) -> str:
    """Calculated USD cost of one token kind of event `e` (the tier rate above the threshold)."""
    return f"""
    CASE WHEN p.input IS NULL THEN NULL
         WHEN {_TIERED} THEN e.{token_column} * p.tier_{rate_key} / 1e6
         ELSE e.{token_column} * p.{rate_key} / 1e6 END"""


_TIERS = ", ".join(f"'{name}'" for name in VARIANTS if name != "standard")
PRICE_JOIN_SQL = f"""
    LEFT JOIN prices p ON p.model = e.model AND p.provider IS NOT DISTINCT FROM e.provider
        AND e.ts >= p.valid_from AND e.ts < p.valid_to
        AND p.variant = CASE WHEN e.service_tier IN ({_TIERS}) THEN e.service_tier ELSE 'standard' END
"""

COST_MODES = ("auto", "calculate", "display")


def cost_for_mode(mode: str) -> str:
    """SQL for an event's cost under a mode; auto takes a non-zero reported cost, else calculates.

    A recorded cost of 0 next to real tokens is a known pi bug, so auto recomputes it.
    """
    if mode == "calculate":
        return f"({COST_SQL})"
    if mode == "display":
        return "e.cost_reported_usd"
    if mode == "auto":
        return f"coalesce(nullif(e.cost_reported_usd, 0), {COST_SQL})"
    raise ConfigError(f"unknown cost mode {mode!r}; choose one of {', '.join(COST_MODES)}")
