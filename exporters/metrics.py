"""OTLP metrics: cumulative monotonic sums of all-time totals, handed over at each tick.

Why totals and not deltas: the store is the durable history, so every tick can say "this is
everything so far" and a restart, a rebuilt store or a second run sends the same numbers
again instead of adding to them. Two things keep backends from seeing a reset:
- each series' start time is its first event, pinned in `export_series` once exported;
- a value never goes below what was last accepted (a price change or a lost source file
  would otherwise lower a counter, which every backend reads as a reset).
Series carry harness, provider, model, project, user and machine; never a session or a date.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from agent_usage.budgets import BudgetStatus
from agent_usage.export_queries import AcceptedSeries, ModelTotals, ProjectTotals, SeriesRow
from agent_usage.exporters.identity import Identity, Privacy
from agent_usage.exporters.semconv import METRICS, MetricSpec, provider_name


@dataclass(frozen=True, slots=True)
class Point:
    """One series of one metric: attributes, pinned start (ns) and the all-time value."""

    metric: str
    attributes: dict[str, str]
    start_ns: int
    value: float

    @property
    def series(self) -> str:
        return orjson.dumps(self.attributes, option=orjson.OPT_SORT_KEYS).decode()


def _ns(ts: datetime) -> int:
    return int(ts.replace(tzinfo=UTC).timestamp() * 1_000_000) * 1000


def _series_attributes(
    spec: MetricSpec,
    harness: str,
    project: str | None,
    provider: str | None,
    model: str | None,
    ident: Identity,
) -> dict[str, str]:
    attributes = {"agent.harness.name": harness}
    if spec.by_model:
        attributes["gen_ai.operation.name"] = "chat"
        attributes["gen_ai.provider.name"] = provider_name(provider)
        attributes["gen_ai.request.model"] = model or "unknown"
    if spec.token_type:
        attributes["gen_ai.token.type"] = spec.token_type
    if project:
        attributes["agent.project.name"] = project
    attributes["agent.user.id"] = ident.user
    attributes["agent.machine.id"] = ident.machine
    return attributes


def current_points(
    models: Sequence[ModelTotals], projects: Sequence[ProjectTotals], ident: Identity
) -> list[Point]:
    """Points of every metric from the store's all-time totals; start time = the first event."""
    points: list[Point] = []
    for totals in models:
        for spec in METRICS:
            if not spec.by_model:
                continue
            value = getattr(totals, spec.total)
            if value is None:  # an unpriced model has no cost series, never a $0 one
                continue
            attributes = _series_attributes(
                spec, totals.harness, totals.project, totals.provider, totals.model, ident
            )
            points.append(Point(spec.name, attributes, _ns(totals.first_ts), _stable(value)))
    for group in projects:
        for spec in METRICS:
            if spec.by_model:
                continue
            attributes = _series_attributes(spec, group.harness, group.project, None, None, ident)
            value = getattr(group, spec.total)
            points.append(Point(spec.name, attributes, _ns(group.first_ts), _stable(value)))
    return _merge_duplicates(points)


VALUE_DECIMALS = 9
"""Totals are sent to a billionth (of a dollar): a float sum depends on the order of its rows,
and a store rebuilt from the same files once summed a cost to 0.11399999999999999 instead of
0.114. A cumulative counter that drops, even by 1e-17, reads as a reset to Prometheus."""


def _stable(value: float | int) -> float:
    """A total that does not depend on the order its rows were summed in."""
    return round(float(value), VALUE_DECIMALS)


def _merge_duplicates(points: Iterable[Point]) -> list[Point]:
    """Providers that map to one `gen_ai.provider.name` become one series."""
    merged: dict[tuple[str, str], Point] = {}
    for point in points:
        key = (point.metric, point.series)
        seen = merged.get(key)
        if seen is None:
            merged[key] = point
        else:
            merged[key] = Point(
                point.metric,
                point.attributes,
                min(seen.start_ns, point.start_ns),
                _stable(seen.value + point.value),
            )
    return list(merged.values())


