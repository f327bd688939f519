"""Dropping copies before the merge (`keep_best_copies`, run by ingest and its workers) must
store exactly what merging every copy stores."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_usage import store
from agent_usage.records import UsageEvent

BASE = datetime(2026, 3, 1, 9, 0)


@st.composite
def copies(draw: st.DrawFn) -> list[UsageEvent]:
    """Events over a few keys, with clashing ranks, paths, offsets and timestamps."""
    events = []
    for index in range(draw(st.integers(min_value=1, max_value=30))):
        key = draw(st.sampled_from(["k1", "k2", "k3", "k4"]))
        events.append(
            UsageEvent(
                event_key=f"cc:{key}",
                ts=BASE + timedelta(seconds=draw(st.integers(min_value=0, max_value=5))),
                harness="claude-code",
                session_id="s",
                model="claude-sonnet-4-5",
                output_tokens=draw(st.integers(min_value=0, max_value=3)),
                cwd=f"/src/copy-{index}",  # tells the stored copy apart
                message_id=key,
                is_sidechain=draw(st.booleans()),
                rank=draw(st.integers(min_value=0, max_value=2)),
                source_path=draw(st.sampled_from(["/a.jsonl", "/b.jsonl"])),
                source_offset=index * 10,
            )
        )
    return events


def stored(db: Path, batches: list[list[UsageEvent]]) -> list[tuple]:
    with store.connect(db) as con:
        for batch in batches:
            store.write_batch(con, [store.encode_events(batch)], [], [])
        return con.execute("SELECT * FROM events ORDER BY event_key").fetchall()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(copies(), st.integers(min_value=0, max_value=30))
def test_keeping_the_best_copy_first_stores_the_same_rows(
    tmp_path_factory, events: list[UsageEvent], split: int
) -> None:
    folder = tmp_path_factory.mktemp("merge")
    first, second = events[:split], events[split:]
    every_copy = stored(folder / "all.duckdb", [first, second])
    reduced = [store.keep_best_copies([dataclasses.replace(e) for e in part])[0] for part in (first, second)]
    assert stored(folder / "reduced.duckdb", reduced) == every_copy


def test_the_kept_copy_and_its_timestamp() -> None:
    late_best = UsageEvent(
        "cc:k",
        BASE + timedelta(minutes=1),
        "claude-code",
        "s",
        "m",
        rank=5,
        source_path="/b",
        source_offset=7,
    )
    early = UsageEvent("cc:k", BASE, "claude-code", "s", "m", rank=1, source_path="/a", source_offset=0)
    tie_later_offset = dataclasses.replace(late_best, source_offset=9, cwd="other")
    kept, dropped = store.keep_best_copies([early, tie_later_offset, late_best])
    assert dropped == 2 and len(kept) == 1
    assert kept[0].source_offset == 7 and kept[0].ts == BASE and kept[0].cwd is None
