"""`agent-usage import FILE`: usage that did not come from a local agent (provider exports, proxy logs).

Each format is recognised by its columns (CSV header or JSON keys), and `--format` overrides
that. Rows become ordinary usage events under their own harness name (`anthropic-api`,
`openai-api`, `gemini-api`, `litellm`, `imported`). So they appear in every report, budget and
export, and their keys are built from the row's identity, so a re-import stores nothing
twice. Only numbers, model, time and ids are read. Prompt and response columns (LiteLLM's
`messages` and `response`) are never looked at.

- Anthropic usage report: `uncached_input_tokens`, `output_tokens`, optionally
  `cache_read_input_tokens`, `cache_creation` (5m/1h) and `server_tool_use.web_search_requests`
  (priced per search). The Admin API's JSON pages and flat CSV both work. Time from `starting_at`.
- OpenAI usage: `input_tokens` (includes cached), `input_cached_tokens`, `output_tokens`,
  `num_model_requests`. The JSON pages or CSV of the completions usage API. Time from
  `start_time` (unix seconds) or an ISO date.
- Gemini usage: `promptTokenCount`/`prompt_token_count` (includes cached),
  `candidatesTokenCount`, `cachedContentTokenCount`, `thoughtsTokenCount`, as logged from
  `usageMetadata`.
- LiteLLM spend logs: `request_id`, `startTime`, `model`, `prompt_tokens`,
  `completion_tokens`, `spend` (the recorded cost).
- Generic: `date`, `model`, `input_tokens`, `output_tokens`, optional `cache_read_tokens`,
  `cache_write_tokens`, `reasoning_tokens`, `cost_usd`, `provider`.

A bucketed export (Anthropic, OpenAI) turns each bucket row into one event, so its
requests count as one.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from agent_usage import store
from agent_usage.errors import UsageError
from agent_usage.parsers.base import MAX_TOKENS_PER_REQUEST, count, parse_ts
from agent_usage.records import UsageEvent

Row = Mapping[str, Any]


class RowError(ValueError):
    """A row that cannot become an event; it is skipped and counted, never fatal."""


@dataclass(frozen=True, slots=True)
class Format:
    name: str
    harness: str
    provider: str | None
    required: tuple[str, ...]
    convert: Callable[[Row, str | None], dict[str, Any]]

    def matches(self, columns: set[str]) -> bool:
        return all(any(alt in columns for alt in option.split("|")) for option in self.required)

    def check(self, row: Row) -> None:
        """A row without one of the required columns is skipped (a forced --format that does not fit)."""
        for option in self.required:
            if all(row.get(alt) in (None, "") for alt in option.split("|")):
                raise RowError(f"no {option.split('|')[0]} value")

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.required)})"


@dataclass(slots=True)
class ImportSummary:
    format: str = ""
    harness: str = ""
    rows: int = 0
    new_events: int = 0
    duplicates: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def _first(row: Row, *names: str) -> Any:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _table(row: Row, key: str) -> Row:
    """A nested object of the row (e.g. `cache_creation`), or an empty one."""
    value = row.get(key)
    return value if isinstance(value, dict) else {}


def _number(row: Row, *names: str) -> int:
    value = _first(row, *names)
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            value = float(value.replace(",", ""))
        except ValueError:
            raise RowError(f"{names[0]} is not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise RowError(f"{names[0]} is not a count of tokens: {value!r}")
    return count(value)


def _money(row: Row, *names: str) -> float | None:
    value = _first(row, *names)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RowError(f"{names[0]} is not an amount: {value!r}") from None


def _time(row: Row, *names: str) -> datetime:
    value = _first(row, *names)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # unix seconds or milliseconds
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    parsed = parse_ts(value.replace(" UTC", "Z").replace("Z", "+00:00") if isinstance(value, str) else value)
    if parsed is None:
        raise RowError(f"{names[0]} is not a time: {value!r}")
    return parsed


def _tier(row: Row) -> str | None:
    """The price variant a usage row was billed under (batch, priority, flex), else None."""
    batch = row.get("batch")
    if batch is True or (isinstance(batch, str) and batch.strip().lower() == "true"):
        return "batch"
    tier = row.get("service_tier")
    tier = tier.strip().lower() if isinstance(tier, str) else None
    return tier if tier in ("batch", "priority", "flex") else None


def _anthropic(row: Row, provider: str | None) -> dict[str, Any]:
    creation, server_tools = _table(row, "cache_creation"), _table(row, "server_tool_use")
    return {
        "ts": _time(row, "starting_at", "usage_date_utc", "date"),
        "model": _first(row, "model", "model_version") or "unknown",
        "input_tokens": _number(row, "uncached_input_tokens", "input_tokens_no_cache"),
        "cache_read_tokens": _number(row, "cache_read_input_tokens"),
        "cache_write_5m_tokens": _number(creation, "ephemeral_5m_input_tokens")
        or _number(row, "cache_creation_5m_input_tokens", "cache_creation_input_tokens"),
        "cache_write_1h_tokens": _number(creation, "ephemeral_1h_input_tokens")
        or _number(row, "cache_creation_1h_input_tokens"),
        "output_tokens": _number(row, "output_tokens"),
        "web_search_requests": _number(server_tools, "web_search_requests")
        or _number(row, "web_search_requests", "server_tool_use_web_search_requests"),
        "service_tier": _tier(row),
        "identity": (
            row.get("workspace_id"),
            row.get("api_key_id"),
            row.get("service_tier"),
            row.get("context_window"),
        ),
        "session": row.get("workspace_id") or row.get("api_key_id") or "organization",
    }


def _openai(row: Row, provider: str | None) -> dict[str, Any]:
    total_input = _number(row, "input_tokens", "n_context_tokens_total")
    cached = _number(row, "input_cached_tokens", "n_cached_context_tokens_total")
    if cached > total_input:
        raise RowError(f"input_cached_tokens ({cached}) exceeds input_tokens ({total_input})")
    return {
        "ts": _time(row, "start_time", "start_time_iso", "date", "timestamp"),
        "model": _first(row, "model", "snapshot_id") or "unknown",
        "input_tokens": total_input - cached,
        "cache_read_tokens": cached,
        "output_tokens": _number(row, "output_tokens", "n_generated_tokens_total"),
        "service_tier": _tier(row),
        "identity": (row.get("project_id"), row.get("api_key_id"), row.get("user_id"), row.get("batch")),
        "session": row.get("project_id") or row.get("api_key_id") or "organization",
    }


def _gemini(row: Row, provider: str | None) -> dict[str, Any]:
    prompt = _number(row, "promptTokenCount", "prompt_token_count")
    cached = _number(row, "cachedContentTokenCount", "cached_content_token_count")
    if cached > prompt:
        raise RowError(f"cachedContentTokenCount ({cached}) exceeds promptTokenCount ({prompt})")
    thoughts = _number(row, "thoughtsTokenCount", "thoughts_token_count")
    return {
        "ts": _time(row, "timestamp", "time", "date", "createTime"),
        "model": _first(row, "modelVersion", "model_version", "model") or "unknown",
        "input_tokens": prompt - cached,
        "cache_read_tokens": cached,
        "output_tokens": _number(row, "candidatesTokenCount", "candidates_token_count") + thoughts,
        "reasoning_tokens": thoughts,
        "identity": (row.get("responseId"), row.get("response_id")),
        "session": row.get("project") or row.get("project_id") or "gemini-api",
    }


def _litellm(row: Row, provider: str | None) -> dict[str, Any]:
    request_id = _first(row, "request_id")
    if request_id is None:
        raise RowError("request_id is empty")
    prompt = _number(row, "prompt_tokens")
    cached, written = 0, 0
    metadata = row.get("metadata")
    if isinstance(metadata, str) and metadata.startswith("{"):
        try:
            metadata = orjson.loads(metadata)
        except orjson.JSONDecodeError:
            metadata = None
    usage = metadata.get("usage_object") if isinstance(metadata, dict) else None
    if isinstance(usage, dict):
        details = _table(usage, "prompt_tokens_details")
        cached = min(_number(details, "cached_tokens") or _number(usage, "cache_read_input_tokens"), prompt)
        written = min(_number(usage, "cache_creation_input_tokens"), prompt - cached)
    return {
        "ts": _time(row, "startTime", "start_time"),
        "model": _first(row, "model", "model_group") or "unknown",
        "input_tokens": prompt - cached - written,
        "cache_read_tokens": cached,
        "cache_write_5m_tokens": written,
        "output_tokens": _number(row, "completion_tokens"),
        "cost_reported_usd": _money(row, "spend"),
        "provider": _first(row, "custom_llm_provider"),
        "identity": (request_id,),
        "session": _first(row, "session_id", "end_user", "user") or "litellm",
    }


def _generic(row: Row, provider: str | None) -> dict[str, Any]:
    return {
        "ts": _time(row, "date", "timestamp", "time"),
        "model": _first(row, "model") or "unknown",
        "input_tokens": _number(row, "input_tokens"),
        "cache_read_tokens": _number(row, "cache_read_tokens"),
        "cache_write_5m_tokens": _number(row, "cache_write_tokens"),
        "output_tokens": _number(row, "output_tokens"),
        "reasoning_tokens": _number(row, "reasoning_tokens"),
        "cost_reported_usd": _money(row, "cost_usd", "cost"),
        "provider": _first(row, "provider"),
        "project": _first(row, "project"),
        "identity": (row.get("id"), row.get("project"), row.get("api_key")),
        "session": row.get("project") or "imported",
    }


FORMATS: tuple[Format, ...] = (
    Format(
        "anthropic",
        "anthropic-api",
        "anthropic",
        ("uncached_input_tokens|input_tokens_no_cache", "output_tokens"),
        _anthropic,
    ),
    Format(
        "litellm", "litellm", None, ("request_id", "prompt_tokens", "completion_tokens", "spend"), _litellm
    ),
    Format(
        "openai",
        "openai-api",
        "openai",
        (
            "input_tokens|n_context_tokens_total",
            "output_tokens|n_generated_tokens_total",
            "num_model_requests",
        ),
        _openai,
    ),
    Format(
        "gemini",
        "gemini-api",
        "google",
        ("promptTokenCount|prompt_token_count", "candidatesTokenCount|candidates_token_count"),
        _gemini,
    ),
    Format(
        "generic",
        "imported",
        None,
        ("date|timestamp|time", "model", "input_tokens", "output_tokens"),
        _generic,
    ),
)
FORMAT_NAMES = tuple(f.name for f in FORMATS)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The records of a CSV or JSON file; API pages are flattened, each result keeping its bucket's time."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from error
    if b"\x00" in raw[:8192]:
        raise UsageError(f"{path}: a binary file, not a JSON or CSV export")
    text = raw.lstrip()
    if text[:1] in (b"{", b"["):
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise UsageError(f"{path}: not valid JSON ({str(error).split(':')[0]})") from None
        return list(_json_records(path, data))
    try:
        decoded = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: neither JSON nor UTF-8 CSV") from None
    reader = csv.DictReader(io.StringIO(decoded))
    rows = [dict(row) for row in reader]
    if not rows and reader.fieldnames:  # a header alone: its columns must still be a format's
        detect(path, [dict.fromkeys(reader.fieldnames, "")], None)
    return rows


def _json_records(path: Path, data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise UsageError(f"{path}: expected a list of records or an API page with a `data` list")
    for item in data:
        if isinstance(item, dict) and isinstance(item.get("results"), list):  # a time bucket
            bucket = {k: v for k, v in item.items() if k != "results"}
            for result in item["results"]:
                if isinstance(result, dict):
                    yield {**bucket, **result}
        elif isinstance(item, dict):
            yield item


def detect(path: Path, rows: list[dict[str, Any]], forced: str | None) -> Format:
    if forced is not None:
        for fmt in FORMATS:
            if fmt.name == forced:
                return fmt
        raise UsageError(f"--format: choose one of {', '.join(FORMAT_NAMES)}")
    columns = set().union(*(row.keys() for row in rows[:50]))
    for fmt in FORMATS:
        if fmt.matches(columns):
            return fmt
    shown = ", ".join(sorted(columns)[:12]) + (" ..." if len(columns) > 12 else "")
    expected = "; ".join(fmt.describe() for fmt in FORMATS)
    raise UsageError(f"{path}: unrecognised columns ({shown}); expected one of: {expected}")


def _event(fmt: Format, fields: dict[str, Any], provider: str | None, path: str, index: int) -> UsageEvent:
    identity = "|".join(
        str(part) for part in (fields["ts"].isoformat(), fields["model"], *fields.pop("identity"))
    )
    key = f"{fmt.harness}:{hashlib.blake2b(identity.encode(), digest_size=12).hexdigest()}"
    session = f"{fmt.harness}:{fields.pop('session')}:{fields['ts'].date().isoformat()}"
    fields["provider"] = provider or fields.get("provider") or fmt.provider or _provider_of(fields["model"])
    event = UsageEvent(
        event_key=key,
        harness=fmt.harness,
        session_id=session,
        source_path=path,
        source_offset=index,
        **fields,
    )
    if event.total_tokens > MAX_TOKENS_PER_REQUEST * 1000:  # a bucket sums many requests
        raise RowError(f"absurd token count {event.total_tokens}")
    event.rank = event.total_tokens  # a later, fuller export of a bucket wins
    return event


@functools.cache
def _provider_of(model: str) -> str | None:
    """The provider genai-prices knows a model by (gpt-4o: openai), for rows that do not say."""
    from genai_prices import data_snapshot

    try:
        found, _ = data_snapshot.get_snapshot().find_provider_model(model, None, None, None)
    except LookupError:
        return None
    return str(found.id)


def import_file(
    db_path: Path, path: Path, forced_format: str | None = None, provider: str | None = None,
    prices_file: Path | None = None,
) -> ImportSummary:  # fmt: skip
    """Read `path`, store its rows as events (a re-import adds nothing), and price new models."""
    rows = read_rows(path)
    summary = ImportSummary(rows=len(rows))
    if not rows:
        return summary
    fmt = detect(path, rows, forced_format)
    summary.format, summary.harness = fmt.name, fmt.harness
    events = []
    source = str(path.resolve())
    for index, row in enumerate(rows, start=1):
        try:
            fmt.check(row)
            events.append(_event(fmt, fmt.convert(row, provider), provider, source, index))
        except RowError as error:
            summary.skipped += 1
            if len(summary.problems) < 5:
                summary.problems.append(f"{path}: row {index}: {error}")
    result = store.commit_events(db_path, [store.encode_events(events)], prices_file=prices_file)
    summary.new_events, summary.duplicates = result.new_events, result.duplicates
    return summary
