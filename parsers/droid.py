"""Factory's Droid: `~/.factory/sessions/<project key>/<session>.settings.json` beside the
session's transcript `<session>.jsonl`.

Droid keeps no per-call usage: `tokenUsage` in the settings file is the session's running
total, rewritten in place after every call. Traps handled here (see docs/harnesses.md):
- one event per session, its total, replaced whole whenever the file is rewritten (the key is
  the session id); it is dated at the session's last transcript message, so a session that
  ran over midnight counts on its last day; being many requests, it is never priced at a
  long-context tier (`session_total`);
- `inclusiveTokenUsage` is the session's usage plus its child sessions', which have files of
  their own: it is never read, so a child counts once, as its own session;
- for OpenAI models `thinkingTokens` is part of `outputTokens` (not added to it);
- a fork starts with its usage reset (its copied transcript lines bring no usage);
- the model is the session's current one: a session that changed models is priced as its
  last; BYOK names (`custom:Name-[Provider]-1`) are cut to the model's own name.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    count,
    env_paths,
    home_dir,
    load_document,
    loads,
    parse_ts,
    project_name,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "droid"
ENV_VARS = ("DROID_SESSIONS_DIR", "FACTORY_HOME_OVERRIDE")
NEEDLES: tuple[bytes, ...] = ()
SUFFIX = ".settings.json"
_PROVIDERS = {"xai": "x-ai", "google": "google", "anthropic": "anthropic", "openai": "openai"}
_BYOK = re.compile(r"^custom:|-?\[[^\]]*\](-\d+)?$")
TAIL_BYTES = 65_536
"""How much of a transcript's end is read for its last message's time."""


def roots(env: Mapping[str, str]) -> list[Path]:
    """`DROID_SESSIONS_DIR` (a comma list), else `sessions/` of `FACTORY_HOME_OVERRIDE`/.factory
    or ~/.factory."""
    listed = env_paths(env, "DROID_SESSIONS_DIR")
    if listed is not None:
        return listed
    home = (
        Path(env["FACTORY_HOME_OVERRIDE"]).expanduser() if env.get("FACTORY_HOME_OVERRIDE") else home_dir(env)
    )
    return [home / ".factory" / "sessions"]


def accepts(root: Path, path: str) -> bool:
    return relative_parts(root, path) is not None and path.endswith(SUFFIX)


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    yield from walk(root, lambda name: name.endswith(SUFFIX), on_error)


def appendable(path: Path) -> bool:
    return False


def _model(name: str) -> str:
    """A BYOK model's own name: `custom:GLM-4.6-[Z.ai]-0` is `GLM-4.6`."""
    return _BYOK.sub("", name) or name


def _transcript(path: Path) -> tuple[dict[str, Any], Any]:
    """(the `session_start` header, the last message's timestamp) of the session's transcript."""
    header: dict[str, Any] = {}
    last: Any = None
    with contextlib.suppress(OSError, ValueError), path.open("rb") as handle:
        first = loads(handle.readline())
        header = first if isinstance(first, dict) and first.get("type") == "session_start" else {}
        size = handle.seek(0, os.SEEK_END)
        handle.seek(max(size - TAIL_BYTES, 0))
        for line in reversed(handle.read().splitlines()):
            with contextlib.suppress(ValueError):
                record = loads(line)
                if isinstance(record, dict) and record.get("timestamp"):
                    last = record["timestamp"]
                    break
    return header, last


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """The session's total as one event (none while it has used nothing)."""
    settings = load_document(lines, ctx)
    if settings is None:
        return
    usage = settings.get("tokenUsage")
    if not isinstance(usage, dict):
        return
    session_id = ctx.path.name.removesuffix(SUFFIX)
    header, last = _transcript(ctx.path.with_name(session_id + ".jsonl"))
    ts = parse_ts(last) or parse_ts(settings.get("providerLockTimestamp"))
    model = text(settings.get("model"))
    fresh, output = count(usage.get("inputTokens")), count(usage.get("outputTokens"))
    cache_read, cache_write = count(usage.get("cacheReadTokens")), count(usage.get("cacheCreationTokens"))
    if not (fresh or output or cache_read or cache_write):
        return
    if model is None or ts is None:
        ctx.stats.bad("document", "token usage without a model or any time")
        return
    cwd = text(header.get("cwd"))
    provider = text(settings.get("providerLock")) or text(settings.get("apiProviderLock"))
    yield UsageEvent(
        event_key=f"droid:{session_id}",
        ts=ts,
        harness=HARNESS,
        session_id=session_id,
        model=_model(model),
        input_tokens=fresh,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=cache_write,
        output_tokens=output,
        reasoning_tokens=min(count(usage.get("thinkingTokens")), output),
        provider=_PROVIDERS.get(provider or "", provider),
        parent_session_id=text(header.get("callingSessionId")) or text(header.get("parent")),
        project=project_name(cwd),
        cwd=cwd,
        source_path=str(ctx.path),
        session_total=True,
    )
