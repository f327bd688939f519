"""What Claude Code passes a status line command on stdin, read defensively.

The standard library's json, not orjson: importing orjson costs more than it saves on a
payload of a few kilobytes, and this runs on every call.

Every field is optional in practice (a fresh session has no `rate_limits`, a non-git folder no
repo), and a status line must never fail: a missing, empty or broken payload is still a
`Payload`, with `problem` saying what was wrong.
"""

from __future__ import annotations

import json
import os
import select
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO

STDIN_WAIT_S = 0.5
"""How long to wait for a payload that is not there yet (Claude Code writes it at once)."""
MAX_PAYLOAD_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One of Anthropic's subscription windows as Claude Code reports it."""

    used_percentage: float
    resets_at: float | None  # seconds since the epoch


@dataclass(frozen=True, slots=True)
class Payload:
    """The facts of one status line call that come from Claude Code itself."""

    session_id: str = ""
    transcript_path: str = ""
    model: str = ""
    cwd: str = ""
    claude_cost_usd: float | None = None
    context_used_percentage: float | None = None
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    raw: bytes = b""
    problem: str | None = None


def read_payload(stream: BinaryIO | None = None) -> Payload:
    """The payload on stdin; a terminal (someone trying the command by hand) is no payload."""
    stream = stream if stream is not None else sys.stdin.buffer
    try:
        if stream.isatty():
            return Payload(problem="no session data on stdin")
        if not _ready(stream):
            return Payload(problem="no session data on stdin")
        raw = stream.read(MAX_PAYLOAD_BYTES)
    except (OSError, ValueError) as error:
        return Payload(problem=f"cannot read stdin: {error}")
    return parse_payload(raw)


def _ready(stream: BinaryIO) -> bool:
    """Whether data (or its end) arrives on `stream` within `STDIN_WAIT_S`."""
    try:
        ready, _, _ = select.select([stream], [], [], STDIN_WAIT_S)
    except (OSError, ValueError, TypeError):  # not a real file (a test's BytesIO): just read it
        return True
    return bool(ready)


def parse_payload(raw: bytes) -> Payload:
    """The payload in `raw`; anything that is not a JSON object gives an empty one with a problem."""
    if not raw.strip():
        return Payload(problem="no session data on stdin")
    try:
        data = json.loads(raw)
    except ValueError:  # not JSON, or not UTF-8
        return Payload(raw=raw, problem="stdin is not JSON")
    if not isinstance(data, dict):
        return Payload(raw=raw, problem="stdin is not a JSON object")
    model = _mapping(data.get("model"))
    return Payload(
        session_id=_text(data.get("session_id")),
        transcript_path=os.path.expanduser(_text(data.get("transcript_path"))),
        model=_text(model.get("display_name")) or _text(model.get("id")),
        cwd=_text(data.get("cwd")) or _text(_mapping(data.get("workspace")).get("current_dir")),
        claude_cost_usd=_number(_mapping(data.get("cost")).get("total_cost_usd")),
        context_used_percentage=_number(_mapping(data.get("context_window")).get("used_percentage")),
        rate_limits=_rate_limits(data.get("rate_limits")),
        raw=raw,
    )


def _rate_limits(value: Any) -> dict[str, RateLimit]:
    limits: dict[str, RateLimit] = {}
    for name, window in _mapping(value).items():
        window = _mapping(window)
        used = _number(window.get("used_percentage"))
        if used is not None:
            limits[str(name)] = RateLimit(used, _number(window.get("resets_at")))
    return limits


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)
