"""The read API over the store: filters pushed into SQL, typed rows out.

Renderers, the TUI and the exporters call these functions; nothing here imports rich or
textual. Cost is computed in SQL from the `prices` table (see `pricing.COST_SQL`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from agent_usage.pricing import PRICE_JOIN_SQL, cost_for_mode

GROUPINGS: dict[str, str] = {
    "day": "strftime(timezone(?, timezone('UTC', e.ts)), '%Y-%m-%d')",
    "month": "strftime(timezone(?, timezone('UTC', e.ts)), '%Y-%m')",
    "hour": "strftime(timezone(?, timezone('UTC', e.ts)), '%Y-%m-%d %H:00')",
    "session": "e.session_id",
    "project": "coalesce(e.project, '(unknown)')",
    "model": "e.model",
    "harness": "e.harness",
}


@dataclass(frozen=True, slots=True)
class Filters:
    """Which events a query covers; times are naive UTC, `tz` decides calendar grouping."""

    since: datetime | None = None
    until: datetime | None = None
    harnesses: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    tz: str = "UTC"
    mode: str = "auto"

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions on `e` and their parameters."""
        clauses, params = ["TRUE"], []
        if self.since is not None:
            clauses.append("e.ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("e.ts < ?")
            params.append(self.until)
        for column, values in (
            ("harness", self.harnesses),
            ("project", self.projects),
            ("model", self.models),
        ):
            if values:
                clauses.append(f"e.{column} IN (SELECT unnest(?))")
                params.append(list(values))
        return " AND ".join(clauses), params


@dataclass(slots=True)
class UsageRow:
    """Token and cost totals of one group (a day, a model, a session, ... or everything)."""

    key: str
    events: int = 0
    sessions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    unpriced_events: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    first_ts: datetime | None = None
    last_ts: datetime | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


def usage_rows(con: duckdb.DuckDBPyConnection, group: str | None, filters: Filters) -> list[UsageRow]:
    """Totals per group (or one row for everything when `group` is None), ordered by key."""
    cost = cost_for_mode(filters.mode)
    key_sql = GROUPINGS[group] if group else "'total'"
    key_params: list[Any] = [filters.tz] if group and "?" in key_sql else []
    where, params = filters.where()
    sql = f"""
        WITH priced AS (
            SELECT {key_sql} AS k, e.*, {cost} AS cost
            FROM events e {PRICE_JOIN_SQL}
            WHERE {where})
        SELECT k, count(*), count(DISTINCT session_id),
               sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
               sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(reasoning_tokens),
               sum(cost), count(*) FILTER (WHERE cost IS NULL),
               list(DISTINCT model ORDER BY model) FILTER (WHERE cost IS NULL),
               min(ts), max(ts)
        FROM priced GROUP BY k ORDER BY k
    """
    rows = con.execute(sql, key_params + params).fetchall()
    return [
        UsageRow(
            key=str(r[0]),
            events=r[1],
            sessions=r[2],
            input_tokens=int(r[3]),
            output_tokens=int(r[4]),
            cache_read_tokens=int(r[5]),
            cache_write_tokens=int(r[6]),
            reasoning_tokens=int(r[7]),
            cost_usd=float(r[8]) if r[8] is not None else None,
            unpriced_events=r[9],
            unpriced_models=list(r[10] or []),
            first_ts=r[11],
            last_ts=r[12],
        )
        for r in rows
    ]


def totals(con: duckdb.DuckDBPyConnection, filters: Filters) -> UsageRow:
    """One row with the totals of everything the filters select."""
    rows = usage_rows(con, None, filters)
    return rows[0] if rows else UsageRow(key="total")


def session_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Events per session id (used by doctor and tests)."""
    return dict(con.execute("SELECT session_id, count(*) FROM events GROUP BY 1").fetchall())


def unpriced_models(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Models with no known price, with their event counts, most used first."""
    return con.execute(
        """SELECT e.model, count(*) FROM events e
           WHERE EXISTS (SELECT 1 FROM prices p WHERE p.model = e.model
                         AND p.provider IS NOT DISTINCT FROM e.provider AND p.input IS NULL)
           GROUP BY 1 ORDER BY 2 DESC, 1"""
    ).fetchall()
