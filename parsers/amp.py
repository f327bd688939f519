"""Amp: thread files `~/.local/share/amp/threads/T-<id>.json`, one JSON document per thread,
rewritten whole.

Amp stopped writing these files around 2026-03-31 (threads live on Amp's servers since), so
this reads the history an older Amp left. Its own code could not be read (a compiled
binary): the shapes follow the public parsers of other usage tools. Traps handled here (see
docs/harnesses.md):
- threads before about 2026-01-13 record each call twice, in `usageLedger.events` and in the
  assistant message's `usage`: one event per call, from the message (which has the cache)
  dated by its ledger event; a ledger event without its message counts on its own;
- later threads have the message `usage` only (with its own timestamp);
- `inputTokens` is the uncached input (`totalInputTokens` adds the cache to it);
- `credits` are Amp's billing units, not dollars: the tokens are priced instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    count,
    env_paths,
    home_dir,
    load_document,
    mapping,
    parse_ts,
    project_name,
    relative_parts,
    text,
)
from agent_usage.records import UsageEvent

HARNESS = "amp"
ENV_VARS = ("AMP_DATA_DIR",)
NEEDLES: tuple[bytes, ...] = ()
_VENDORS = (
    ("claude-", "anthropic"),
    ("gpt-", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("gemini-", "google"),
)


def roots(env: Mapping[str, str]) -> list[Path]:
    """`threads/` of `AMP_DATA_DIR` (a comma list), else of ~/.local/share/amp."""
    data_dirs = env_paths(env, "AMP_DATA_DIR") or [home_dir(env) / ".local" / "share" / "amp"]
    return [folder if folder.name == "threads" else folder / "threads" for folder in data_dirs]


def accepts(root: Path, path: str) -> bool:
    parts = relative_parts(root, path)
    return parts is not None and len(parts) == 1 and parts[0].startswith("T-") and path.endswith(".json")


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    try:
        names = sorted(entry.name for entry in root.iterdir() if entry.is_file())
    except OSError as error:
        if on_error is not None and not isinstance(error, FileNotFoundError):
            on_error(str(root), error)
        return
    yield from (str(root / name) for name in names if accepts(root, str(root / name)))


def appendable(path: Path) -> bool:
    return False


def _provider(model: str) -> str | None:
    return next((vendor for prefix, vendor in _VENDORS if model.startswith(prefix)), None)


def _folder(thread: dict[str, Any]) -> str | None:
    """The thread's first workspace folder (`env.initial.trees[].uri`, a file URI)."""
    trees = mapping(mapping(thread.get("env")).get("initial")).get("trees")
    for tree in trees if isinstance(trees, list) else []:
        uri = text(tree.get("uri")) if isinstance(tree, dict) else None
        if uri and uri.startswith("file://"):
            return unquote(urlparse(uri).path) or None
    return None


def _event(
    thread_id: str, key: str, usage: dict[str, Any], stamp: Any, folder: str | None, ctx: FileContext, at: int
) -> UsageEvent | None:
    """One call from a message `usage` or a ledger event (whose tokens are `input`/`output`)."""
    model, ts = text(usage.get("model")), parse_ts(stamp)
    if model is None or ts is None:
        ctx.stats.bad(f"call {key}", "usage without model or time")
        return None
    tokens = mapping(usage.get("tokens")) or usage
    return UsageEvent(
        event_key=f"amp:{thread_id}:{key}",
        ts=ts,
        harness=HARNESS,
        session_id=thread_id,
        model=model,
        input_tokens=count(tokens.get("inputTokens", tokens.get("input"))),
        cache_read_tokens=count(tokens.get("cacheReadInputTokens")),
        cache_write_5m_tokens=count(tokens.get("cacheCreationInputTokens")),
        output_tokens=count(tokens.get("outputTokens", tokens.get("output"))),
        provider=_provider(model),
        project=project_name(folder),
        cwd=folder,
        message_id=key,
        source_path=str(ctx.path),
        source_offset=at,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """One event per billed call of the thread."""
    thread = load_document(lines, ctx)
    if thread is None:
        return
    thread_id, folder = text(thread.get("id")) or ctx.path.stem, _folder(thread)
    ledger = mapping(thread.get("usageLedger")).get("events")
    ledger = [entry for entry in ledger if isinstance(entry, dict)] if isinstance(ledger, list) else []
    dated = {entry.get("toMessageId"): entry for entry in ledger if entry.get("toMessageId") is not None}
    messages = thread.get("messages")
    counted: set[Any] = set()
    for at, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        usage = message.get("usage")
        if not isinstance(usage, dict):
            continue
        number = message.get("messageId", at)
        stamp = usage.get("timestamp") or dated.get(number, {}).get("timestamp") or thread.get("created")
        if event := _event(thread_id, f"m{number}", usage, stamp, folder, ctx, at):
            counted.add(number)
            yield event
    for at, entry in enumerate(ledger):
        if entry.get("toMessageId") in counted:
            continue  # the message's usage is this call (with its cache)
        if event := _event(
            thread_id, f"l{entry.get('id', at)}", entry, entry.get("timestamp"), folder, ctx, 10**6 + at
        ):
            yield event
