"""OTLP traces: one `chat {model}` span per usage event, each sent to a destination once.

The org dashboard (token-tracker) stores one row per span without a unique key, so a span
sent twice is counted twice there. `exported_spans` records the event keys a destination
has accepted; it grows only after the endpoint answered 2xx for the whole batch, so a
crash, a timeout or a restart re-sends at most the batch in flight and never skips one.
Span and trace ids are derived from the event key and the session, so a backend that does
deduplicate sees the same ids again.

Token attributes follow the dashboard: `gen_ai.usage.input_tokens` is input *without* cache
reads and writes (those have their own attributes), as pi and the dashboard count it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from agent_usage.exporters.identity import Identity, Privacy, session_uuid
from agent_usage.exporters.metrics import provider_name
from agent_usage.pricing import COST_SQL, PRICE_JOIN_SQL, component_cost_sql

BATCH_SPANS = 200
"""Spans per request (about 400 KB as JSON); `delivery.MAX_BODY_BYTES` splits any bigger body."""

_COMPONENTS = (
    ("agent.cost.input.usd", "input_tokens", "input"),
    ("agent.cost.output.usd", "output_tokens", "output"),
    ("agent.cost.cache_read.usd", "cache_read_tokens", "cache_read"),
)

_PENDING_SQL = f"""
    SELECT e.event_key, e.ts, e.harness, e.harness_version, e.session_id, e.parent_session_id,
           e.provider, e.model, e.input_tokens, e.output_tokens, e.cache_read_tokens,
           e.cache_write_5m_tokens + e.cache_write_1h_tokens, e.reasoning_tokens,
           nullif(e.cost_reported_usd, 0), {COST_SQL},
           {", ".join(component_cost_sql(column, key) for _, column, key in _COMPONENTS)},
           {component_cost_sql("cache_write_5m_tokens", "cache_write_5m")}
             + {component_cost_sql("cache_write_1h_tokens", "cache_write_1h")},
           e.project, e.cwd, e.git_branch
    FROM events e {PRICE_JOIN_SQL}
    ANTI JOIN (SELECT event_key FROM exported_spans WHERE destination = $destination) s
        ON s.event_key = e.event_key
    ORDER BY e.ts, e.event_key
    LIMIT $limit
"""


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


def pending(con: duckdb.DuckDBPyConnection, destination: str, limit: int) -> list[PendingEvent]:
    """The oldest events the destination has not accepted yet."""
    rows = con.execute(_PENDING_SQL, {"destination": destination, "limit": limit}).fetchall()
    return [PendingEvent(*row) for row in rows]


def pending_count(con: duckdb.DuckDBPyConnection, destination: str) -> int:
    row = con.execute(
        """SELECT count(*) FROM events e ANTI JOIN
           (SELECT event_key FROM exported_spans WHERE destination = ?) s ON s.event_key = e.event_key""",
        [destination],
    ).fetchone()
    return int(row[0]) if row else 0


def mark_sent(con: duckdb.DuckDBPyConnection, destination: str, event_keys: Sequence[str]) -> None:
    """Advance the destination's watermark by the keys of one accepted batch."""
    con.execute(
        "INSERT INTO exported_spans SELECT ?, unnest(?::VARCHAR[]), now()::TIMESTAMP",
        [destination, list(event_keys)],
    )


def _id(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:size], "big")
    return value or 1


def span_attributes(event: PendingEvent, ident: Identity, privacy: Privacy) -> dict[str, Any]:
    """The `gen_ai.*` and `agent.*` attributes of one event's span."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider_name(event.provider),
        "gen_ai.request.model": event.model,
        "gen_ai.response.model": event.model,
        "gen_ai.conversation.id": event.session_id,
        "gen_ai.usage.input_tokens": event.input_tokens,
        "gen_ai.usage.output_tokens": event.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": event.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": event.cache_write_tokens,
        "gen_ai.usage.cache_write.input_tokens": event.cache_write_tokens,
        "gen_ai.usage.reasoning.output_tokens": event.reasoning_tokens,
        "agent.event.kind": "turn",
        "agent.harness.name": event.harness,
        "agent.session.id": session_uuid(event.harness, event.session_id),
        "agent.user.id": ident.user,
        "agent.machine.id": ident.machine,
    }
    if event.harness_version:
        attributes["agent.harness.version"] = event.harness_version
    if event.parent_session_id:
        attributes["agent.parent.session_id"] = session_uuid(event.harness, event.parent_session_id)
    optional = {
        "agent.project.name": privacy.project(event.project),
        "agent.workspace.cwd": privacy.path(event.cwd),
        "agent.workspace.branch": privacy.path(event.git_branch),
    }
    attributes.update({key: value for key, value in optional.items() if value is not None})
    if event.cost_reported is not None:
        attributes["agent.cost.total.usd"] = float(event.cost_reported)
        attributes["agent.cost.source"] = "reported"
    elif event.cost_calculated is not None:
        attributes["agent.cost.total.usd"] = float(event.cost_calculated)
        attributes["agent.cost.source"] = "calculated"
        attributes["agent.cost.input.usd"] = float(event.cost_input or 0)
        attributes["agent.cost.output.usd"] = float(event.cost_output or 0)
        attributes["agent.cost.cache_read.usd"] = float(event.cost_cache_read or 0)
        attributes["agent.cost.cache_write.usd"] = float(event.cost_cache_write or 0)
    else:
        attributes["agent.cost.estimation"] = "unreported"
    return attributes


def build_request(events: Sequence[PendingEvent], ident: Identity, privacy: Privacy):  # noqa: ANN201
    """The ExportTraceServiceRequest carrying one ended CLIENT span per event."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

    from agent_usage import __version__

    resource = Resource(ident.resource_attributes)
    scope = InstrumentationScope("agent_usage", __version__)
    spans = []
    for event in events:
        start = int(event.ts.replace(tzinfo=UTC).timestamp() * 1_000_000) * 1000
        context = SpanContext(
            trace_id=_id(f"{event.harness}:{event.session_id}", 16),
            span_id=_id(event.event_key, 8),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        spans.append(
            ReadableSpan(
                name=f"chat {event.model}",
                context=context,
                resource=resource,
                attributes=span_attributes(event, ident, privacy),
                kind=SpanKind.CLIENT,
                start_time=start,
                end_time=start,
                instrumentation_scope=scope,
            )
        )
    return encode_spans(spans)
