"""The demo history looks like a real one: it never holds a turn from later than the moment it is made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.demo import generate
from agent_usage.ingest import ingest
from agent_usage.parsers import PARSERS


def _turns_per_day(db: Path) -> tuple[datetime, dict[date, int]]:
    with store.connect(db, read_only=True) as con:
        latest = con.execute("SELECT max(ts) FROM events").fetchone()[0]
        days = dict(con.execute("SELECT ts::DATE, count(*) FROM events GROUP BY 1").fetchall())
    return latest, days


@pytest.mark.parametrize(
    ("now", "last_day"),
    [
        (datetime(2026, 11, 23, 1, 30), date(2026, 11, 22)),  # before work: the history ends yesterday
        (datetime(2026, 11, 23, 12, 0), date(2026, 11, 23)),  # mid-morning: today's sessions are over
        (datetime(2026, 11, 23, 23, 50), date(2026, 11, 23)),
    ],
)
def test_the_demo_history_ends_before_now(tmp_path: Path, now: datetime, last_day: date) -> None:
    corpus = generate(tmp_path / "corpus", days=3, sessions_per_day=6, seed=2, now=now)
    db = tmp_path / "demo.duckdb"
    ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
    latest, days = _turns_per_day(db)
    assert latest < now
    assert max(days) == last_day
    assert days[last_day] > 0


def test_a_fixed_end_day_keeps_the_whole_working_day(tmp_path: Path) -> None:
    """With `end` given (benchmarks, tests), sessions spread over 07:00 to 22:00 as before."""
    corpus = generate(tmp_path / "corpus", days=2, sessions_per_day=6, seed=2, end=date(2026, 11, 23))
    db = tmp_path / "demo.duckdb"
    ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
    latest, days = _turns_per_day(db)
    assert max(days) == date(2026, 11, 23)
    assert latest > datetime(2026, 11, 23, 13, 0)


def test_each_demo_file_was_last_written_at_its_last_event(tmp_path: Path) -> None:
    """As an agent leaves them: a period's report can then skip the files before it."""
    now = datetime(2026, 11, 23, 12, 0)
    corpus = generate(tmp_path / "corpus", days=4, sessions_per_day=6, seed=5, now=now)
    db = tmp_path / "demo.duckdb"
    ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
    with store.connect(db, read_only=True) as con:
        last = con.execute("SELECT source_path, max(ts) FROM events GROUP BY 1").fetchall()
    assert len(last) > corpus.files // 2  # a pi fork holds only copies, so no row comes from it
    for path, ts in last:
        written = datetime.fromtimestamp(Path(path).stat().st_mtime, UTC).replace(tzinfo=None)
        assert ts <= written <= ts + timedelta(seconds=30) and written < now, path
    assert all(p.stat().st_mtime < now.replace(tzinfo=UTC).timestamp() for p in corpus.root.rglob("*.jsonl"))


def test_every_harness_is_in_the_demo_and_each_turn_counts_once(tmp_path: Path) -> None:
    """Each writer's traps (copies per block, re-emits, forks, doubled Qwen records) leave one
    event per turn it wrote."""
    corpus = generate(tmp_path / "corpus", days=4, sessions_per_day=6, seed=5, end=date(2026, 11, 23))
    db = tmp_path / "demo.duckdb"
    ingest(db, env=corpus.env, prices_file=tmp_path / "none.toml")
    with store.connect(db, read_only=True) as con:
        per_harness = dict(con.execute("SELECT harness, count(*) FROM events GROUP BY 1").fetchall())
    assert set(per_harness) == set(corpus.turns) == set(PARSERS) - {"amp"}  # Amp writes no local files now
    assert per_harness == corpus.turns
