"""The status line itself: segments from the facts and the payload, a template, and colour.

Time-dependent parts (the block's time left) are worked out here, at the moment of the
call, so a cached fact stays true to the minute. Imports stay light: this runs on every call.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from agent_usage.render.format import money
from agent_usage.statusline.facts import BlockFacts, Facts, Figure
from agent_usage.statusline.payload import Payload

SEGMENTS = ("model", "session", "today", "block", "left", "burn", "budget", "limits", "context", "problem")
DEFAULT_FORMAT = "{model} | {session} | {today} | {block} | {burn} | {budget} | {problem}"
STATUS_COLOURS = {"warning": "33", "exceeded": "31"}
"""ANSI colours of a budget's state: amber from its warn share, red from its limit (as elsewhere)."""
WINDOW_NAMES = {"five_hour": "5h", "seven_day": "7d"}
"""Short names of the subscription windows Claude Code passes in `rate_limits`."""


class FormatError(ValueError):
    """A `--format` template that names no known segment or cannot be read."""


def span(seconds: float) -> str:
    """`2h05m` or `42m`."""
    minutes = max(int(seconds // 60), 0)
    hours, rest = divmod(minutes, 60)
    return f"{hours}h{rest:02d}m" if hours else f"{rest}m"


def _spent(figure: Figure | BlockFacts | None, label: str) -> str:
    """`$1.20 today`, `$1.20 +2 unpriced today`: usage without a price is never a silent $0."""
    if figure is None:
        return ""
    unpriced = f" +{figure.unpriced_events} unpriced" if figure.unpriced_events else ""
    return f"{money(figure.cost_usd)}{unpriced} {label}"


def seconds_left(facts: Facts, payload: Payload, now: float) -> float | None:
    """Until the 5-hour window ends: Anthropic's own reset time when Claude Code passes it,
    else the end of the block worked out from the transcripts."""
    window = payload.rate_limits.get("five_hour")
    if window is not None and window.resets_at is not None and window.resets_at > now:
        return window.resets_at - now
    if facts.block is not None and facts.block.end > now:
        return facts.block.end - now
    return None


def segments(facts: Facts | None, payload: Payload, now: float, colour: bool) -> dict[str, str]:
    """Every segment's text (empty when it has nothing to say)."""
    facts = facts or Facts(at=now, stamp=())
    session = _spent(facts.session, "session")
    if not session and payload.claude_cost_usd is not None:
        session = f"~{money(payload.claude_cost_usd)} session"  # Claude Code's own estimate
    left = seconds_left(facts, payload, now)
    block = ""
    if facts.block is not None and left is not None:
        block = f"{_spent(facts.block, 'block')} ({span(left)} left)"
    burn = ""
    if facts.block is not None and facts.block.cost_per_hour is not None and left is not None:
        burn = f"{money(facts.block.cost_per_hour)}/h"
    limits = " · ".join(
        f"{WINDOW_NAMES.get(name, name)} {window.used_percentage:.0f}%"
        for name, window in payload.rate_limits.items()
    )
    context = payload.context_used_percentage
    return {
        "model": payload.model,
        "session": session,
        "today": _spent(facts.today, "today"),
        "block": block,
        "left": f"{span(left)} left" if left is not None and facts.block is not None else "",
        "burn": burn,
        "budget": _budget(facts, colour),
        "limits": limits,
        "context": f"ctx {context:.0f}%" if context is not None else "",
        "problem": f"agent-usage: {facts.problem or payload.problem}"
        if facts.problem or payload.problem
        else "",
    }


def _budget(facts: Facts, colour: bool) -> str:
    """The most used budget: `monthly 81%`, amber or red by its state."""
    if not facts.budgets:
        return ""
    top = max(facts.budgets, key=lambda b: b.spend_usd / b.limit_usd)
    text = f"{top.name} {top.spend_usd / top.limit_usd:.0%}"
    code = STATUS_COLOURS.get(top.status)
    return f"\033[{code}m{text}\033[0m" if colour and code else text


def check_format(template: str) -> list[tuple[str, str | None]]:
    """(literal text, segment name) pairs of a template; a FormatError names a bad segment."""
    try:
        parts = [(literal, name) for literal, name, _, _ in string.Formatter().parse(template)]
    except ValueError as error:
        raise FormatError(f"--format: {error}") from error
    for _, name in parts:
        if name is not None and name not in SEGMENTS:
            raise FormatError(f"--format: unknown segment {{{name}}}; segments: {', '.join(SEGMENTS)}")
    return parts


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with its segments filled in. The text before a segment is its separator
    and goes when the segment is empty, so `a | {empty} | b` reads `a | b`; the first segment
    shown keeps the text before it only when it opens the template. Closing text stays."""
    out: list[str] = []
    shown = False
    for index, (literal, name) in enumerate(check_format(template)):
        if name is None:  # the text after the last segment
            if shown:
                out.append(literal)
            continue
        value = values.get(name, "")
        if not value:
            continue
        if shown or index == 0:
            out.append(literal)
        out.append(value)
        shown = True
    return "".join(out).strip()


def document(facts: Facts | None, payload: Payload, now: float) -> dict[str, Any]:
    """The same facts for `--json` (tmux, starship, polybar)."""
    facts = facts or Facts(at=now, stamp=())
    left = seconds_left(facts, payload, now)

    def figure(value: Figure | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {"cost_usd": value.cost_usd, "unpriced_events": value.unpriced_events, "tokens": value.tokens}

    block = facts.block
    return {
        "model": payload.model or None,
        "session_id": payload.session_id or None,
        "session": figure(facts.session),
        "claude_cost_usd": payload.claude_cost_usd,
        "today": figure(facts.today),
        "block": None
        if block is None
        else {
            "cost_usd": block.cost_usd,
            "unpriced_events": block.unpriced_events,
            "tokens": block.tokens,
            "start": block.start,
            "end": block.end,
            "seconds_left": left,
            "burn_usd_per_hour": block.cost_per_hour,
            "projected_cost_usd": block.projected_cost_usd,
        },
        "budgets": [
            {"name": b.name, "spend_usd": b.spend_usd, "limit_usd": b.limit_usd, "status": b.status}
            for b in facts.budgets
        ],
        "rate_limits": {
            name: {"used_percentage": w.used_percentage, "resets_at": w.resets_at}
            for name, w in payload.rate_limits.items()
        },
        "context_used_percentage": payload.context_used_percentage,
        "as_of": facts.at,
        "problem": facts.problem or payload.problem,
    }
