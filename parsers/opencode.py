"""OpenCode: the SQLite store `<data>/opencode*.db` (1.2 and later) and the JSON message files
of older versions, `<data>/storage/message/<session>/<message>.json` (up to 1.1.65).

Traps handled here (see docs/harnesses.md):
- a message's `tokens` are its LAST step's only, while its `cost` is the sum of its steps:
  each `step-finish` part is one billed call and one event (a message without step parts
  falls back to its own tokens);
- the JSON files of an upgraded install hold the same messages as the database (the
  migration keeps their ids), a fork or an import copies messages under new ids, and a
  subagent is a child session: the key is the step's content (message time, provider,
  model, step number, tokens), so every copy counts once, and in the database the copy of
  the earliest session (the original, not the fork) is kept;
- `tokens.output` included the reasoning until about April 2026 and excludes it since: told
  apart by `tokens.total`, else by the session's OpenCode version; 1.3.4 and 1.3.5 counted
  the cache inside Anthropic and Bedrock input, which is taken out again;
- the database is read read-only while OpenCode may write it; its WAL sidecar's changes
  count as changes of the database (`ingest_plan`).
OpenCode 2.x keeps new sessions in `session_v2`/`session_message`: their assistant and
compaction rows are read with their own tokens (whether 2.x still keeps only the last
step there could not be established from its sources).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    count,
    env_paths,
    home_dir,
    load_document,
    loads,
    mapping,
    parse_ts,
    project_name,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "opencode"
ENV_VARS = ("OPENCODE_DATA_DIR", "OPENCODE_DB", "XDG_DATA_HOME")
NEEDLES: tuple[bytes, ...] = ()
_PROVIDERS = {
    "amazon-bedrock": "aws",
    "google-vertex": "google",
    "google-vertex-anthropic": "google",
    "xai": "x-ai",
    "opencode": None,
}
_CACHE_IN_INPUT_VERSIONS = ("1.3.4", "1.3.5")
_ANTHROPIC_FAMILY = ("anthropic", "amazon-bedrock", "google-vertex-anthropic")


def roots(env: Mapping[str, str]) -> list[Path]:
    """`OPENCODE_DATA_DIR` (a comma list), else `$XDG_DATA_HOME/opencode` or
    ~/.local/share/opencode (on every OS); and the folder of an absolute `OPENCODE_DB`."""
    found = env_paths(env, "OPENCODE_DATA_DIR")
    if found is None:
        xdg = env.get("XDG_DATA_HOME")
        found = [(Path(xdg) if xdg else home_dir(env) / ".local" / "share") / "opencode"]
    database = env.get("OPENCODE_DB", "")
    if database.startswith("/") and Path(database).parent not in found:
        found.append(Path(database).parent)
    return found


def _is_database(name: str) -> bool:
    return name.startswith("opencode") and name.endswith(".db")


def accepts(root: Path, path: str) -> bool:
    """A database at the top of the data folder, or a message file of the JSON storage."""
    parts = relative_parts(root, path)
    if parts is None:
        return False
    if len(parts) == 1:
        return _is_database(parts[0])
    return len(parts) == 4 and parts[:2] == ("storage", "message") and parts[3].endswith(".json")


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    with contextlib.suppress(OSError):
        yield from sorted(str(root / name) for name in _listing(root) if _is_database(name))
    yield from walk(root / "storage" / "message", lambda name: name.endswith(".json"), on_error)


def _listing(folder: Path) -> list[str]:
    return [entry.name for entry in folder.iterdir() if entry.is_file()]


def appendable(path: Path) -> bool:
    return False


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """One event per `step-finish` part (per message where a message has none)."""
    if ctx.path.suffix == ".db":
        yield from _parse_database(ctx)
    else:
        yield from _parse_message_file(lines, ctx)


# one step (or a message standing for its steps) as the parser sees it, from either storage
Step = tuple[dict[str, Any], float | None]
"""(its `tokens` object, its cost)."""


class _Session(NamedTuple):
    """What an event takes from its session."""

    id: str
    parent: str | None
    directory: str | None
    version: str | None


def _version_at_least(version: str | None, wanted: tuple[int, int]) -> bool:
    try:
        major, minor = (int(part) for part in (version or "").split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= wanted


def _events(
    message: dict[str, Any], steps: list[Step], session: _Session, ctx: FileContext, offset: int
) -> Iterator[UsageEvent]:
    """The events of one assistant message: one per step."""
    model_info = mapping(message.get("model"))
    model = text(message.get("modelID")) or text(model_info.get("id"))
    raw_provider = text(message.get("providerID")) or text(model_info.get("providerID"))
    time = mapping(message.get("time"))
    created = time.get("created")
    ts = parse_ts(created)
    if model is None or ts is None:
        ctx.stats.bad(f"message at {offset}", "assistant message without model or time")
        return
    provider = _PROVIDERS.get(raw_provider, raw_provider) if raw_provider else None
    for number, (tokens, cost) in enumerate(steps):
        input_tokens, output, reasoning, cache_read, cache_write = _tokens(
            tokens, raw_provider, session.version
        )
        if not (input_tokens or output or cache_read or cache_write):
            continue
        yield UsageEvent(
            event_key=f"opencode:{created}:{raw_provider}:{model}:{number}:{input_tokens}:{output}:"
            f"{reasoning}:{cache_read}:{cache_write}",
            ts=ts,
            harness=HARNESS,
            session_id=session.id,
            model=model,
            input_tokens=input_tokens,
            cache_read_tokens=cache_read,
            cache_write_5m_tokens=cache_write,
            output_tokens=output,
            reasoning_tokens=reasoning,
            cost_reported_usd=cost if cost else None,
            provider=provider,
            harness_version=session.version,
            parent_session_id=session.parent,
            project=project_name(session.directory),
            cwd=session.directory,
            message_id=text(message.get("id")),
            source_path=str(ctx.path),
            source_offset=offset + number,
        )


def _tokens(
    tokens: dict[str, Any], provider: str | None, version: str | None
) -> tuple[int, int, int, int, int]:
    """(uncached input, output with reasoning, reasoning, cache read, cache write) of a step."""
    cache = mapping(tokens.get("cache"))
    input_tokens, output, reasoning = (
        count(tokens.get("input")),
        count(tokens.get("output")),
        count(tokens.get("reasoning")),
    )
    cache_read, cache_write = count(cache.get("read")), count(cache.get("write"))
    total = tokens.get("total")
    if (
        version in _CACHE_IN_INPUT_VERSIONS
        and provider in _ANTHROPIC_FAMILY
        and input_tokens >= cache_read + cache_write
    ):
        input_tokens -= cache_read + cache_write
    counted = input_tokens + output + cache_read + cache_write
    if (
        isinstance(total, int)
        and reasoning
        and total in (counted + reasoning, counted + reasoning + cache_read + cache_write)
    ):
        disjoint = True
    elif isinstance(total, int) and total >= counted:
        disjoint = False
    else:
        disjoint = reasoning > output or _version_at_least(version, (1, 4))
    return input_tokens, output + reasoning if disjoint else output, reasoning, cache_read, cache_write


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _step_of(part: dict[str, Any]) -> Step | None:
    tokens = part.get("tokens")
    if part.get("type") != "step-finish" or not isinstance(tokens, dict):
        return None
    return tokens, _number(part.get("cost"))


def _message_as_step(message: dict[str, Any]) -> list[Step]:
    tokens = message.get("tokens")
    return [(tokens, _number(message.get("cost")))] if isinstance(tokens, dict) else []


# -- the JSON storage (up to 1.1.65) ------------------------------------------------------


def _parse_message_file(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    message = load_document(lines, ctx)
    if message is None or message.get("role") != "assistant":
        return
    storage = ctx.path.parents[2]
    message_id = text(message.get("id")) or ctx.path.stem
    steps = [step for part in _json_parts(storage / "part" / message_id) if (step := _step_of(part))]
    session_id = text(message.get("sessionID")) or ctx.path.parent.name
    session = _json_session(storage, session_id)
    yield from _events(message, steps or _message_as_step(message), session, ctx, 0)


def _json_parts(folder: Path) -> list[dict[str, Any]]:
    """A message's parts in id order (the order OpenCode made them)."""
    try:
        names = sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".json"))
    except OSError:
        return []
    parts = []
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            part = loads((folder / name).read_bytes())
            if isinstance(part, dict):
                parts.append(part)
    return parts


