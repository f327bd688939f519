"""GitHub Copilot CLI: the JSON lines its OpenTelemetry file exporter writes
(`COPILOT_OTEL_FILE_EXPORTER_PATH`), and `*.jsonl` files in `~/.copilot/otel/`.

Copilot CLI keeps no per-call usage in its own session files (`assistant.usage` events are
never persisted; `session.shutdown` holds per-process totals only). With its OTel file
exporter on, every model call is a `chat` span with GenAI usage attributes. Traps handled
here (see docs/harnesses.md):
- `invoke_agent` spans repeat the total of their `chat` spans, the inference log records and
  the token-usage metric repeat each call again: only `chat` spans count;
- the exporter appends to one file across sessions: the key is the span's trace and span id;
- `gen_ai.usage.input_tokens` includes the cache (OTel GenAI conventions), so the cache read
  (and the cache write, when the input holds it) is taken out; the reasoning count is part of
  the output.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    check_skipped_line,
    count,
    home_dir,
    load_line,
    parse_ts,
    relative_parts,
    text,
)
from agent_usage.records import UsageEvent

HARNESS = "copilot-cli"
ENV_VARS = ("COPILOT_OTEL_FILE_EXPORTER_PATH", "COPILOT_HOME")
NEEDLES = (b'"gen_ai.usage.',)
PROVIDER = "github-copilot"
"""Copilot bills through GitHub whatever the model's vendor (`gen_ai.provider.name` is `github`)."""
_CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens")
_REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
_SESSION = ("gen_ai.conversation.id", "session.id", "github.copilot.interaction_id")


def roots(env: Mapping[str, str]) -> list[Path]:
    """The exporter's file itself (a root may be one file), and `otel/` of `COPILOT_HOME` or
    ~/.copilot, where other usage tools suggest keeping dated exporter files."""
    found = []
    configured = env.get("COPILOT_OTEL_FILE_EXPORTER_PATH", "").strip()
    if configured:
        found.append(Path(configured).expanduser())
    home = Path(env["COPILOT_HOME"]).expanduser() if env.get("COPILOT_HOME") else home_dir(env) / ".copilot"
    found.append(home / "otel")
    return found


def accepts(root: Path, path: str) -> bool:
    """The configured file, or a `*.jsonl` file directly in `otel/`."""
    if path == str(root):
        return True
    parts = relative_parts(root, path)
    return parts is not None and len(parts) == 1 and path.endswith(".jsonl")


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    try:
        yield from sorted(
            str(entry) for entry in root.iterdir() if entry.name.endswith(".jsonl") and entry.is_file()
        )
    except OSError as error:
        if on_error is not None and not isinstance(error, FileNotFoundError):
            on_error(str(root), error)


def appendable(path: Path) -> bool:
    return True


def _time(value: Any) -> datetime | None:
    """An OTel time: `[seconds, nanoseconds]` (the JS SDK's HrTime), or epoch ms / an ISO string."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(part, int) for part in value):
        try:
            return datetime.fromtimestamp(value[0] + value[1] / 1e9, UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_ts(value)


def _first(attributes: dict[str, Any], names: tuple[str, ...]) -> Any:
    return next((attributes[name] for name in names if attributes.get(name) is not None), None)


def _event(span: dict[str, Any], offset: int, ctx: FileContext) -> UsageEvent | None:
    attributes = span.get("attributes")
    if not isinstance(attributes, dict) or attributes.get("gen_ai.operation.name") != "chat":
        return None
    model = text(attributes.get("gen_ai.response.model")) or text(attributes.get("gen_ai.request.model"))
    ts = _time(span.get("endTime")) or _time(span.get("startTime"))
    span_id = text(span.get("spanId"))
    if model is None or ts is None or span_id is None:
        ctx.stats.bad(f"byte {offset}", "chat span without model, time or span id")
        return None
    prompt, output = (
        count(attributes.get("gen_ai.usage.input_tokens")),
        count(attributes.get("gen_ai.usage.output_tokens")),
    )
    cache_read = min(count(attributes.get("gen_ai.usage.cache_read.input_tokens")), prompt)
    cache_write = count(_first(attributes, _CACHE_WRITE))
    uncached = prompt - cache_read
    if uncached >= cache_write:  # the input holds the cache write too (OTel: all input tokens)
        uncached -= cache_write
    reasoning = count(_first(attributes, _REASONING))
    if reasoning > output:  # counted apart, not inside the output
        output += reasoning
    session = text(_first(attributes, _SESSION)) or text(span.get("traceId")) or ctx.path.stem
    return UsageEvent(
        event_key=f"copilot:{text(span.get('traceId'))}:{span_id}",
        ts=ts,
        harness=HARNESS,
        session_id=session,
        model=model,
        input_tokens=uncached,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=cache_write,
        output_tokens=output,
        reasoning_tokens=reasoning,
        provider=PROVIDER,
        message_id=text(attributes.get("gen_ai.response.id")),
        source_path=str(ctx.path),
        source_offset=offset,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """One event per `chat` span; other spans, log records and metrics are skipped."""
    for offset, raw in lines:
        if b'"gen_ai.usage.' not in raw or b'"chat' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        record = load_line(raw, offset, ctx)
        if record is None or record.get("type", "span") != "span" or "spanId" not in record:
            continue  # a log record (its span is inside `spanContext`) or a metric
        if event := _event(record, offset, ctx):
            yield event
