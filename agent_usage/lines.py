"""Complete lines of a session file, read in large blocks, optionally only the lines a parser
can use.

Most bytes of a Claude or Codex history are tool output on lines that carry no usage. Handing
each of those lines to Python costs more than the parse of the lines that matter, so when a
parser names its `NEEDLES` (a line without any of them can only be skipped) the reader finds
the needles with `bytes.find` and yields just the lines around them.

Skipped lines still have to be checked for damage (`check_skipped_line`). That check passes
for every line that starts with `{` and ends with `}`; one count over the block proves that
of all its lines at once, and a block where it fails is read line by line as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

BLOCK_BYTES = 8 * 1024 * 1024
"""Read size; a line longer than this is assembled across blocks."""


def _all_objects(data: bytes, limit: int) -> bool:
    """Whether every line of `data[:limit]` (which ends with a newline) is `{...}`.

    True when the block starts with `{`, ends with `}` and a newline, and every newline but
    the last sits in `}\\n{`: two counts, the second a fast skip search.
    """
    if not (data.startswith(b"{") and data.endswith(b"}\n", 0, limit)):
        return False
    return data.count(b"}\n{", 0, limit) == data.count(b"\n", 0, limit) - 1


def _candidate_lines(data: bytes, limit: int, needles: tuple[bytes, ...]) -> list[tuple[int, int]]:
    """(start, end) of the lines of `data[:limit]` that contain any needle, in order."""
    ends: dict[int, int] = {}
    for needle in needles:
        position = data.find(needle, 0, limit)
        while position >= 0:
            start = data.rfind(b"\n", 0, position) + 1
            end = data.find(b"\n", position, limit) + 1  # every line in range ends with \n
            ends[start] = end
            position = data.find(needle, end, limit)
    return sorted(ends.items())


def _every_line(data: bytes, limit: int, base: int) -> Iterator[tuple[int, bytes]]:
    position = 0
    while position < limit:
        end = data.find(b"\n", position, limit) + 1
        yield base + position, data[position:end]
        position = end


def block_lines(
    data: bytes, limit: int, base: int, needles: tuple[bytes, ...]
) -> Iterator[tuple[int, bytes]]:
    """(file offset, line) of the complete lines in `data[:limit]` a parser must see."""
    if not needles or not _all_objects(data, limit):
        yield from _every_line(data, limit, base)
        return
    for start, end in _candidate_lines(data, limit, needles):
        yield base + start, data[start:end]


class LineReader:
    """Complete lines of a file from a byte offset; `end` is where the next read starts.

    The handle must be positioned at `start`. A final line without a newline is left for
    the next read, unless `whole` says the file is read in one piece (a rewritten document
    or a decompressed archive).
    """

    def __init__(self, handle: BinaryIO, start: int, whole: bool, needles: tuple[bytes, ...] = ()) -> None:
        self.handle = handle
        self.start = start
        self.end = start
        self.whole = whole
        self.needles = needles

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        base = self.start
        carry = b""
        while True:
            block = self.handle.read(BLOCK_BYTES)
            if not block:
                break
            data = carry + block if carry else block
            limit = data.rfind(b"\n") + 1
            if limit == 0:
                carry = data
                continue
            yield from block_lines(data, limit, base, self.needles)
            base += limit
            self.end = base
            carry = data[limit:]
        if carry and self.whole:
            yield base, carry
            self.end = base + len(carry)