@lru_cache(maxsize=4096)
def _json_session(storage: Path, session_id: str) -> _Session:
    """The session's folder, parent and OpenCode version from `storage/session/<project>/<id>.json`."""
    for path in (storage / "session").glob(f"*/{session_id}.json"):
        with contextlib.suppress(OSError, ValueError):
            info = loads(path.read_bytes())
            if isinstance(info, dict):
                return _Session(
                    session_id,
                    text(info.get("parentID")),
                    text(info.get("directory")),
                    text(info.get("version")),
                )
    return _Session(session_id, None, None, None)


# -- the SQLite store (1.2 and later) -----------------------------------------------------


def _connect(path: Path) -> sqlite3.Connection:
    """Read-only, beside an OpenCode that may be writing (WAL); a folder we may not write
    (no -shm can be made) is read as an immutable file."""
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)
        connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return connection
    except sqlite3.OperationalError:
        return sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)


_LEGACY_ROWS = """
SELECT s.id, s.parent_id, s.directory, s.version, m.id, m.data, p.data
FROM message m
JOIN session s ON s.id = m.session_id
LEFT JOIN part p ON p.message_id = m.id AND json_extract(p.data, '$.type') = 'step-finish'
WHERE json_extract(m.data, '$.role') = 'assistant'
ORDER BY s.time_created, s.id, m.id, p.id
"""
_V2_ROWS = """
SELECT v.id, v.parent_id, v.directory, v.version, sm.id, sm.data
FROM session_message sm
JOIN session_v2 v ON v.id = sm.session_id
WHERE sm.type IN ('assistant', 'compaction')
  AND json_extract(sm.data, '$.time.created') > coalesce(
      (SELECT max(json_extract(m.data, '$.time.created')) FROM message m WHERE m.session_id = v.id), -1)
ORDER BY v.time_created, v.id, sm.seq
"""


