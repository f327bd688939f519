"""Codex CLI rollouts: `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl[.zst]` and archives.

Traps handled here (see docs/harnesses.md):
- `token_count` events carry the thread's cumulative `total_token_usage`; it is used as a
  watermark: an unchanged total is a re-emit and is skipped, `info: null` is skipped, a
  small regression is a stale snapshot and skipped, a large one is a reset;
- forked and subagent rollouts replay the parent's history: their token counts only move
  the baseline until the child's own first turn (`task_started`, or a `turn_context`
  whose UUIDv7 turn id is newer than the child's own id);
- `input_tokens` includes `cached_input_tokens`; `output_tokens` includes reasoning;
- the key is (own session id, cumulative total), so archived and `.zst` copies of one
  session count once;
- `thread_settings_applied` (`/fast`) sets the service tier of the requests that follow:
  fast/priority costs twice the standard rate. A tier set only in config.toml is not in the
  file, so those requests are priced at the standard rate.
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
    repository,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "codex"
ENV_VARS = ("CODEX_HOME",)
NEEDLES = (
    b'"token_count"',
    b'"session_meta"',
    b'"turn_context"',
    b'"task_started"',
    b'"thread_settings_applied"',
)
SERVICE_TIERS = {"fast": "fast", "priority": "priority", "flex": "flex"}
"""Codex's service tier names -> ours (a price variant); `default` and anything else is standard."""

Totals = tuple[int, int, int, int]
"""(input incl. cached, cached, output incl. reasoning, reasoning)."""
_ZERO: Totals = (0, 0, 0, 0)


def roots(env: Mapping[str, str]) -> list[Path]:
    """`CODEX_HOME` (comma list allowed), else `~/.codex`."""
    return env_paths(env, "CODEX_HOME") or [home_dir(env) / ".codex"]


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    """Active and archived rollouts, plain and zstd-compressed."""
    for folder in (root / "sessions", root / "archived_sessions"):
        yield from walk(folder, _is_rollout, on_error)


def accepts(root: Path, path: str) -> bool:
    """Whether `discover(root)` would list `path` (for ingesting only the files a watcher saw)."""
    parts = relative_parts(root, path)
    return (
        parts is not None
        and len(parts) > 0
        and parts[0] in ("sessions", "archived_sessions")
        and _is_rollout(parts[-1])
    )


