"""Claude Code transcripts: `<root>/projects/<slug>/<session>.jsonl` plus subagent files.

Traps handled here (see docs/harnesses.md):
- one line per content block, each with a copy of the message usage: every copy gets the
  same event key, and the rank makes the store keep the copy with the largest output
  (tie: largest total); resumed/forked files copy lines verbatim, and the key is global;
- subagent files (`<session>/subagents/**/agent-*.jsonl`, legacy flat `agent-*.jsonl`)
  are real usage attributed to their parent session; `journal.jsonl` is not a transcript;
- 5m/1h cache writes come from `usage.cache_creation` when present; web searches from
  `usage.server_tool_use.web_search_requests` (billed per search);
- `<synthetic>` notices carry no usage; null token fields from gateways count as 0;
- an answer that consulted the advisor tool lists the advisor model's calls in
  `usage.iterations` (`advisor_message`), outside its own usage: each becomes an event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
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

HARNESS = "claude-code"
ENV_VARS = ("CLAUDE_CONFIG_DIR",)
NEEDLES = (b'"usage"',)


def roots(env: Mapping[str, str]) -> list[Path]:
    """`CLAUDE_CONFIG_DIR` (a comma list, root or `projects/` dir), else the XDG and ~ roots."""
    configured = env_paths(env, "CLAUDE_CONFIG_DIR")
    if configured is None:
        home = home_dir(env)
        xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
        configured = [xdg / "claude", home / ".claude"]
    found: list[Path] = []
    for root in configured:
        projects = root if root.name == "projects" else root / "projects"
        if projects not in found:
            found.append(projects)
    return found


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    """Every transcript below `projects/`, subagent files included, journals excluded."""
    for path in walk(root, lambda name: name.endswith(".jsonl"), on_error):
        if path.endswith("journal.jsonl") and "subagents" in _below_projects(Path(path)):
            continue
        yield path


def accepts(root: Path, path: str) -> bool:
    """Whether `discover(root)` would list `path` (for ingesting only the files a watcher saw)."""
    parts = relative_parts(root, path)
    if parts is None or not path.endswith(".jsonl"):
        return False
    return not (parts[-1] == "journal.jsonl" and "subagents" in parts)


def appendable(path: Path) -> bool:
    return True


def _below_projects(path: Path) -> tuple[str, ...]:
    """The parts of a transcript path below the last `projects` directory."""
    parts = path.parts
    if "projects" not in parts:
        return parts
    return parts[len(parts) - parts[::-1].index("projects") :]


def _file_identity(path: Path) -> tuple[str | None, str | None]:
    """(parent session id, agent id) for subagent files; (None, None) for main transcripts."""
    parts = _below_projects(path)
    if "subagents" in parts:
        index = parts.index("subagents")
        return parts[index - 1], path.stem
    if path.stem.startswith("agent-"):
        return None, path.stem
    return None, None


def _provider_for(model: str) -> str | None:
    if "anthropic." in model:
        return "aws"
    if "/" in model:
        return None
    return "anthropic"


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """Yield one event per assistant line with usage; copies share a key and carry a rank."""
    parent_session, agent_id = _file_identity(ctx.path)
    slug = ctx.path.parent.name if parent_session is None else None
    path_text = str(ctx.path)
    for offset, raw in lines:
        if b'"usage"' not in raw or b'"assistant"' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        obj = load_line(raw, offset, ctx)
        if obj is None or obj.get("type") != "assistant":
            continue
        message = obj.get("message")
        if not isinstance(message, dict):
            continue
        usage = message.get("usage")
        model = text(message.get("model"))
        if not isinstance(usage, dict) or model is None or model == "<synthetic>":
            continue
        ts = parse_ts(obj.get("timestamp"))
        if ts is None:
            ctx.stats.bad(f"byte {offset}", "assistant line without a valid timestamp")
            continue

        input_tokens, cache_read, write_5m, write_1h, output = _buckets(usage)
        details = usage.get("output_tokens_details")
        reasoning = count(details.get("thinking_tokens")) if isinstance(details, dict) else 0

        message_id = text(message.get("id"))
        request_id = text(obj.get("requestId"))
        session_id = parent_session or text(obj.get("sessionId")) or ctx.path.stem
        if message_id and request_id:
            key = f"cc:{message_id}:{request_id}"
        elif message_id:
            key = f"cc:{message_id}:{input_tokens}:{write_5m + write_1h}:{cache_read}"
        else:
            key = f"cc:{session_id}:{ts.isoformat()}:{input_tokens}:{cache_read}"
        total = input_tokens + cache_read + write_5m + write_1h + output
        cost = obj.get("costUSD")
        cwd = text(obj.get("cwd"))
        branch = text(obj.get("gitBranch"))
        speed = text(usage.get("speed"))
        server_tools = usage.get("server_tool_use")
        searches = count(server_tools.get("web_search_requests")) if isinstance(server_tools, dict) else 0
        event = UsageEvent(
            event_key=key,
            ts=ts,
            harness=HARNESS,
            session_id=session_id,
            model=model,
            input_tokens=input_tokens,
            cache_read_tokens=cache_read,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            output_tokens=output,
            reasoning_tokens=min(reasoning, output),
            cost_reported_usd=float(cost) if isinstance(cost, int | float) else None,
            provider=_provider_for(model),
            harness_version=text(obj.get("version")),
            parent_session_id=parent_session,
            agent_id=agent_id or text(obj.get("agentId")),
            project=project_name(cwd) or slug,
            cwd=cwd,
            git_branch=branch,
            service_tier="fast" if speed == "fast" else text(usage.get("service_tier")),
            message_id=message_id,
            is_sidechain=obj.get("isSidechain") is True,
            rank=_rank(output, total),
            source_path=path_text,
            source_offset=offset,
            web_search_requests=searches,
        )
        yield event
        iterations = usage.get("iterations")
        if iterations:
            yield from _advisor_events(iterations, event)


def _rank(output: int, total: int) -> int:
    """Which copy of a message the store keeps: the largest output, then the largest total."""
    return min(output, 10**6) * 10**12 + min(total, 10**12 - 1)


def _buckets(usage: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """(input, cache read, 5m cache write, 1h cache write, output) of a usage object."""
    write_5m, write_1h = count(usage.get("cache_creation_input_tokens")), 0
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        split_5m = count(split.get("ephemeral_5m_input_tokens"))
        split_1h = count(split.get("ephemeral_1h_input_tokens"))
        if split_5m + split_1h > 0:
            write_5m, write_1h = split_5m, split_1h
    return (
        count(usage.get("input_tokens")),
        count(usage.get("cache_read_input_tokens")),
        write_5m,
        write_1h,
        count(usage.get("output_tokens")),
    )


def _advisor_events(iterations: Any, answer: UsageEvent) -> Iterator[UsageEvent]:
    """The advisor model's requests inside one answer, as events of their own.

    With the advisor tool, `usage.iterations` lists each model call of the answer; the
    `advisor_message` entries carry their own model and tokens, and the answer's top-level
    usage leaves them out. Their keys derive from the answer's, so copies collapse the same way.
    """
    if not isinstance(iterations, list):
        return
    for index, item in enumerate(iterations):
        if not isinstance(item, dict) or item.get("type") != "advisor_message":
            continue
        model = text(item.get("model")) or "unknown"
        input_tokens, cache_read, write_5m, write_1h, output = _buckets(item)
        total = input_tokens + cache_read + write_5m + write_1h + output
        yield replace(
            answer,
            event_key=f"{answer.event_key}:advisor:{index}",
            model=model,
            provider=_provider_for(model),
            input_tokens=input_tokens,
            cache_read_tokens=cache_read,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            output_tokens=output,
            reasoning_tokens=0,
            cost_reported_usd=None,
            service_tier=None,
            rank=_rank(output, total),
            web_search_requests=0,
        )
