"""Demo sessions as GitHub Copilot CLI's OpenTelemetry file exporter writes them
(`otel/copilot-<day>.jsonl`): per turn an `invoke_agent` span holding the total of its `chat`
spans, one `chat` span per model call, and a tool span (the parser must count chat spans only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent_usage.demo.common import DemoWriter, pick

HARNESS = "copilot-cli"
ROOTS = {"COPILOT_HOME": "copilot-home"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("claude-sonnet-4.6", 0.6), ("gpt-5.4", 0.4))


def _time(ts: datetime) -> list[int]:
    """An OTel JS `HrTime`: [seconds, nanoseconds]."""
    stamp = ts.replace(tzinfo=UTC).timestamp()
    return [int(stamp), int(round(stamp % 1 * 1e9))]


def _span(
    out: DemoWriter,
    trace: str,
    name: str,
    start: datetime,
    end: datetime,
    attributes: dict[str, Any],
    parent: str | None = None,
) -> dict[str, Any]:
    return {
        "type": "span",
        "traceId": trace,
        "spanId": out.uid().replace("-", "")[:16],
        "parentSpanId": parent,
        "name": name,
        "kind": 2,
        "startTime": _time(start),
        "endTime": _time(end),
        "attributes": attributes,
        "status": {"code": 0},
    }


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One conversation of `turns` model calls, in turns of up to three calls."""
    rng, conversation = out.rng, out.uid()
    path = out.root / "copilot-home" / "otel" / f"copilot-{start:%Y-%m-%d}.jsonl"
    spans: list[dict[str, Any]] = []
    ts, left = start, turns
    while left:
        calls, trace = min(left, rng.randint(1, 3)), out.uid().replace("-", "")
        opening = {"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": conversation}
        agent = _span(out, trace, "invoke_agent", ts, ts, opening)
        totals = {"gen_ai.usage.input_tokens": 0, "gen_ai.usage.output_tokens": 0}
        for _ in range(calls):
            began, ts = ts, ts + timedelta(seconds=rng.randint(20, 200))
            model = pick(rng, MODELS)[0]
            cached = rng.randint(5_000, 60_000)
            usage = {
                "gen_ai.usage.input_tokens": cached + rng.randint(200, 4_000),
                "gen_ai.usage.output_tokens": rng.randint(60, 1_400),
                "gen_ai.usage.cache_read.input_tokens": cached,
            }
            for key in totals:
                totals[key] += usage[key]
            attributes = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "github",
                "gen_ai.request.model": model,
                "gen_ai.response.model": model,
                "gen_ai.conversation.id": conversation,
                **usage,
            }
            spans.append(_span(out, trace, f"chat {model}", began, ts, attributes, agent["spanId"]))
            tool = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "bash"}
            spans.append(_span(out, trace, "execute_tool bash", ts, ts, tool, agent["spanId"]))
            out.turn(HARNESS)
        agent["endTime"] = _time(ts)
        agent["attributes"].update(totals)  # the interaction's total: never counted
        spans.append(agent)
        left -= calls
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as handle:
        for span in spans:
            out.line(handle, span)
    out.corpus.files += not existed
    out.added_to(path, ts)  # the day's file holds sessions of other hours too
