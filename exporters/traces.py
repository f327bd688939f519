"""OTLP traces: one `chat {model}` span per usage event, each sent to a destination once.

The org dashboard (token-tracker) stores one row per span without a unique key, so a span
sent twice is counted twice there. `exported_spans` records the event keys a destination
has accepted (`export_state.record_spans`, called by the loop); it grows only after the
endpoint answered 2xx for the whole batch, so nothing is skipped, and a crash or a timeout
re-sends only the batch in flight (see `delivery`).
Span and trace ids are derived from the event key and the session, so a backend that does
deduplicate sees the same ids again.

Token attributes follow the dashboard: `gen_ai.usage.input_tokens` is input *without* cache
reads and writes (those have their own attributes), as pi and the dashboard count it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from agent_usage.export_queries import PendingEvent
from agent_usage.exporters.identity import Identity, Privacy, session_uuid
from agent_usage.exporters.semconv import provider_name

BATCH_SPANS = 200
"""Spans per request (about 400 KB as JSON); `delivery.MAX_BODY_BYTES` splits any bigger body."""


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
