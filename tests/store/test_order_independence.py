"""The store holds the same `events` rows whatever order the session files are read in, and
however an ingest is cut into steps (files arriving one by one, files read half-written and
finished later). Reading the newest files first, or only those a period needs, relies on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_usage import store
from agent_usage.ingest import discover, ingest
from tests.conftest import FIXTURES, REPORTS_CORPUS, corpus_roots_env, fixture_env

TRAPS = sorted((p.parent.parent.name, p.parent.name) for p in FIXTURES.glob("*/*/expected.json"))


@dataclass(frozen=True)
class Corpus:
    """A tree of session files and the environment that points the parsers at it."""

    root: Path
    env_for: Any  # (root) -> env

    def env(self, root: Path) -> Mapping[str, str]:
        return self.env_for(root)

    def session_files(self) -> list[Path]:
        return sorted(Path(path).relative_to(self.root) for _, path in discover(self.env(self.root)))


def _fixture(harness: str, trap: str, home: Path) -> Corpus:
    return Corpus(FIXTURES / harness / trap, lambda root: fixture_env(harness, root, home))


def _reports(home: Path) -> Corpus:
    return Corpus(REPORTS_CORPUS, lambda root: corpus_roots_env(home, root))


def events(db: Path, root: Path) -> list[tuple[Any, ...]]:
    """Every stored row, paths relative to `root`, in key order."""
    with store.connect(db, read_only=True) as con:
        cursor = con.execute("SELECT * FROM events ORDER BY event_key")
        names = [column[0] for column in cursor.description]
        at = names.index("source_path")
        return [(*row[:at], os.path.relpath(row[at], root), *row[at + 1 :]) for row in cursor.fetchall()]


@st.composite
def schedules(draw: st.DrawFn, files: list[Path]) -> list[tuple[Path, float | None, bool]]:
    """Steps (file, share of it written or None for all of it, ingest after this step), in
    a random order; a file written in part is finished by a later step."""
    steps: list[tuple[Path, float | None]] = []
    for path in files:
        if path.suffix == ".jsonl" and draw(st.booleans()):
            steps.append((path, draw(st.floats(min_value=0.05, max_value=0.95))))
        steps.append((path, None))
    order = draw(st.permutations(steps))
    seen: set[Path] = set()
    ordered = []  # a file's first step is its partial one, whatever the permutation put first
    partial = dict(s for s in steps if s[1] is not None)
    for path, _ in order:
        ordered.append((path, partial.get(path) if path not in seen else None))
        seen.add(path)
    return [(path, share, draw(st.booleans())) for path, share in ordered]


def _run(corpus: Corpus, steps: list[tuple[Path, float | None, bool]], base: Path) -> list[tuple[Any, ...]]:
    """Write the corpus into a fresh root step by step, ingesting where the schedule says."""
    root = base / "root"
    sessions = set(corpus.session_files())
    for source in corpus.root.rglob("*"):  # everything that is not a session file, up front
        relative = source.relative_to(corpus.root)
        if source.is_file() and relative not in sessions:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / relative)
    db = base / "store.duckdb"
    for relative, share, ingest_now in steps:
        data = (corpus.root / relative).read_bytes()
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if share is None else data[: max(1, int(len(data) * share))])
        if ingest_now:
            ingest(db, env=corpus.env(root))
    ingest(db, env=corpus.env(root))
    return events(db, root)


_references: dict[Path, list[tuple[Any, ...]]] = {}


def _reference(corpus: Corpus) -> list[tuple[Any, ...]]:
    """The rows of one ingest of the whole corpus (computed once per corpus)."""
    if corpus.root not in _references:
        with tempfile.TemporaryDirectory() as whole:
            files = corpus.session_files()
            _references[corpus.root] = _run(corpus, [(path, None, False) for path in files], Path(whole))
    return _references[corpus.root]


def _check(corpus: Corpus, data: st.DataObject) -> None:
    reference = _reference(corpus)
    assert reference, "the corpus stores events"
    with tempfile.TemporaryDirectory() as stepped:
        assert _run(corpus, data.draw(schedules(corpus.session_files())), Path(stepped)) == reference


ORDER_SETTINGS = settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.parametrize(("harness", "trap"), TRAPS)
@ORDER_SETTINGS
@given(data=st.data())
def test_each_fixture_stores_the_same_rows_in_any_order(
    harness: str, trap: str, isolated_home: Path, data: st.DataObject
) -> None:
    _check(_fixture(harness, trap, isolated_home), data)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_four_harness_corpus_stores_the_same_rows_in_any_order(
    isolated_home: Path, data: st.DataObject
) -> None:
    _check(_reports(isolated_home), data)


def test_a_resumed_session_read_before_its_original_keeps_the_original() -> None:
    """claude --resume replays old turns into a new file: read in either order, the replayed
    turns stay with the original session."""
    corpus = _fixture("claude-code", "resume-fork", Path(tempfile.mkdtemp()))
    files = corpus.session_files()
    with tempfile.TemporaryDirectory() as forward, tempfile.TemporaryDirectory() as backward:
        ahead = _run(corpus, [(path, None, True) for path in files], Path(forward))
        behind = _run(corpus, [(path, None, True) for path in reversed(files)], Path(backward))
    assert behind == ahead
    sessions = {row[0]: row[3] for row in ahead}
    assert sessions["cc:msg_02A:req_02A"].startswith("11111111")
