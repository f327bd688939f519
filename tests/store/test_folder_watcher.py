"""The folder watcher and the ingest of only the files it saw change."""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.folder_watcher import FolderWatcher
from agent_usage.ingest import discover, ingest
from agent_usage.parsers import PARSERS
from agent_usage.queries import Filters, totals
from tests.conftest import FIXTURES, HARNESS_ENV, copy_fixture, fixture_env

CLAUDE_SESSION = "projects/-home-al-src-shop/7f3a9c1e-2b44-4d1e-9a0b-5c6d7e8f9012.jsonl"


@pytest.mark.parametrize("harness", sorted(PARSERS))
def test_accepts_agrees_with_discover_on_every_fixture(harness: str, isolated_home: Path) -> None:
    parser = PARSERS[harness]
    for trap in sorted(p for p in (FIXTURES / harness).iterdir() if p.is_dir()):
        for root in parser.roots(fixture_env(harness, trap, isolated_home)):
            if not root.is_dir():
                continue
            listed = set(parser.discover(root))
            every_file = {str(p) for p in root.rglob("*") if p.is_file()}
            assert listed, f"{trap}: no session file found"
            assert {p for p in every_file if parser.accepts(root, p)} == listed, trap


@pytest.mark.parametrize("polling", [False, True])
def test_watcher_reports_the_changed_session_files(tmp_path: Path, polling: bool) -> None:
    root = copy_fixture("claude-code", "content-blocks", tmp_path)
    seen: list[set[str]] = []
    arrived = threading.Event()

    def on_change(paths: set[str]) -> None:
        seen.append(paths)
        arrived.set()

    watcher = FolderWatcher(
        {"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(root)},
        on_change,
        debounce=0.2,
        poll_interval=0.2,
        force_polling=polling,
    )
    watcher.start()
    try:
        assert watcher.mode == ("polling" if polling else "native")
        with (root / CLAUDE_SESSION).open("a") as handle:
            handle.write("{}\n")
        (root / "projects" / "notes.txt").write_text("not a session file")
        assert arrived.wait(15)
    finally:
        watcher.stop()
    changed = set().union(*seen)
    assert os.path.realpath(root / CLAUDE_SESSION) in changed
    assert not any(path.endswith("notes.txt") for path in changed)


def test_ingest_of_only_the_changed_files_matches_a_full_ingest(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("claude-code", "content-blocks", tmp_path)
    link = tmp_path / "linked-root"
    link.symlink_to(root, target_is_directory=True)
    env = {"HOME": str(isolated_home), **HARNESS_ENV["claude-code"](link)}
    db = tmp_path / "s.duckdb"
    ingest(db, env=env)
    with (root / CLAUDE_SESSION).open("a") as handle:
        handle.write((root / "last-line-completion.txt").read_text())
    # the watcher reports resolved paths; ingest spells them below the configured root
    summary = ingest(
        db, env=env, only={os.path.realpath(root / CLAUDE_SESSION), str(tmp_path / "elsewhere.jsonl")}
    )
    assert (summary.files_found, summary.files_read) == (1, 1)
    full = tmp_path / "full.duckdb"
    ingest(full, env=env)
    with store.connect(db, read_only=True) as con, store.connect(full, read_only=True) as other:
        targeted, complete = totals(con, Filters()), totals(other, Filters())
        paths = con.execute("SELECT path FROM files").fetchall()
    assert targeted.cost_usd == pytest.approx(complete.cost_usd, abs=1e-12)  # float sums may differ in order
    assert replace(targeted, cost_usd=None) == replace(complete, cost_usd=None)
    assert paths == [(str(link / CLAUDE_SESSION),)]
    assert [p for _, p in discover(env)] == [str(link / CLAUDE_SESSION)]
