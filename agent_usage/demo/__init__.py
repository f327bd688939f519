"""A realistic, deterministic session history for every harness read, at any size.

Each harness's writer lives in its own module, named like its parser, and writes that
harness's real on-disk format with its traps (per-block copies and subagents for Claude,
re-emitted token counts for Codex, re-appended messages for Gemini, forks for pi, doubled
usage records and branches for Qwen Code, multi-step messages and forks for OpenCode,
mirrored subagent steps for Kimi, agent spans that repeat their calls for Copilot, inclusive
totals for Droid), so the demo and the benchmarks exercise the same code as real data. The
text is filler: nothing resembling a real prompt is written.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from agent_usage.demo import (
    claude_code,
    codex,
    copilot_cli,
    droid,
    gemini_cli,
    kimi_cli,
    opencode,
    pi,
    qwen_code,
)
from agent_usage.demo.common import FIRST_HOUR, LAST_HOUR, DemoCorpus, DemoWriter

__all__ = ["DemoCorpus", "generate"]

PROJECTS = ("shop", "api", "infra", "docs-site", "ml-pipeline")
HARNESSES = (claude_code, codex, gemini_cli, pi, qwen_code, opencode, kimi_cli, copilot_cli, droid)
ROTATION = (claude_code, *HARNESSES)
"""The harness of each next session, in turn: every harness appears, Claude most."""
LONGEST_SESSION = timedelta(hours=2)
"""A demo session (up to 14 turns of up to 5 minutes, plus subagents) ends within this."""


def _fold_before(start: datetime, latest: datetime) -> datetime:
    """`start` moved into the part of its day's working hours that is already over.

    No random draw: the rest of the history stays what the seed makes it.
    """
    first = start.replace(hour=FIRST_HOUR, minute=0, second=0)
    return first + (start - first) % (latest - first + timedelta(seconds=1))


def generate(
    root: Path,
    *,
    days: int = 28,
    sessions_per_day: int = 4,
    seed: int = 7,
    end: date | None = None,
    now: datetime | None = None,
    tool_output_bytes: int = 1_500,
    target_bytes: int | None = None,
) -> DemoCorpus:
    """Write a history of `days` days ending on `end`, or until `target_bytes`.

    Without `end` the history ends before `now` (naive UTC, default the clock): a demo run at
    01:00 shows no session from later that day, and before the working day starts the last
    day is yesterday.
    """
    rng = random.Random(seed)
    env = {name: str(root / folder) for harness in HARNESSES for name, folder in harness.ROOTS.items()}
    corpus = DemoCorpus(root, {**env, "HOME": str(root / "home")}, turns={h.HARNESS: 0 for h in HARNESSES})
    out = DemoWriter(root, rng, tool_output_bytes, corpus)
    latest: datetime | None = None  # no session may start after this
    if end is not None:
        last_day = end
    else:
        latest = (now or datetime.now(UTC).replace(tzinfo=None)) - LONGEST_SESSION
        last_day = latest.date() if latest.hour >= FIRST_HOUR else latest.date() - timedelta(days=1)
    round_no, session_no = 0, 0
    while True:
        for offset in range(days - 1, -1, -1):
            day = last_day - timedelta(days=offset)
            if rng.random() < 0.15 and target_bytes is None:
                continue  # a day off
            for _ in range(sessions_per_day):
                start = datetime(
                    day.year,
                    day.month,
                    day.day,
                    rng.randint(FIRST_HOUR, LAST_HOUR),
                    rng.randint(0, 59),
                    rng.randint(0, 59),
                )
                if latest is not None and start > latest:
                    start = _fold_before(start, latest)
                harness = ROTATION[session_no % len(ROTATION)]
                session_no += 1
                harness.write_session(out, start, rng.choice(PROJECTS), rng.randint(3, 14))
                if target_bytes is not None and corpus.bytes_written >= target_bytes:
                    return corpus
        round_no += 1
        if target_bytes is None or round_no > 10_000:
            return corpus