def _parse_database(ctx: FileContext) -> Iterator[UsageEvent]:
    try:
        connection = _connect(ctx.path)
    except sqlite3.Error as error:
        ctx.stats.bad("database", f"cannot open: {error}")
        return
    with contextlib.closing(connection):
        try:
            tables = {
                name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if {"session", "message", "part"} <= tables:
                yield from _legacy_events(connection.execute(_LEGACY_ROWS), ctx)
            if {"session_v2", "session_message", "message"} <= tables:
                yield from _v2_events(connection.execute(_V2_ROWS), ctx)
        except sqlite3.Error as error:
            ctx.stats.bad("database", f"cannot read: {error}")


def _legacy_events(rows: Iterator[tuple[Any, ...]], ctx: FileContext) -> Iterator[UsageEvent]:
    """Rows of (session, parent, folder, version, message id, message, step part), grouped by
    message in the order of the query."""
    current: tuple[_Session, dict[str, Any]] | None = None
    steps: list[Step] = []
    row_number = 0
    for row_number, (session_id, parent, directory, version, message_id, data, part) in enumerate(rows, 1):
        if current is None or current[1].get("id") != message_id:
            if current is not None:
                yield from _events(
                    current[1], steps or _message_as_step(current[1]), current[0], ctx, row_number * 1000
                )
            message = _row_object(data, ctx, row_number)
            current = (_Session(session_id, parent, directory, version), {**message, "id": message_id})
            steps = []
        if part is not None and (step := _step_of(_row_object(part, ctx, row_number))):
            steps.append(step)
    if current is not None:
        yield from _events(
            current[1], steps or _message_as_step(current[1]), current[0], ctx, (row_number + 1) * 1000
        )


def _v2_events(rows: Iterator[tuple[Any, ...]], ctx: FileContext) -> Iterator[UsageEvent]:
    for row_number, (session_id, parent, directory, version, message_id, data) in enumerate(rows, 1):
        message = {**_row_object(data, ctx, row_number), "id": message_id}
        session = _Session(session_id, parent, directory, version)
        yield from _events(message, _message_as_step(message), session, ctx, 10**9 + row_number * 1000)


def _row_object(data: Any, ctx: FileContext, row: int) -> dict[str, Any]:
    try:
        value = loads(data.encode() if isinstance(data, str) else data)
    except (ValueError, AttributeError, TypeError):
        ctx.stats.bad(f"row {row}", "invalid JSON")
        return {}
    return mapping(value)