def profile(ident: Identity, privacy: Privacy) -> str:
    """What shapes a series' attributes besides the data: a change starts a new set of series."""
    return f"{ident.user}|{ident.machine}|projects={privacy.projects}"


def pinned(accepted: Sequence[AcceptedSeries], points: Sequence[Point], current_profile: str) -> list[Point]:
    """Apply the accepted start times and high-water values; keep series the store lost.

    Lost series are carried on only for the current profile, so switching `--project-names`
    to hash or drop never re-sends the clear names recorded before.
    """
    known = {(seen.metric, seen.series): seen for seen in accepted}
    result: list[Point] = []
    for point in points:
        seen = known.pop((point.metric, point.series), None)
        if seen is None:
            result.append(point)
        else:
            result.append(Point(point.metric, point.attributes, seen.start_ns, max(point.value, seen.value)))
    for seen in known.values():
        if seen.profile == current_profile:
            result.append(Point(seen.metric, orjson.loads(seen.series), seen.start_ns, seen.value))
    return result


def accepted_rows(points: Sequence[Point], current_profile: str) -> list[SeriesRow]:
    """What to remember once the endpoint accepted `points`: each series' start time and value."""
    return [(p.metric, p.series, p.start_ns, p.value, current_profile) for p in points]


BUDGET_GAUGES = (
    ("agent.budget.limit", "The budget's limit for its current period, USD."),
    ("agent.budget.spend", "Spend in the budget's current calendar period, USD (resets each period)."),
)
"""Gauges, not counters: a period's spend starts again at 0 when the period turns."""


def budget_points(statuses: Sequence[BudgetStatus], ident: Identity) -> list[Point]:
    """A limit and a spend point per configured budget."""
    points = []
    for status in statuses:
        budget = status.budget
        attributes = {
            "agent.budget.name": budget.name,
            "agent.budget.period": budget.period,
            "agent.budget.scope": budget.scope,
            "agent.budget.status": status.status,
            "agent.user.id": ident.user,
            "agent.machine.id": ident.machine,
        }
        if budget.value is not None:
            attributes["agent.budget.scope.value"] = budget.value
        for (name, _), value in zip(BUDGET_GAUGES, (budget.limit_usd, status.spend_usd), strict=True):
            points.append(Point(name, attributes, _ns(status.since), value))
    return points


def build_request(  # noqa: ANN201
    points: Sequence[Point], ident: Identity, now_ns: int | None = None, gauges: Sequence[Point] = ()
):
    """The ExportMetricsServiceRequest: every counter a cumulative monotonic sum, plus gauges."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.sdk.metrics.export import (
        AggregationTemporality,
        Gauge,
        Metric,
        MetricsData,
        NumberDataPoint,
        ResourceMetrics,
        ScopeMetrics,
        Sum,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope

    from agent_usage import __version__

    now_ns = now_ns or time.time_ns()
    metrics = []
    for spec in METRICS:
        data_points = [
            NumberDataPoint(
                attributes=p.attributes,
                start_time_unix_nano=p.start_ns,
                time_unix_nano=max(now_ns, p.start_ns),
                value=int(p.value) if spec.is_int else p.value,
            )
            for p in points
            if p.metric == spec.name
        ]
        if data_points:
            data = Sum(data_points, AggregationTemporality.CUMULATIVE, is_monotonic=True)
            metrics.append(Metric(spec.name, spec.description, spec.unit, data))
    for name, description in BUDGET_GAUGES:
        gauge_points = [
            NumberDataPoint(
                attributes=p.attributes, start_time_unix_nano=p.start_ns, time_unix_nano=now_ns, value=p.value
            )
            for p in gauges
            if p.metric == name
        ]
        if gauge_points:
            metrics.append(Metric(name, description, "USD", Gauge(gauge_points)))
    scope = InstrumentationScope("agent_usage", __version__)
    resource_metrics = ResourceMetrics(
        Resource(ident.resource_attributes), [ScopeMetrics(scope, metrics, "")], ""
    )
    return encode_metrics(MetricsData([resource_metrics]))
