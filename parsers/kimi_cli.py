"""Kimi CLI: `<share>/sessions/<md5 of the work dir>/<session>/wire.jsonl` and its subagents'
`subagents/<agent>/wire.jsonl`, `<share>` being `KIMI_SHARE_DIR` or ~/.kimi.

Each LLM step writes one `StatusUpdate` record with `token_usage` (since 0.66). Traps handled
here (see docs/harnesses.md):
- a subagent's steps are in its own wire file AND mirrored into the parent's wire as
  `SubagentEvent` records: the key is the step's `message_id` and tokens, so a step counts
  once (the mirror alone still counts where a version kept no subagent file);
- `/fork` copies wire lines verbatim into a new session: same keys, and the fork (its title
  starts with "Fork") ranks below the original, so the step stays with its session;
- no record names the model: it is the configured `default_model` (config.toml) at the time
  the file is read, priced as its provider's; Kimi's Gemini backend put the cached tokens
  inside `input_other` as well, so they are taken out again there;
- timestamps are float seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import tomllib
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    check_skipped_line,
    count,
    env_paths,
    home_dir,
    load_line,
    loads,
    mapping,
    parse_ts,
    project_name,
    provider_of_url,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "kimi-cli"
ENV_VARS = ("KIMI_DATA_DIR", "KIMI_SHARE_DIR")
NEEDLES = (b'"token_usage"',)
DEFAULT_MODEL = "kimi-for-coding"
"""What Kimi CLI runs when its config names no model (its Kimi Code login)."""
_PROVIDER_TYPES = {
    "kimi": "moonshotai",
    "anthropic": "anthropic",
    "google_genai": "google",
    "gemini": "google",
    "vertexai": "google",
}
_GEMINI_TYPES = ("google_genai", "gemini", "vertexai")


def roots(env: Mapping[str, str]) -> list[Path]:
    """`sessions/` of `KIMI_DATA_DIR` (a comma list), else of `KIMI_SHARE_DIR` or ~/.kimi."""
    shares = env_paths(env, "KIMI_DATA_DIR") or env_paths(env, "KIMI_SHARE_DIR") or [home_dir(env) / ".kimi"]
    return [share if share.name == "sessions" else share / "sessions" for share in shares]


def accepts(root: Path, path: str) -> bool:
    """`<work dir>/<session>/wire.jsonl` or `<work dir>/<session>/subagents/<agent>/wire.jsonl`."""
    parts = relative_parts(root, path)
    if parts is None or parts[-1] != "wire.jsonl":
        return False
    return len(parts) == 3 or (len(parts) == 5 and parts[2] == "subagents")


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    for path in walk(root, lambda name: name == "wire.jsonl", on_error):
        if accepts(root, path):
            yield path


def appendable(path: Path) -> bool:
    return True


class _Model(NamedTuple):
    name: str
    provider: str | None
    gemini: bool


class _Session(NamedTuple):
    session_id: str
    agent_id: str | None
    folder: str | None
    rank: int


@lru_cache(maxsize=64)
def _configured_model(config: Path, _stamp: float) -> _Model:
    """The default model of `config.toml` and its provider (re-read when the file changes)."""
    try:
        settings = tomllib.loads(config.read_text())
    except (OSError, ValueError):
        return _Model(DEFAULT_MODEL, "moonshotai", False)
    name = text(settings.get("default_model"))
    models, providers = settings.get("models"), settings.get("providers")
    model = models.get(name) if isinstance(models, dict) and name else None
    if not isinstance(model, dict):
        return _Model(name or DEFAULT_MODEL, "moonshotai", False)
    provider = providers.get(model.get("provider")) if isinstance(providers, dict) else None
    kind = text(provider.get("type")) if isinstance(provider, dict) else None
    base_url = text(provider.get("base_url")) if isinstance(provider, dict) else None
    priced_as = provider_of_url(base_url) or _PROVIDER_TYPES.get(kind or "")
    return _Model(text(model.get("model")) or name or DEFAULT_MODEL, priced_as, kind in _GEMINI_TYPES)


def _model_for(share: Path) -> _Model:
    config = share / "config.toml"
    try:
        stamp = config.stat().st_mtime
    except OSError:
        stamp = 0.0
    return _configured_model(config, stamp)


@lru_cache(maxsize=64)
def _work_dirs(index: Path, _stamp: float) -> dict[str, str]:
    """`kimi.json`'s work dirs by the folder name Kimi gives their sessions (md5 of the path)."""
    try:
        work_dirs = loads(index.read_bytes()).get("work_dirs")
    except (OSError, ValueError, AttributeError):
        return {}
    folders: dict[str, str] = {}
    for entry in work_dirs if isinstance(work_dirs, list) else []:
        path = text(entry.get("path")) if isinstance(entry, dict) else None
        if path:
            digest = hashlib.md5(path.encode(), usedforsecurity=False).hexdigest()
            kaos = text(entry.get("kaos"))
            folders[digest if kaos in (None, "local") else f"{kaos}_{digest}"] = path
    return folders


