"""One store, many users at once: the exporter loop, the TUI and repeated CLI runs while an
agent keeps writing. Bounded to a few seconds here; tests/bench/soak.py runs it for minutes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from agent_usage.tui.app import AgentUsageApp
from tests.conftest import FIXTURES, append_turn, clean_env, reports_env, run_cli
from tests.exporter.otlp_receiver import OtlpReceiver, start_watch
from tests.tui.pilot import card, settle

CORPUS = FIXTURES / "reports"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
APPENDS = 4


@pytest.mark.slow
async def test_exporter_tui_and_reports_share_one_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = clean_env({**reports_env(tmp_path), "AGENT_USAGE_NOW": EXPECTED["now"]})
    roots, home = tmp_path / "corpus", Path(env["AGENT_USAGE_HOME"])
    agent_env = {
        k: env[k]
        for k in ("HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "PI_CODING_AGENT_DIR")
    }
    monkeypatch.setenv("AGENT_USAGE_HOME", str(home))
    monkeypatch.setenv("AGENT_USAGE_NOW", EXPECTED["now"])
    receiver = OtlpReceiver().start()
    exporter = start_watch(env, receiver.http_endpoint, 0.3)
    session = next((roots / "claude" / "projects").rglob("aaaaaaaa-*.jsonl"))
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        """Reports and ingests back to back while turns keep arriving."""
        index = 0
        while not stop.is_set():
            for args in (
                ["report", "daily", "--json"],
                ["ingest", "-q"],
                ["report", "session", "--json", "--no-ingest"],
            ):
                result = run_cli(*args, env=env)
                if result.returncode != 0 or "lock" in result.stderr.lower():
                    failures.append(f"{' '.join(args)}: exit {result.returncode}: {result.stderr.strip()}")
            if index < APPENDS:
                append_turn(session, index)
                index += 1

    worker = threading.Thread(target=hammer, daemon=True)
    app = AgentUsageApp(home / "data" / "usage.duckdb", env=agent_env, tz="UTC", live=True)
    app.animation_level = "none"
    try:
        worker.start()
        async with app.run_test(size=(110, 36)) as pilot:
            await settle(app, pilot)
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:  # until every append happened and all of it is seen
                await pilot.press("2", "1")  # switch tabs: loads run in workers while others write
                await pilot.pause(0.3)
                appended = session.read_text().count("msg_soak_") == APPENDS
                exported = len(receiver.spans()) >= EXPECTED["totals"]["events"] + APPENDS
                if appended and exported and card(app, "all").startswith("$0.29"):
                    break
            stop.set()
            worker.join(timeout=120)
            await settle(app, pilot)
            # 4 turns x (10 x $3 + 1000 x $15) / 1M = $0.06012 more than the corpus's $0.22725
            assert card(app, "all").startswith("$0.29"), card(app, "all")
    finally:
        stop.set()
        exporter.terminate()
        _, exporter_log = exporter.communicate(timeout=30)
        receiver.stop()
    assert failures == []
    assert exporter.returncode == 0, exporter_log
    spans = receiver.spans()
    assert len(spans) == len({s["span_id"] for s in spans}) == EXPECTED["totals"]["events"] + APPENDS
    final = json.loads(run_cli("report", "daily", "--json", "--no-ingest", env=env).stdout)["totals"]
    assert final["events"] == EXPECTED["totals"]["events"] + APPENDS
    assert final["output_tokens"] == EXPECTED["totals"]["output"] + 1000 * APPENDS
