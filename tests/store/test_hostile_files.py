"""Files named like session files that are not (a FIFO, /dev/zero), long unfinished lines,
many bad lines, unreadable files: named once, never a hang, never a lost count."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.ingest import ingest
from agent_usage.parsers.base import NotRegularFile, open_regular
from tests.conftest import FIXTURES, Unprivileged, copy_fixture, fixture_env, run_cli


def claude_root(tmp_path: Path) -> Path:
    return copy_fixture("claude-code", "content-blocks", tmp_path)


def project_dir(root: Path) -> Path:
    return next(p for p in (root / "projects").iterdir() if p.is_dir())


def test_open_regular_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.jsonl"
    os.mkfifo(fifo)
    done = threading.Event()

    def attempt() -> None:
        with pytest.raises(NotRegularFile, match="a FIFO, not a regular file"):
            open_regular(fifo)
        done.set()

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    assert done.wait(5), "opening a FIFO blocked"
    with pytest.raises(NotRegularFile, match="a character device"):
        open_regular("/dev/zero")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_device_named_like_a_session_is_skipped(
    tmp_path: Path, isolated_home: Path, kind: str
) -> None:
    root = claude_root(tmp_path)
    hostile = project_dir(root) / "hostile.jsonl"
    if kind == "fifo":
        os.mkfifo(hostile)
    else:
        hostile.symlink_to("/dev/zero")
    env = fixture_env("claude-code", root, isolated_home)
    clean = ingest(
        tmp_path / "clean.duckdb", env=fixture_env("claude-code", claude_root(tmp_path / "c"), isolated_home)
    )
    result = run_cli("ingest", env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    what = "a FIFO" if kind == "fifo" else "a character device"
    assert f"warning: {hostile}: skipped: {what}, not a regular file" in result.stderr
    assert f"{clean.events_new} new events" in result.stderr
    for command in (("report", "daily", "--json"), ("watch", "--once", "--dry-run", "--no-traces")):
        assert run_cli(*command, env=env, timeout=60).returncode == 0


def test_a_fifo_as_gemini_project_root_does_not_block(tmp_path: Path, isolated_home: Path) -> None:
    root = copy_fixture("gemini-cli", "legacy-resume-subagent", tmp_path)
    marker = next(root.rglob(".project_root"), None)
    project = marker.parent if marker else next(p.parent for p in root.rglob("chats"))
    if marker:
        marker.unlink()
    os.mkfifo(project / ".project_root")
    result = run_cli("ingest", env=fixture_env("gemini-cli", root, isolated_home), timeout=60)
    assert result.returncode == 0, result.stderr


def test_bad_lines_beyond_the_first_five_are_counted_and_said(tmp_path: Path, isolated_home: Path) -> None:
    root = claude_root(tmp_path)
    session = next(project_dir(root).glob("*.jsonl"))
    lines = session.read_text().splitlines(keepends=True)
    garbage = [f'{{"type": "assistant", "message": {{"usage": {i}\n' for i in range(8)]
    session.write_text("".join(lines[:1] + garbage + lines[1:]))
    summary = ingest(tmp_path / "s.duckdb", env=fixture_env("claude-code", root, isolated_home))
    mine = [p for p in summary.problems if p.startswith(str(session))]
    assert len([p for p in mine if "skipped byte" in p]) == 5
    expected_more = summary.bad_lines - 5
    assert f"{session}: skipped {expected_more} more bad lines" in mine


def test_bad_line_counts_add_up_across_appends(tmp_path: Path, isolated_home: Path) -> None:
    root = claude_root(tmp_path)
    session = next(project_dir(root).glob("*.jsonl"))
    env = fixture_env("claude-code", root, isolated_home)
    db = tmp_path / "s.duckdb"
    first = ingest(db, env=env)
    text = session.read_text()
    if not text.endswith("\n"):  # the fixture may end in an unfinished line: finish it first
        session.write_text(text + "\n")
    with session.open("a") as handle:
        handle.write('{"type": "assistant", broken\n{"type": "user", also broken\n')
    second = ingest(db, env=env)
    with store.connect(db, read_only=True) as con:
        stored = con.execute("SELECT bad_lines FROM files WHERE path = ?", [str(session)]).fetchone()[0]
    assert second.bad_lines >= 2
    assert stored == first.bad_lines + second.bad_lines


def test_a_long_unfinished_last_line_is_named_once_and_not_read_again(
    tmp_path: Path, isolated_home: Path
) -> None:
    root = claude_root(tmp_path)
    session = next(project_dir(root).glob("*.jsonl"))
    text = session.read_text()
    session.write_text(text + ("" if text.endswith("\n") else "\n"))
    with session.open("a") as handle:
        handle.write('{"type": "progress", "data": "' + "x" * 2_000_000)
    env = fixture_env("claude-code", root, isolated_home)
    db = tmp_path / "s.duckdb"
    first = ingest(db, env=env)
    assert any(
        p == f"{session}: the last line (2.0 MB) has no newline yet; it is read when the agent finishes it"
        for p in first.problems
    ), first.problems
    again = ingest(db, env=env)
    assert again.files_read == 0 and not again.problems
    with session.open("a") as handle:
        handle.write('"}\n')
    finished = ingest(db, env=env)
    assert finished.files_read == 1 and not finished.problems and finished.bad_lines == 0


def test_more_than_twenty_warnings_say_how_many_more(tmp_path: Path, isolated_home: Path) -> None:
    root = claude_root(tmp_path)
    folder = project_dir(root)
    for index in range(25):
        os.mkfifo(folder / f"fifo-{index:02d}.jsonl")
    result = run_cli("ingest", env=fixture_env("claude-code", root, isolated_home), timeout=60)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    more = re.fullmatch(r"warning: (\d+) more warnings not shown", warnings[-1])
    assert len(warnings) == 21 and more is not None and int(more.group(1)) >= 5, warnings


def test_unreadable_file_is_named_and_the_rest_ingested(unprivileged: Unprivileged) -> None:
    root = copy_fixture("claude-code", "resume-fork", unprivileged.base)
    home = unprivileged.base / "home"
    home.mkdir()
    unprivileged.own(unprivileged.base)
    locked = next(root.rglob("2222*.jsonl"))
    locked.chmod(0)
    env = {**fixture_env("claude-code", root, home), "AGENT_USAGE_HOME": str(unprivileged.base / "au")}
    result = run_cli("ingest", env=env, as_user=unprivileged.prefix)
    assert result.returncode == 0, result.stderr
    assert f"warning: {locked}: cannot read: Permission denied" in result.stderr
    assert "2 new events" in result.stderr


def test_unreadable_folder_is_named_and_the_rest_ingested(unprivileged: Unprivileged) -> None:
    root = copy_fixture("claude-code", "subagents", unprivileged.base)
    home = unprivileged.base / "home"
    home.mkdir()
    unprivileged.own(unprivileged.base)
    locked = next(p for p in (root / "projects").rglob("subagents") if p.is_dir())
    locked.chmod(0)
    env = {**fixture_env("claude-code", root, home), "AGENT_USAGE_HOME": str(unprivileged.base / "au")}
    result = run_cli("ingest", env=env, as_user=unprivileged.prefix)
    locked.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert f"warning: {locked}: cannot read folder: Permission denied" in result.stderr
    new_events = re.search(r"(\d+) new events", result.stderr)
    assert new_events is not None and int(new_events.group(1)) > 0


def test_an_unwritable_store_folder_is_one_line(unprivileged: Unprivileged) -> None:
    data = unprivileged.base / "au" / "data"
    data.mkdir(parents=True)
    unprivileged.own(unprivileged.base)
    data.chmod(0o500)
    env = {
        "CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks"),
        "AGENT_USAGE_HOME": str(unprivileged.base / "au"),
    }
    result = run_cli("ingest", env=env, as_user=unprivileged.prefix)
    data.chmod(0o700)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"error: {data}: the store directory is not writable" in result.stderr