def _is_rollout(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith((".jsonl", ".jsonl.zst"))


def appendable(path: Path) -> bool:
    return path.suffix == ".jsonl"


def _totals(usage: Any) -> Totals | None:
    if not isinstance(usage, dict):
        return None
    cached = max(count(usage.get("cached_input_tokens")), count(usage.get("cache_read_input_tokens")))
    return (
        count(usage.get("input_tokens")),
        cached,
        count(usage.get("output_tokens")),
        count(usage.get("reasoning_output_tokens")),
    )


def _uuid7_ms(value: Any) -> int | None:
    """The millisecond timestamp inside a UUIDv7, or None for any other id."""
    if not isinstance(value, str) or len(value) < 15 or value[14] != "7":
        return None
    try:
        return int(value.replace("-", "")[:12], 16)
    except ValueError:
        return None


def _on_session_meta(payload: dict[str, Any], ctx: FileContext) -> None:
    """The first session_meta is the file's identity; later (embedded parent) ones are ignored."""
    state = ctx.state
    if "own_id" in state:
        return
    own_id = text(payload.get("id")) or ctx.path.name.split(".")[0]
    source = payload.get("source")
    spawn = source.get("subagent") if isinstance(source, dict) else None
    spawn = spawn.get("thread_spawn") if isinstance(spawn, dict) else None
    parent_thread = text(spawn.get("parent_thread_id")) if isinstance(spawn, dict) else None
    forked_from = text(payload.get("forked_from_id"))
    git = payload.get("git")
    cwd = text(payload.get("cwd"))
    state.update(
        own_id=own_id,
        session_id=parent_thread or own_id,
        parent_id=parent_thread or forked_from,
        agent_id=own_id if parent_thread else None,
        cwd=cwd,
        branch=text(git.get("branch")) if isinstance(git, dict) else None,
        remote=repository(text(git.get("repository_url"))) if isinstance(git, dict) else None,
        provider=text(payload.get("model_provider")),
        version=text(payload.get("cli_version")),
        replay=bool(parent_thread or forked_from),
        created_ms=_uuid7_ms(own_id),
    )


def _on_turn_context(payload: dict[str, Any], ctx: FileContext) -> None:
    state = ctx.state
    model = text(payload.get("model")) or text(payload.get("model_name"))
    if model:
        state["model"] = model
    if text(payload.get("cwd")):
        state["cwd"] = payload["cwd"]
    created_ms = state.get("created_ms")
    turn_ms = _uuid7_ms(payload.get("turn_id"))
    if state.get("replay") and created_ms is not None and turn_ms is not None:
        state["replay"] = turn_ms < created_ms


def _is_stale(current: Totals, previous: Totals, last: Totals | None) -> bool:
    """A total slightly below the watermark is an out-of-order snapshot, not a reset."""
    current_sum, previous_sum = current[0] + current[2], previous[0] + previous[2]
    last_sum = last[0] + last[2] if last else 0
    return current_sum * 100 >= previous_sum * 98 or current_sum + 2 * last_sum >= previous_sum


def _plus(a: Totals, b: Totals) -> Totals:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _minus(a: Totals, b: Totals) -> Totals:
    return (max(a[0] - b[0], 0), max(a[1] - b[1], 0), max(a[2] - b[2], 0), max(a[3] - b[3], 0))


def _increment(info: dict[str, Any], previous: Totals | None) -> tuple[Totals, Totals] | None:
    """Apply the watermark rule; return (usage to count, new watermark) or None to skip."""
    total = _totals(info.get("total_token_usage"))
    last = _totals(info.get("last_token_usage"))
    if total is not None and total == previous:
        return None
    regressed = (
        total is not None
        and previous is not None
        and any(t < p for t, p in zip(total, previous, strict=True))
    )
    if regressed and total is not None and previous is not None:
        return None if _is_stale(total, previous, last) else (last or total, total)
    if last is not None:
        return last, total if total is not None else _plus(previous or _ZERO, last)
    if total is not None:
        return _minus(total, previous or _ZERO), total
    return None


def _on_settings(payload: dict[str, Any], ctx: FileContext) -> None:
    """A settings change (`/fast`, `/model`) sets the service tier of the requests after it."""
    settings = payload.get("thread_settings")
    settings = settings if isinstance(settings, dict) else payload  # an older, flat shape
    if "service_tier" in settings:
        tier = settings.get("service_tier")
        ctx.state["service_tier"] = SERVICE_TIERS.get(tier.strip().lower()) if isinstance(tier, str) else None


def _on_token_count(payload: dict[str, Any], ts_raw: Any, offset: int, ctx: FileContext) -> UsageEvent | None:
    state = ctx.state
    info = payload.get("info")
    if not isinstance(info, dict):
        return None
    if state.get("replay"):
        total = _totals(info.get("total_token_usage"))
        if total is not None:
            state["previous"] = list(total)
        return None
    previous = state.get("previous")
    step = _increment(info, tuple(previous) if previous else None)  # type: ignore[arg-type]
    if step is None:
        return None
    usage, watermark = step
    if not any(usage):
        return None
    state["previous"] = list(watermark)
    ts = parse_ts(ts_raw)
    if ts is None:
        ctx.stats.bad(f"byte {offset}", "token_count without a valid timestamp")
        return None
    if "own_id" not in state:
        _on_session_meta({}, ctx)
    input_total, cached, output, reasoning = usage
    cached = min(cached, input_total)
    model = text(info.get("model")) or state.get("model") or "unknown"
    return UsageEvent(
        event_key=f"cx:{state['own_id']}:{':'.join(map(str, watermark))}",
        ts=ts,
        harness=HARNESS,
        session_id=state["session_id"],
        model=model,
        input_tokens=input_total - cached,
        cache_read_tokens=cached,
        output_tokens=output,
        reasoning_tokens=min(reasoning, output),
        provider=state.get("provider") or "openai",
        harness_version=state.get("version"),
        parent_session_id=state.get("parent_id"),
        agent_id=state.get("agent_id"),
        project=project_name(state.get("cwd")),
        cwd=state.get("cwd"),
        git_branch=state.get("branch"),
        git_remote=state.get("remote"),
        service_tier=state.get("service_tier"),
        source_path=str(ctx.path),
        source_offset=offset,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """Yield one event per token_count that moves the file's cumulative watermark."""
    for offset, raw in lines:
        if not any(marker in raw for marker in NEEDLES):
            check_skipped_line(raw, offset, ctx)
            continue
        obj = load_line(raw, offset, ctx)
        if obj is None:
            continue
        kind, payload = obj.get("type"), obj.get("payload")
        if not isinstance(payload, dict):
            continue
        if kind == "session_meta":
            _on_session_meta(payload, ctx)
        elif kind == "turn_context":
            _on_turn_context(payload, ctx)
        elif kind == "event_msg":
            event_type = payload.get("type")
            if event_type == "task_started":
                ctx.state["replay"] = False
            elif event_type == "thread_settings_applied":
                _on_settings(payload, ctx)
            elif event_type == "token_count":
                event = _on_token_count(payload, obj.get("timestamp"), offset, ctx)
                if event is not None:
                    yield event
