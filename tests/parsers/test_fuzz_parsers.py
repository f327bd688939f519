"""Every parser on hostile input: it never raises, never yields a negative count, and counts
what it skipped. Valid lines come from the real fixture files. Hypothesis mixes them with
truncations, wrong types, absurd numbers, invalid UTF-8 and binary garbage."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_usage.lines import LineReader
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import FileContext
from agent_usage.records import UsageEvent
from tests.conftest import FIXTURES

PATHS = {
    "claude-code": "projects/-home-al-src-shop/7f3a9c1e-2b44-4d1e-9a0b-5c6d7e8f9012.jsonl",
    "codex": "sessions/2026/03/02/rollout-2026-03-02T09-10-00-0198f3c2-7a10-7c3e-9d41-2b6f8e0a1c55.jsonl",
    "gemini-cli": ".gemini/tmp/shop/chats/session-2026-06-01T08-00-9d0e1111.jsonl",
    "pi": ".pi/agent/sessions/--home-al-src-shop--/2026-01-05T10-22-13-456Z_5b7e2c1a.jsonl",
    "qwen-code": ".qwen/projects/-home-al-src-shop/chats/69f0814a-8bfc-4c8e-93d3-05757f17b901.jsonl",
    "kimi-cli": ".kimi/sessions/b380e1ef881e26d4d32bee327eb0c035/3f1c2b9e/wire.jsonl",
    "copilot-cli": ".copilot/otel/copilot-2026-04-11.jsonl",
}
COUNT_FIELDS = [f.name for f in fields(UsageEvent) if f.name.endswith("_tokens")]


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False


def fixture_lines(harness: str) -> list[bytes]:
    """Every well-formed JSON line of the harness's fixtures (some fixtures hold broken ones on purpose)."""
    lines = []
    for path in sorted((FIXTURES / harness).rglob("*.jsonl")):
        lines.extend(line for line in path.read_bytes().splitlines() if _is_object(line))
    return lines


LINE_HARNESSES = sorted(set(PARSERS) - {"opencode", "droid", "amp"})
"""Harnesses whose files are lines; OpenCode's are whole documents and a SQLite database,
Droid's and Amp's one document each (test_opencode.py, test_droid.py and test_amp.py give
them hostile input)."""
LINES = {harness: fixture_lines(harness) for harness in LINE_HARNESSES}


def _mutate_numbers(value: object, replacement: object) -> object:
    if isinstance(value, dict):
        return {k: _mutate_numbers(v, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_mutate_numbers(v, replacement) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return replacement
    return value


@st.composite
def hostile_line(draw: st.DrawFn, harness: str) -> tuple[bytes, bool]:
    """(line, is_garbage): garbage is a line no parser may accept as a JSON object."""
    base = draw(st.sampled_from(LINES[harness]))
    kind = draw(st.sampled_from(["valid", "truncated", "numbers", "garbage", "utf8", "types", "empty"]))
    if kind == "valid":
        return base, False
    if kind == "truncated":
        cut = draw(st.integers(min_value=1, max_value=max(1, len(base) - 2)))
        # cut right after an inner `}`, a line without the parser's needles still looks whole
        # to the skip check (docs/harnesses.md, Bad input): only other cuts must be counted
        return base[:cut], not base[:cut].endswith(b"}")
    if kind == "numbers":
        replacement = draw(st.sampled_from([-1, -(10**12), 10**15, 2**63 - 1, "12", None, 1.5e300, True]))
        return orjson.dumps(_mutate_numbers(orjson.loads(base), replacement)), False
    if kind == "garbage":
        # a blank line is not damage (every parser skips it silently), so junk has content
        junk = draw(
            st.binary(min_size=1, max_size=300).filter(
                lambda b: b.strip() and b"{" not in b and b"\n" not in b
            )
        )
        return junk, True
    if kind == "utf8":
        at = draw(st.integers(min_value=0, max_value=len(base)))
        return base[:at] + b"\xff\xfe\x80" + base[at:], False
    if kind == "types":
        obj = orjson.loads(base)
        key = draw(st.sampled_from(sorted(obj)))
        obj[key] = draw(st.sampled_from([None, [], {}, "x", 0, -3]))
        return orjson.dumps(obj), False
    return b"", False


def run_parser(
    harness: str, lines: list[bytes], every_line: bool = False
) -> tuple[list[UsageEvent], int, list[str]]:
    """Parse `lines` as ingest does (only the needle lines), or with every line read."""
    data = b"".join(line + b"\n" for line in lines)
    ctx = FileContext(path=Path("/fuzz") / PATHS[harness])
    needles = () if every_line else PARSERS[harness].NEEDLES
    events = list(PARSERS[harness].parse(LineReader(io.BytesIO(data), 0, False, needles), ctx))
    return events, ctx.stats.bad_lines, ctx.stats.bad_line_notes


@pytest.mark.parametrize("harness", LINE_HARNESSES)
def test_parsers_survive_hostile_lines(harness: str) -> None:
    assert LINES[harness], f"no fixture lines for {harness}"

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(hostile_line(harness), min_size=1, max_size=25))
    def check(generated: list[tuple[bytes, bool]]) -> None:
        lines = [line for line, _ in generated]
        events, bad, notes = run_parser(harness, lines)
        # reading only the needle lines must change nothing: same events, same skipped lines
        assert (events, bad, notes) == run_parser(harness, lines, every_line=True)
        for event in events:
            for name in COUNT_FIELDS:
                value = getattr(event, name)
                assert isinstance(value, int) and value >= 0, (name, value)
            assert event.reasoning_tokens <= event.output_tokens or harness != "claude-code"
        assert bad >= sum(1 for _, garbage in generated if garbage)

    check()


@pytest.mark.parametrize("harness", LINE_HARNESSES)
def test_empty_and_binary_files(harness: str) -> None:
    assert run_parser(harness, []) == ([], 0, [])
    events, bad, _ = run_parser(harness, [bytes(range(256)).replace(b"\n", b"").replace(b"{", b"")] * 3)
    assert events == [] and bad == 3


@pytest.mark.parametrize("harness", LINE_HARNESSES)
def test_a_50_mb_line_is_skipped_not_fatal(harness: str) -> None:
    huge = (
        b'{"type": "assistant", "padding": "' + b"x" * (50 * 1024 * 1024) + b'"'
    )  # truncated: no closing brace
    valid = LINES[harness]
    events, bad, _ = run_parser(harness, [*valid, huge])
    clean, clean_bad, _ = run_parser(harness, valid)
    assert len(events) == len(clean) and bad == clean_bad + 1
