"""A live `watch` answers `report` and `ingest` over its socket: the same bytes and exit codes
as the command run on its own, every change the watcher saw included, and any doubt (no
keeper, another environment, a dead socket) means the command runs in its own process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent_usage import heartbeat, keeper
from agent_usage.ingest_plan import IngestSummary
from agent_usage.keeper.server import KeeperServer
from tests.conftest import EXPECTED, _cli_environment, append_turn, reports_env, run_cli

ALONE = {"AGENT_USAGE_NO_KEEPER": "1"}


@dataclass
class Watch:
    env: dict[str, str]
    db: Path
    log: Path
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """SIGTERM, and the watch's log (every answered or refused command is in it)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        return self.log.read_text()


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Watch]:
    """A real `watch -v` (nothing exported) over a copy of the reports corpus, once it answers."""
    env = {**reports_env(tmp_path), "AGENT_USAGE_NOW": EXPECTED["now"]}
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    log = tmp_path / "watch.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "agent_usage", "watch", "--no-metrics", "--no-traces", "-v"],
            env=_cli_environment(env, 160),
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            text=True,
        )
    running = Watch(env, db, log, process)
    deadline = time.monotonic() + 60
    while (beat := heartbeat.read(db)) is None or beat.socket is None:
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    yield running
    running.stop()


def _answered(log: str) -> list[str]:
    return [
        line.split("answered ", 1)[1].split(" in ")[0]
        for line in log.splitlines()
        if "keeper: answered" in line
    ]


VIEWS = [
    ("report", "daily", "--json"),
    ("report", "model"),
    ("report", "session", "--compact"),
    ("report", "monthly", "--csv"),
    ("report", "project", "--breakdown", "harness", "--color"),
    ("report", "nope"),  # exit 2 and its one-line error
    ("report", "daily", "--bogus"),  # Typer's usage error
]


def test_answers_are_the_commands_own(watch: Watch) -> None:
    for args in VIEWS:
        forwarded = run_cli(*args, env=watch.env, columns=100)
        alone = run_cli(*args, env={**watch.env, **ALONE}, columns=100)
        assert (forwarded.returncode, forwarded.stdout, forwarded.stderr) == (
            alone.returncode,
            alone.stdout,
            alone.stderr,
        ), args
    assert _answered(watch.stop()) == [" ".join(args) for args in VIEWS]
    assert not keeper.socket_path(watch.db).exists()  # gone with the watch, and so is its heartbeat
    assert heartbeat.read(watch.db) is None


def test_an_answer_includes_every_change_the_watcher_saw(watch: Watch) -> None:
    session = next(Path(watch.env["CLAUDE_CONFIG_DIR"]).rglob("aaaaaaaa-*.jsonl"))
    append_turn(session, 1)
    time.sleep(0.3)  # the watcher has seen it; its own 2 s debounce has not passed
    document = json.loads(run_cli("report", "daily", "--json", env=watch.env).stdout)
    assert document["totals"]["events"] == EXPECTED["totals"]["events"] + 1
    assert document["totals"]["output_tokens"] == EXPECTED["totals"]["output"] + 1000
    append_turn(session, 2)
    time.sleep(0.3)
    ingested = run_cli("ingest", env=watch.env)
    assert ingested.returncode == 0
    assert "keeps the store current" in ingested.stderr
    alone = json.loads(run_cli("report", "daily", "--json", "--no-ingest", env={**watch.env, **ALONE}).stdout)
    assert alone["totals"]["events"] == EXPECTED["totals"]["events"] + 2
    assert _answered(watch.stop()) == ["report daily --json", "ingest"]


def test_another_environment_runs_the_command_itself(watch: Watch) -> None:
    other_zone = run_cli("report", "daily", "--json", env={**watch.env, "TZ": "Asia/Tokyo"})
    alone = run_cli("report", "daily", "--json", env={**watch.env, **ALONE, "TZ": "Asia/Tokyo"})
    assert other_zone.stdout == alone.stdout
    assert json.loads(other_zone.stdout)["filters"]["tz"] == "Asia/Tokyo"
    log = watch.stop()
    assert _answered(log) == []
    assert "refused a command: another environment" in log


def test_a_dead_socket_or_a_refusal_is_no_error(tmp_path: Path) -> None:
    env = {**reports_env(tmp_path), "AGENT_USAGE_NOW": EXPECTED["now"]}
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    db.parent.mkdir(parents=True)
    beat = heartbeat.Heartbeat(os.getpid(), os.uname().nodename, (), time.time(), str(tmp_path / "gone.sock"))
    heartbeat.heartbeat_path(db).write_text(json.dumps(beat._asdict()))  # alive, but nobody listens
    result = run_cli("report", "daily", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["events"] == EXPECTED["totals"]["events"]


def test_a_keeper_refuses_other_users_and_commands(tmp_path: Path) -> None:
    server = KeeperServer(tmp_path / "usage.duckdb", dict(os.environ), catch_up=IngestSummary)
    env = dict(os.environ)
    request: dict[str, object] = {"argv": ["report"], "env": env, "cwd": os.getcwd()}
    assert server.answer(request, peer_uid=os.getuid() + 1) == {"refused": "another user"}
    assert server.answer({**request, "argv": ["rebuild"]}, None) == {
        "refused": "not a command the keeper answers"
    }
    changed = {**request, "env": {**env, "CODEX_HOME": "/elsewhere"}}
    assert server.answer(changed, None) == {"refused": "another environment"}
    assert (
        server._refusal({**request, "env": {**env, "XDG_SESSION_ID": "c7"}}, None) is None
    )  # a terminal's own


def test_a_long_store_path_gets_a_private_socket_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 120) / "usage.duckdb"
    path = keeper.socket_path(deep)
    assert len(os.fsencode(path)) <= keeper.MAX_SOCKET_PATH
    assert path == keeper.socket_path(deep)  # the client finds the keeper's
    monkeypatch.setenv("TMPDIR", str(tmp_path / ("t" * 90)))  # a long TMPDIR: /tmp then
    monkeypatch.setattr("tempfile.tempdir", None)
    (tmp_path / ("t" * 90)).mkdir()
    assert len(os.fsencode(keeper.socket_path(deep))) <= keeper.MAX_SOCKET_PATH
    assert keeper.socket_path(tmp_path / "usage.duckdb") == tmp_path / "usage.duckdb.sock"
