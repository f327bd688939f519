"""What every harness's demo writer shares: the corpus counters, the seeded draws, JSON lines."""

from __future__ import annotations

import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

FIRST_HOUR, LAST_HOUR = 7, 21
"""Sessions start between 07:00 and 21:59 UTC."""
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


@dataclass(slots=True)
class DemoCorpus:
    """Where the generated history lives and the environment that points the parsers at it."""

    root: Path
    env: dict[str, str]
    files: int = 0
    bytes_written: int = 0
    turns: dict[str, int] = field(default_factory=dict)


def iso(ts: datetime) -> str:
    """`ts` as the agents write it: UTC with milliseconds and a Z."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    """One entry of `weighted`, whose last field is its probability."""
    roll, acc = rng.random(), 0.0
    for entry in weighted:
        acc += entry[-1]
        if roll <= acc:
            return entry
    return weighted[-1]


class DemoWriter:
    """The seeded random source and the file writer every harness module draws from and
    writes through; it keeps the corpus's counters."""

    def __init__(self, root: Path, rng: random.Random, tool_bytes: int, corpus: DemoCorpus) -> None:
        self.root, self.rng, self.tool_bytes, self.corpus = root, rng, tool_bytes, corpus
        self._newest: dict[Path, datetime] = {}

    def uid(self) -> str:
        """A uuid4 string drawn from the seeded source (so the history is reproducible)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def filler(self, size: int) -> str:
        """`size` characters of filler text (tool output, never anything like a prompt)."""
        return (FILLER * (size // len(FILLER) + 1))[:size]

    def open(self, path: Path) -> IO[bytes]:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.corpus.files += 1
        return path.open("wb")

    def line(self, handle: IO[bytes], obj: Any) -> None:
        data = orjson.dumps(obj) + b"\n"
        handle.write(data)
        self.corpus.bytes_written += len(data)

    def written_at(self, path: Path, ts: datetime) -> None:
        """Give `path` the mtime an agent would have left: the time of its last line (UTC)."""
        stamp = ts.replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))

    def added_to(self, path: Path, ts: datetime) -> None:
        """Give a file that several sessions add to (a day's OTel spans, OpenCode's database)
        the mtime of its newest event: sessions are not written in time order."""
        self._newest[path] = max(ts, self._newest.get(path, ts))
        self.written_at(path, self._newest[path])

    def turn(self, harness: str) -> None:
        """Count one assistant turn written for `harness`."""
        self.corpus.turns[harness] += 1
