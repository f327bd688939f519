"""What the exporter reads from the store, as plain snapshots: all-time totals per series, the
series an endpoint already accepted, and the spans a destination has not accepted yet.

The exporters turn these into OTLP requests and never see SQL; the loop in `watch` opens the
store, calls these, and hands the results over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from agent_usage.cost_sql import COST_SQL, PRICE_JOIN_SQL, component_cost_sql, cost_for_mode

PROJECT_MODES = ("keep", "hash", "drop")


def exported_project_sql(column: str, mode: str) -> str:
    """The project as the exporter sends it, in SQL, so series group by the exported value.

    `hash` must equal `exporters.identity.short_hash` (the first 12 hex digits of SHA-256):
    a test holds the two together.
    """
    if mode == "drop":
        return "NULL::VARCHAR"
    if mode == "hash":
        return f"CASE WHEN nullif({column}, '') IS NULL THEN NULL ELSE left(sha256({column}), 12) END"
    return f"nullif({column}, '')"


@dataclass(frozen=True, slots=True)
class ModelTotals:
    """All-time totals of one (harness, exported project, provider, model) series group."""

    harness: str
    project: str | None
    provider: str | None
    model: str
    first_ts: datetime
    input_tokens: int
    """Input including cache reads and writes, as the GenAI conventions count it."""
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    """None when any request of the group has no price: never a $0 series."""
    requests: int


@dataclass(frozen=True, slots=True)
class ProjectTotals:
    """All-time sessions of one (harness, exported project)."""

    harness: str
    project: str | None
    first_ts: datetime
    sessions: int


def model_totals(con: duckdb.DuckDBPyConnection, projects: str = "keep") -> list[ModelTotals]:
    """Totals per harness, exported project, provider and model (cost in `auto` mode)."""
    project = exported_project_sql("e.project", projects)
    rows = con.execute(
        f"""
        WITH priced AS (SELECT e.*, {cost_for_mode("auto")} AS cost, {project} AS exported_project
                        FROM events e {PRICE_JOIN_SQL})
        SELECT harness, exported_project, provider, model, min(ts),
               sum(input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens),
               sum(output_tokens), sum(cache_read_tokens),
               sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(reasoning_tokens),
               sum(cost), count(*)
        FROM priced GROUP BY ALL
        """
    ).fetchall()
    return [ModelTotals(*row) for row in rows]


def project_totals(con: duckdb.DuckDBPyConnection, projects: str = "keep") -> list[ProjectTotals]:
    """Distinct sessions per harness and exported project (sessions have no model)."""
    project = exported_project_sql("e.project", projects)
    rows = con.execute(
        f"""
        SELECT harness, {project} AS exported_project, min(ts), count(DISTINCT session_id)
        FROM events e GROUP BY ALL
        """
    ).fetchall()
    return [ProjectTotals(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class AcceptedSeries:
    """A series as an endpoint last accepted it: its pinned start and its value."""

    metric: str
    series: str
    start_ns: int
    value: float
    profile: str


SeriesRow = tuple[str, str, int, float, str]
"""(metric, series, start_ns, value, profile): an `AcceptedSeries` as the store keeps it."""


def accepted_series(con: duckdb.DuckDBPyConnection) -> list[AcceptedSeries]:
    """Every series the exporter recorded as accepted."""
    rows = con.execute("SELECT metric, series, start_ns, value, profile FROM export_series").fetchall()
    return [AcceptedSeries(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """A usage event not yet accepted by the destination, with what its span needs."""

    event_key: str
    ts: datetime
    harness: str
    harness_version: str | None
    session_id: str
    parent_session_id: str | None
    provider: str | None
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_reported: float | None
    cost_calculated: float | None
    cost_input: float | None
    cost_output: float | None
    cost_cache_read: float | None
    cost_cache_write: float | None
    project: str | None
    cwd: str | None
    git_branch: str | None


_COMPONENTS: Sequence[tuple[str, str]] = (
    ("input_tokens", "input"),
    ("output_tokens", "output"),
    ("cache_read_tokens", "cache_read"),
)

_PENDING_SQL = f"""
    SELECT e.event_key, e.ts, e.harness, e.harness_version, e.session_id, e.parent_session_id,
           e.provider, e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens,
           e.cache_write_5m_tokens + e.cache_write_1h_tokens, e.reasoning_tokens,
           nullif(e.cost_reported_usd, 0), {COST_SQL},
           {", ".join(component_cost_sql(column, key) for column, key in _COMPONENTS)},
           {component_cost_sql("cache_write_5m_tokens", "cache_write_5m")}
             + {component_cost_sql("cache_write_1h_tokens", "cache_write_1h")},
           e.project, e.cwd, e.git_branch
    FROM events e {PRICE_JOIN_SQL}
    ANTI JOIN (SELECT event_key FROM exported_spans WHERE destination = $destination) s
        ON s.event_key = e.event_key
    ORDER BY e.ts, e.event_key
    LIMIT $limit
"""


def pending_spans(con: duckdb.DuckDBPyConnection, destination: str, limit: int) -> list[PendingEvent]:
    """The oldest events the destination has not accepted yet."""
    rows = con.execute(_PENDING_SQL, {"destination": destination, "limit": limit}).fetchall()
    return [PendingEvent(*row) for row in rows]


def pending_span_count(con: duckdb.DuckDBPyConnection, destination: str) -> int:
    """How many events the destination has not accepted yet."""
    row = con.execute(
        """SELECT count(*) FROM events e ANTI JOIN
           (SELECT event_key FROM exported_spans WHERE destination = ?) s ON s.event_key = e.event_key""",
        [destination],
    ).fetchone()
    return int(row[0]) if row else 0
