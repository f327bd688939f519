"""Gemini CLI chats: `<root>/tmp/<project>/chats/session-*.json` (legacy) and `*.jsonl`.

Traps handled here (see docs/harnesses.md):
- the append-only `.jsonl` re-appends a message under the same id whenever it changes:
  every copy gets the key `(sessionId, id)` and a rank that grows with the byte offset,
  so the last copy wins; `$rewindTo` is ignored (rewound turns were still paid for);
- resuming a legacy `.json` session writes a `.jsonl` sibling with copies of the same
  messages: the key is global, so the pair counts once;
- `tokens.input` includes `tokens.cached`; `thoughts` are billed as output on top of
  `output`; `tool` prompt tokens are input;
- subagent chats live in `chats/<parentSessionId>/` and count for the parent session.
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
    home_dir,
    load_document,
    load_line,
    open_regular,
    parse_ts,
    project_name,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "gemini-cli"
ENV_VARS = ("GEMINI_CLI_HOME",)
NEEDLES: tuple[bytes, ...] = ()
"""Every line is read: the first one is the session header, and a legacy `.json` is one document."""


def roots(env: Mapping[str, str]) -> list[Path]:
    """`$GEMINI_CLI_HOME/.gemini/tmp`, else `~/.gemini/tmp`."""
    base = Path(env["GEMINI_CLI_HOME"]).expanduser() if env.get("GEMINI_CLI_HOME") else None
    return [(base or home_dir(env)) / ".gemini" / "tmp"]


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    """Main chats and subagent chats of every project dir; backups and temp files skipped."""
    for chats in root.glob("*/chats"):
        yield from walk(chats, _is_chat_file, on_error)


def accepts(root: Path, path: str) -> bool:
    """Whether `discover(root)` would list `path` (for ingesting only the files a watcher saw)."""
    parts = relative_parts(root, path)
    return parts is not None and len(parts) >= 3 and parts[1] == "chats" and _is_chat_file(parts[-1])


def _is_chat_file(name: str) -> bool:
    if ".unreadable-" in name or ".tmp-" in name:
        return False
    return name.endswith((".json", ".jsonl"))


def appendable(path: Path) -> bool:
    return path.suffix == ".jsonl"


def _project_of(path: Path) -> tuple[str | None, str | None]:
    """(display name, cwd) from the project dir's `.project_root`, else the dir name."""
    project_dir = path.parent
    while project_dir.name != "chats" and project_dir.parent != project_dir:
        project_dir = project_dir.parent
    project_dir = project_dir.parent
    try:
        with open_regular(project_dir / ".project_root") as handle:
            cwd = handle.read(64 * 1024).decode("utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        cwd = None
    return (project_name(cwd) if cwd else project_dir.name), cwd


def _subagent_parent(path: Path) -> str | None:
    return path.parent.name if path.parent.name != "chats" else None


def _event(record: dict[str, Any], rank: int, offset: int, ctx: FileContext) -> UsageEvent | None:
    """Turn one `gemini` message with tokens into an event, inheriting the last model."""
    state = ctx.state
    model = text(record.get("model"))
    if model:
        state["model"] = model
    tokens = record.get("tokens")
    if record.get("type") != "gemini" or not isinstance(tokens, dict):
        return None
    message_id = text(record.get("id"))
    ts = parse_ts(record.get("timestamp"))
    if message_id is None or ts is None:
        ctx.stats.bad(f"byte {offset}", "gemini message without id or timestamp")
        return None
    prompt = count(tokens.get("input", tokens.get("prompt")))
    cached = count(tokens.get("cached"))
    output = count(tokens.get("output", tokens.get("candidates")))
    thoughts = count(tokens.get("thoughts"))
    tool = count(tokens.get("tool"))
    total = tokens.get("total")
    cache_is_separate = cached > 0 and total == prompt + cached + output + thoughts + tool
    cache_read = cached if cache_is_separate else min(cached, prompt)
    uncached = prompt if cache_is_separate else prompt - cache_read
    own_session = state.get("session_id") or ctx.path.stem
    parent = state.get("parent_session")
    return UsageEvent(
        event_key=f"gm:{own_session}:{message_id}",
        ts=ts,
        harness=HARNESS,
        session_id=parent or own_session,
        model=state.get("model") or "unknown",
        input_tokens=uncached + tool,
        cache_read_tokens=cache_read,
        output_tokens=output + thoughts,
        reasoning_tokens=thoughts,
        provider="google",
        parent_session_id=parent,
        agent_id=own_session if parent else None,
        project=state.get("project"),
        cwd=state.get("cwd"),
        message_id=message_id,
        rank=rank,
        source_path=str(ctx.path),
        source_offset=offset,
    )


def _start(ctx: FileContext, meta: dict[str, Any]) -> None:
    state = ctx.state
    state["session_id"] = text(meta.get("sessionId")) or ctx.path.stem
    parent = _subagent_parent(ctx.path)
    if parent is None and meta.get("kind") == "subagent":
        parent = text(meta.get("parentSessionId"))
    state["parent_session"] = parent
    state["project"], state["cwd"] = _project_of(ctx.path)


def _parse_legacy(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """A legacy `.json` file: one document rewritten whole on every update."""
    doc = load_document(lines, ctx)
    if doc is None:
        return
    if not isinstance(doc.get("messages"), list):
        ctx.stats.bad("document", "no messages list")
        return
    _start(ctx, doc)
    for index, record in enumerate(doc["messages"]):
        if isinstance(record, dict) and (event := _event(record, index, 0, ctx)):
            yield event


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """Yield one event per `gemini` message with tokens; the last copy of an id wins."""
    if ctx.path.suffix == ".json":
        yield from _parse_legacy(lines, ctx)
        return
    for offset, raw in lines:
        if "session_id" not in ctx.state:
            meta = load_line(raw, offset, ctx)
            if meta is not None:
                _start(ctx, meta)
            continue
        if b'"tokens"' not in raw and b'"model"' not in raw and b'"$set"' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        record = load_line(raw, offset, ctx)
        if record is None:
            continue
        patch = record.get("$set")
        if isinstance(patch, dict) and isinstance(patch.get("messages"), list):
            records = [m for m in patch["messages"] if isinstance(m, dict)]
        else:
            records = [record]
        for message in records:
            if event := _event(message, offset, offset, ctx):
                yield event
