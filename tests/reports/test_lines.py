"""The block reader: right offsets, right `end`, and the needle shortcut never hides a line a
parser would have counted as damaged."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_usage import lines
from agent_usage.lines import LineReader

NEEDLES = (b'"usage"', b'"session"')

line_text = st.one_of(
    st.sampled_from(
        [
            b'{"type":"assistant","message":{"usage":{"input_tokens":3}}}',
            b'{"type":"user","content":"' + b"tool output " * 40 + b'"}',
            b'{"type":"session","id":"s1"}',
            b'{"a":"usage"}',
            b"",
            b"   ",
            b'{"truncated":"usage',
            b"not json at all",
            b'  {"padded":"usage"}  ',
            b'{"cr":"usage"}\r',
        ]
    ),
    st.binary(max_size=40).map(lambda raw: raw.replace(b"\n", b"")),
)


def every_line(data: bytes) -> list[tuple[int, bytes]]:
    """Every complete line, split on newlines only (as a file iterator splits)."""
    found, offset = [], 0
    for line in io.BytesIO(data):
        if line.endswith(b"\n"):
            found.append((offset, line))
        offset += len(line)
    return found


def read(data: bytes, start: int = 0, whole: bool = False, needles: tuple[bytes, ...] = NEEDLES):
    reader = LineReader(io.BytesIO(data[start:]), start, whole, needles)
    return list(reader), reader.end


@settings(max_examples=300, deadline=None)
@given(st.lists(line_text, max_size=30), st.integers(min_value=1, max_value=300), st.booleans())
def test_needle_lines_are_every_line_a_parser_could_use(
    texts: list[bytes], block: int, partial_tail: bool
) -> None:
    data = b"".join(text + b"\n" for text in texts) + (b'{"tail":"usage"' if partial_tail else b"")
    original = lines.BLOCK_BYTES
    lines.BLOCK_BYTES = block
    try:
        got, end = read(data)
        plain, plain_end = read(data, needles=())
    finally:
        lines.BLOCK_BYTES = original
    complete = every_line(data)
    assert plain == complete
    assert end == plain_end == (complete[-1][0] + len(complete[-1][1]) if complete else 0)
    for offset, line in got:
        assert data[offset : offset + len(line)] == line
    left_out = [pair for pair in complete if pair not in got]
    for _, line in left_out:
        stripped = line.strip()
        assert stripped.startswith(b"{") and stripped.endswith(b"}")  # a parser would not count it
        assert not any(needle in line for needle in NEEDLES)
    assert got == sorted(got)


def test_reading_resumes_at_an_offset_and_keeps_a_partial_line_for_later() -> None:
    data = b'{"a":1}\n{"usage":2}\n{"usage":3'
    got, end = read(data, start=8)
    assert got == [(8, b'{"usage":2}\n')] and end == 20
    whole, whole_end = read(data, whole=True, needles=())
    assert whole[-1] == (20, b'{"usage":3') and whole_end == len(data)


@pytest.mark.parametrize("block", [3, 7, 64])
def test_a_line_longer_than_a_block_is_assembled(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "BLOCK_BYTES", block)
    long_line = b'{"usage":"' + b"x" * 200 + b'"}\n'
    data = b'{"a":1}\n' + long_line + b'{"b":2}\n'
    assert read(data)[0] == [(8, long_line)]


def test_a_block_with_one_damaged_line_is_read_line_by_line() -> None:
    data = b'{"a":1}\nbroken\n{"usage":1}\n'
    assert [line for _, line in read(data)[0]] == [b'{"a":1}\n', b"broken\n", b'{"usage":1}\n']
