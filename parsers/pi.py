"""pi sessions: `~/.pi/agent/sessions/--<cwd>--/<ts>_<uuid>.jsonl` (or a flat custom dir).

Traps handled here (see docs/harnesses.md):
- `/fork`, `/clone` and branched sessions copy entries verbatim into a new file: the key
  is `responseId`, else (entry timestamp, provider, model, usage), global across files,
  and a copy read from a fork ranks below the original, so it stays with its session;
- pi records its own computed cost per message: kept as `cost_reported_usd`;
- usage on `compaction`/`branch_summary` entries and `toolResult` messages counts;
  copies inside `compaction.retainedTail` never do (they are not top-level entries);
- pi-ai < 0.63 stored cache-inclusive `input` for Google providers: detected by
  `totalTokens` and corrected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    check_skipped_line,
    count,
    env_paths,
    home_dir,
    load_line,
    parse_ts,
    project_name,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "pi"
ENV_VARS = ("PI_CODING_AGENT_DIR", "PI_CODING_AGENT_SESSION_DIR")
NEEDLES = (b'"usage"', b'"session"')
_USAGE_ENTRY_TYPES = ("message", "compaction", "branch_summary")
_PROVIDER_IDS = {"xai": "x-ai", "google-vertex": "google", "google-gemini-cli": "google"}


def roots(env: Mapping[str, str]) -> list[Path]:
    """`PI_CODING_AGENT_SESSION_DIR` and `PI_CODING_AGENT_DIR/sessions`, else ~/.pi/agent."""
    found = list(env_paths(env, "PI_CODING_AGENT_SESSION_DIR") or [])
    agent_dirs = env_paths(env, "PI_CODING_AGENT_DIR") or [home_dir(env) / ".pi" / "agent"]
    found.extend(agent_dir / "sessions" for agent_dir in agent_dirs)
    return found


def accepts(root: Path, path: str) -> bool:
    """Whether `discover(root)` would list `path` (for ingesting only the files a watcher saw)."""
    return relative_parts(root, path) is not None and path.endswith(".jsonl")


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    yield from walk(root, lambda name: name.endswith(".jsonl"), on_error)


def appendable(path: Path) -> bool:
    return True


def _session_id_from_path(value: Any) -> str | None:
    """The session uuid in a `<timestamp>_<uuid>.jsonl` path (a fork's `parentSession`)."""
    if not isinstance(value, str) or not value:
        return None
    stem = Path(value).name.removesuffix(".jsonl")
    return stem.split("_", 1)[1] if "_" in stem else stem


def _usage_of(entry: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(usage, the object carrying provider/model) of an entry that recorded LLM usage."""
    if entry.get("type") == "message":
        message = entry.get("message")
        if isinstance(message, dict) and message.get("role") in ("assistant", "toolResult"):
            usage = message.get("usage")
            if isinstance(usage, dict):
                return usage, message
        return None
    usage = entry.get("usage")
    return (usage, entry) if isinstance(usage, dict) else None


def _on_header(header: dict[str, Any], ctx: FileContext) -> None:
    cwd = text(header.get("cwd"))
    ctx.state.update(
        session_id=text(header.get("id")) or _session_id_from_path(str(ctx.path)),
        parent_id=_session_id_from_path(header.get("parentSession")),
        cwd=cwd,
    )


def _event(entry: dict[str, Any], offset: int, ctx: FileContext) -> UsageEvent | None:
    found = _usage_of(entry)
    if found is None:
        return None
    usage, carrier = found
    model = text(carrier.get("model"))
    ts = parse_ts(entry.get("timestamp")) or parse_ts(carrier.get("timestamp"))
    if model is None or ts is None:
        ctx.stats.bad(f"byte {offset}", "usage without model or timestamp")
        return None
    raw_provider = text(carrier.get("provider"))
    provider = _PROVIDER_IDS.get(raw_provider or "", raw_provider)
    input_tokens, output = count(usage.get("input")), count(usage.get("output"))
    cache_read, cache_write = count(usage.get("cacheRead")), count(usage.get("cacheWrite"))
    total = usage.get("totalTokens")
    cache_inclusive_bug = (
        (raw_provider or "").startswith("google")
        and cache_read > 0
        and total == input_tokens + output + cache_write
    )
    if cache_inclusive_bug:
        input_tokens = max(input_tokens - cache_read, 0)
    cost = usage.get("cost")
    reported = cost.get("total") if isinstance(cost, dict) else None
    response_id = text(carrier.get("responseId"))
    if response_id:
        key = f"pi:{response_id}"
    else:
        stamp = entry.get("timestamp")
        key = f"pi:{stamp}:{raw_provider}:{model}:{input_tokens}:{output}:{cache_read}:{cache_write}"
    state = ctx.state
    if "session_id" not in state:
        _on_header({}, ctx)
    return UsageEvent(
        event_key=key,
        ts=ts,
        harness=HARNESS,
        session_id=state["session_id"],
        model=model,
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=cache_write,
        output_tokens=output,
        reasoning_tokens=min(count(usage.get("reasoning")), output),
        cost_reported_usd=float(reported) if isinstance(reported, int | float) else None,
        provider=provider,
        parent_session_id=state.get("parent_id"),
        project=project_name(state.get("cwd")),
        cwd=state.get("cwd"),
        message_id=text(entry.get("id")),
        rank=0 if state.get("parent_id") else 1,
        source_path=str(ctx.path),
        source_offset=offset,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """Yield one event per entry that recorded LLM usage."""
    for offset, raw in lines:
        is_header = b'"session"' in raw and "session_id" not in ctx.state
        if not is_header and b'"usage"' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        entry = load_line(raw, offset, ctx)
        if entry is None:
            continue
        kind = entry.get("type")
        if kind == "session":
            _on_header(entry, ctx)
        elif kind in _USAGE_ENTRY_TYPES and (event := _event(entry, offset, ctx)):
            yield event