def _folder_of(share: Path, key: str) -> str | None:
    index = share / "kimi.json"
    with contextlib.suppress(OSError):
        return _work_dirs(index, index.stat().st_mtime).get(key)
    return None


def _forked(session_dir: Path) -> bool:
    """Whether the session is a `/fork` (its title says so; Kimi keeps no other mark)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        title = loads((session_dir / "state.json").read_bytes()).get("custom_title")
        return isinstance(title, str) and title.startswith("Fork")
    return False


def _session(path: Path) -> tuple[_Session, Path]:
    """This wire file's session (and subagent), and the share dir it lies in."""
    if path.parent.parent.name == "subagents":
        session_dir, agent = path.parents[2], path.parent.name
    else:
        session_dir, agent = path.parent, None
    share = session_dir.parent.parent.parent
    folder = _folder_of(share, session_dir.parent.name)
    return _Session(session_dir.name, agent, folder, 0 if _forked(session_dir) else 1), share


def _event(
    payload: dict[str, Any],
    stamp: Any,
    agent: str | None,
    session: _Session,
    model: _Model,
    offset: int,
    ctx: FileContext,
) -> UsageEvent | None:
    usage = payload.get("token_usage")
    if not isinstance(usage, dict):
        return None
    ts = parse_ts(stamp * 1000) if isinstance(stamp, int | float) and not isinstance(stamp, bool) else None
    if ts is None:
        ctx.stats.bad(f"byte {offset}", "token usage without a timestamp")
        return None
    fresh, output = count(usage.get("input_other")), count(usage.get("output"))
    cache_read, cache_write = count(usage.get("input_cache_read")), count(usage.get("input_cache_creation"))
    if model.gemini:  # Kimi's Gemini backend reports the whole prompt as input_other
        fresh = max(fresh - cache_read, 0)
    message_id = text(payload.get("message_id"))
    identity = message_id or f"{session.session_id}:{stamp}"
    return UsageEvent(
        event_key=f"kimi:{identity}:{fresh}:{output}:{cache_read}:{cache_write}",
        ts=ts,
        harness=HARNESS,
        session_id=session.session_id,
        model=model.name,
        input_tokens=fresh,
        cache_read_tokens=cache_read,
        cache_write_5m_tokens=cache_write,
        output_tokens=output,
        provider=model.provider,
        agent_id=agent,
        project=project_name(session.folder),
        cwd=session.folder,
        message_id=message_id,
        is_sidechain=agent is not None,
        rank=session.rank,
        source_path=str(ctx.path),
        source_offset=offset,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """One event per `StatusUpdate` with `token_usage`, the subagents' mirrored ones included."""
    session, share = _session(ctx.path)
    model = _model_for(share)
    for offset, raw in lines:
        if b'"token_usage"' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        record = load_line(raw, offset, ctx)
        message = record.get("message") if record else None
        if not isinstance(message, dict) or not isinstance(message.get("payload"), dict):
            continue
        payload, agent = message["payload"], session.agent_id
        if message.get("type") == "SubagentEvent":
            inner = payload.get("event")
            agent = text(payload.get("agent_id")) or "subagent"
            message = mapping(inner)
            payload = mapping(message.get("payload"))
        if message.get("type") != "StatusUpdate":
            continue
        if event := _event(
            payload, record.get("timestamp") if record else None, agent, session, model, offset, ctx
        ):
            yield event
