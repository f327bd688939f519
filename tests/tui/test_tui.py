"""The TUI driven by Textual's Pilot on the reports corpus: every tab, filters, drill-down, live."""

from __future__ import annotations

import io
import json
import os
import threading
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console
from textual.command import CommandList
from textual.widgets import DataTable, Static

from agent_usage import heartbeat
from agent_usage.ingest import ingest
from agent_usage.tui.app import AgentUsageApp
from agent_usage.tui.screens import FilterScreen, HelpScreen, SessionScreen
from agent_usage.tui.state import FilterState
from tests.conftest import corpus_roots_env
from tests.tui.pilot import card, settle


async def run_command(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type a command into the palette, wait until it lists a match, and run the first one."""
    await pilot.press("ctrl+p", *text)
    for _ in range(50):
        await pilot.pause(0.1)
        hits = pilot.app.screen.query(CommandList)
        if hits and hits.first().option_count:
            break
    await pilot.press("enter")


def as_text(renderable: object) -> str:
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_overview_shows_spend_cards_chart_and_shares(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert card(app, "today").startswith("$0.06")  # X2 0.02 + G1 0.0375 on 2026-11-16 UTC
        assert card(app, "all") == "$0.23\n+1 unpriced"  # C5's request has no price
        assert card(app, "sessions").startswith("5")
        assert card(app, "days").startswith("4")
        assert card(app, "tokens").startswith("122,200")
        assert "2026-11-13 … 2026-11-16" in str(app.query_one("#chart", Static).render())
        shares = as_text(app.query_one("#share-harness", Static).content)
        assert "claude-code" in shares and "pi" in shares


async def test_budget_bars_turn_amber_at_80_and_red_at_100(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # today (2026-11-16 UTC) costs $0.0575, this month $0.22725 (hand-worked in expected.json)
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text(
        "[budgets]\ndaily = 0.05\nmonthly = 0.28\n[budgets.harness.codex]\nweekly = 1\n"
    )
    app = app_factory()
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(app, pilot)
        container = app.query_one("#budgets")
        assert container.display
        bars = {str(bar.render()).split()[0]: bar for bar in container.query(Static)}
        assert set(bars) == {"daily", "monthly", "weekly"}
        assert bars["daily"].has_class("budget-exceeded") and "115%  exceeded" in str(bars["daily"].render())
        assert bars["monthly"].has_class("budget-warning") and "81%  warning" in str(bars["monthly"].render())
        assert bars["weekly"].has_class("budget-ok")
        assert bars["daily"].styles.color != bars["monthly"].styles.color != bars["weekly"].styles.color


async def test_a_bad_config_is_reported_and_the_app_runs_without_budgets(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text("[budgets]\ndaily = -3\n")
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert not app.query_one("#budgets").display
        assert card(app, "all").startswith("$0.23")
        assert any("budgets.daily must be a positive number" in n.message for n in app._notifications)


async def test_every_table_tab_shows_the_report_rows(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    expected = {
        "2": 4,
        "3": 2,
        "4": 1,
        "5": 3,
        "6": 5,
        "7": 5,
    }  # daily weekly monthly projects models sessions
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        for key, rows in expected.items():
            await pilot.press(key)
            await settle(app, pilot)
            view = app.query_one("TabbedContent").active
            table = app.query_one(f"#table-{view}", DataTable)
            assert table.row_count == rows + 1, view  # plus the totals row
            total = cells(table)[-1]
            assert total[0] == "Total" and total[1] == "$0.23 +1 unpriced", view  # Cost next to the key
        daily = cells(app.query_one("#table-daily", DataTable))
        assert daily[0][0] == "2026-11-16" and daily[0][1] == "$0.06"


async def test_filters_apply_to_every_tab(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        await run_command(pilot, "Filter harness: codex")
        await settle(app, pilot)
        assert app.filter_state.harness == ("codex",)
        assert "harness: codex" in str(app.query_one("#filters", Static).render())
        assert card(app, "all").startswith("$0.06")  # X1 0.04375 + X2 0.02
        await pilot.press("2")
        await settle(app, pilot)
        assert [row[0] for row in cells(app.query_one("#table-daily", DataTable))] == [
            "2026-11-16",
            "2026-11-14",
            "Total",
        ]
        await pilot.press("t")  # next range preset after 30 days: 3 months
        await settle(app, pilot)
        assert app.filter_state.range == "3m" and app.filter_state.harness == ("codex",)
        await run_command(pilot, "Filter harness: gemini-cli")  # a second harness joins the first
        await settle(app, pilot)
        assert app.filter_state.harness == ("codex", "gemini-cli")
        assert "harness: codex, gemini-cli" in str(app.query_one("#filters", Static).render())
        assert [row[0] for row in cells(app.query_one("#table-daily", DataTable))][:2] == [
            "2026-11-16",
            "2026-11-14",
        ]
        await run_command(pilot, "Filter harness: codex")  # chosen again: taken out
        await settle(app, pilot)
        assert app.filter_state.harness == ("gemini-cli",)
        await pilot.press("c")  # back to the range the app starts with, not to all time
        await settle(app, pilot)
        assert app.filter_state == FilterState()
        assert app.query_one("#table-daily", DataTable).row_count == 5


async def test_filter_form_sets_a_custom_range(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(110, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)
        await pilot.click("#since")
        await pilot.press(*"2026-11-14")
        await pilot.click("#until")
        await pilot.press(*"2026-11-14", "enter")
        await settle(app, pilot)
        assert app.filter_state.range == "custom"
        assert card(app, "sessions").startswith("2")  # codex X1 and pi P1/P2 on the 14th
        await pilot.press("f")
        await pilot.pause()
        await pilot.click("#since")
        await pilot.press(*"not-a-date", "enter")
        await pilot.pause()
        assert isinstance(app.screen, FilterScreen)  # stays open and says why
        assert "not a date" in str(app.screen.query_one("#filter-error").render())
        await pilot.press("escape")


async def test_session_drilldown_shows_turns_and_file(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        await pilot.press("7")
        await settle(app, pilot)
        table = app.query_one("#table-session", DataTable)
        table.move_cursor(row=[row[0] for row in cells(table)].index("aaaaaaaa-0000"))
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        turns = screen.query_one("#turns", DataTable)
        assert [row[-1] for row in cells(turns)] == ["$0.05", "$0.02", "$0.02"]
        info = str(screen.query_one("#session-info", Static).render())
        assert "aaaaaaaa-0000-4000-8000-00000000000a.jsonl" in info and "3 turns" in info
        await pilot.press("escape")
        assert not isinstance(app.screen, SessionScreen)


async def test_help_theme_and_palette_actions(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        before = app.theme
        await pilot.press("d")
        assert app.theme != before
        await run_command(pilot, "Range: Today")
        await settle(app, pilot)
        assert app.filter_state.range == "today"
        assert card(app, "sessions").startswith("2")  # codex and gemini on 2026-11-16


async def test_a_new_turn_appears_while_the_app_runs(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory(live=True)
    session = next((app_factory.root / "claude" / "projects").rglob("aaaaaaaa-*.jsonl"))
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert card(app, "sessions").startswith("5")
        line = json.loads(session.read_text().splitlines()[-1])
        line["message"]["id"] = "msg_LIVE"
        line["requestId"] = "req_LIVE"
        line["timestamp"] = "2026-11-16T00:30:00.000Z"
        with session.open("a") as handle:
            handle.write(json.dumps(line) + "\n")
        for _ in range(300):  # up to 30 s for the watcher, the ingest and the reload (busy CI)
            await pilot.pause(0.1)
            if card(app, "today").startswith("$0.08"):
                break
        # C3's copy (2000 in, 1000 out at $3/$15 per M = $0.021) now counts today
        assert card(app, "today").startswith("$0.08")
        assert app.ingest_count >= 2
        beat = heartbeat.read(app.db_path)  # it keeps the store current: reports may skip their walk
        assert beat is not None and beat.pid == os.getpid()
    assert heartbeat.read(app.db_path) is None  # gone with the app


async def test_a_full_ingest_reads_this_weeks_files_first(
    app_factory, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Today's and this week's cards are exact after the first, short pass; then the rest."""
    from agent_usage.tui import app as app_module

    passes: list[datetime | None] = []
    real_ingest = app_module.ingest

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        passes.append(kwargs.get("since"))
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(app_module, "ingest", recording)
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert passes == [datetime(2026, 11, 16), None]  # Monday 2026-11-16 starts the week of "now"
        assert app.last_ingest is not None and app.last_ingest.files_unread == 0
        assert card(app, "today").startswith("$0.06")


def test_overview_with_budgets_snapshot(app_factory, snap_compare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text(
        "[budgets]\ndaily = 0.05\nmonthly = 0.28\n[budgets.harness.codex]\nweekly = 1\n"
    )
    app = app_factory()

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=(110, 42), run_before=ready)


def gated_ingest(
    monkeypatch: pytest.MonkeyPatch, hold_after_bytes: int | None = None
) -> tuple[threading.Event, threading.Event]:
    """(start, resume): the app's real ingest waits for `start`, and once past
    `hold_after_bytes` it waits for `resume`, so a test can look at the screen before and
    during an ingest."""
    from agent_usage.tui import app as app_module

    start, resume, real_ingest = threading.Event(), threading.Event(), app_module.ingest

    def held(db, env, progress=None, only=None, since=None):  # type: ignore[no-untyped-def]
        def report(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            if hold_after_bytes is not None and done >= hold_after_bytes:
                resume.wait(30)

        start.wait(30)
        return real_ingest(db, env=env, progress=report, only=only, since=since)

    monkeypatch.setattr(app_module, "ingest", held)
    return start, resume


async def wait_for_card(app: AgentUsageApp, pilot, name: str, ready) -> str:  # type: ignore[no-untyped-def]
    """The card's text once `ready(text)` holds (or after 10 s, for the assertion to show)."""
    for _ in range(100):
        await pilot.pause(0.1)
        if ready(card(app, name)):
            break
    return card(app, name)


async def test_stored_data_shows_before_the_startup_ingest_finishes(  # type: ignore[no-untyped-def]
    app_factory, tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_factory()
    ingest(tmp_path / "store.duckdb", env=corpus_roots_env(isolated_home, app_factory.root))
    start, _ = gated_ingest(monkeypatch)
    async with app.run_test(size=(110, 36)) as pilot:
        shown = await wait_for_card(app, pilot, "all", lambda text: text.startswith("$"))
        assert shown == "$0.23\n+1 unpriced" and app.ingest_count == 0
        start.set()
        await settle(app, pilot)
        # two passes: this week's files, then the rest (here every file is new, so the first reads all)
        assert app.ingest_count == 2 and card(app, "all") == "$0.23\n+1 unpriced"


async def test_a_long_first_ingest_fills_the_views_as_batches_land(  # type: ignore[no-untyped-def]
    app_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent_usage.tui import app as app_module

    monkeypatch.setattr(app_module, "PROGRESS_MIN_BYTES", 0)  # the corpus is small: treat it as long
    monkeypatch.setattr(app_module, "PARTIAL_RELOAD_S", 0.0)
    monkeypatch.setenv("AGENT_USAGE_BATCH", "1")  # every event commits on its own
    monkeypatch.setenv("AGENT_USAGE_WORKERS", "1")
    claude_bytes = sum(p.stat().st_size for p in (app_factory.root / "claude").rglob("*.jsonl"))
    start, resume = gated_ingest(monkeypatch, hold_after_bytes=claude_bytes)
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        empty = await wait_for_card(app, pilot, "all", lambda text: text == "$0.00\n0 tokens")
        assert empty == "$0.00\n0 tokens"
        start.set()  # the empty store is on screen; only a reload during the ingest can change it
        partial = await wait_for_card(app, pilot, "all", lambda text: text != empty)
        # the files read so far, and already priced
        assert app.ingest_count == 0 and partial.startswith("$")
        assert not partial.startswith(("$0.00", "$0.23"))
        resume.set()
        await settle(app, pilot)
        assert app.ingest_count == 2 and card(app, "all") == "$0.23\n+1 unpriced"


async def test_a_large_ingest_in_the_app_uses_worker_processes(  # type: ignore[no-untyped-def]
    app_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above PARALLEL_MIN_BYTES ingest spawns parsers; under Textual stderr is a capture without a file
    descriptor, which multiprocessing must not be handed (it failed: 'bad value(s) in
    fds_to_keep', and a big history never loaded in the TUI)."""
    from multiprocessing import resource_tracker

    from agent_usage import ingest_parallel

    resource_tracker._resource_tracker._stop()  # as in a fresh `agent-usage` process (other tests start it)
    monkeypatch.setattr(ingest_parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ingest_parallel, "GROUP_BYTES", 1024)
    monkeypatch.setenv("AGENT_USAGE_WORKERS", "2")
    from agent_usage.tui import app as app_module

    summaries, real_ingest = [], app_module.ingest
    monkeypatch.setattr(
        app_module, "ingest", lambda *a, **k: summaries.append(real_ingest(*a, **k)) or summaries[-1]
    )
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        for _ in range(300):  # spawning two interpreters takes a while on a busy machine
            await pilot.pause(0.1)
            if app.ingest_count == 2:
                break
        await settle(app, pilot)
        assert app.ingest_count == 2 and sum(summary.files_read for summary in summaries) > 0
        assert not any("parallel parsing stopped" in p for summary in summaries for p in summary.problems)
        assert card(app, "all") == "$0.23\n+1 unpriced"  # C5's request has no price


async def test_the_folder_watcher_starts_off_the_ui_thread(  # type: ignore[no-untyped-def]
    app_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a watch per folder takes most of a second on a big history; on the UI thread
    that froze the app right after its first ingest."""
    from agent_usage.folder_watcher import FolderWatcher

    started_on, real_start = [], FolderWatcher.start

    def recording_start(self):  # type: ignore[no-untyped-def]
        started_on.append(threading.current_thread())
        return real_start(self)

    monkeypatch.setattr(FolderWatcher, "start", recording_start)
    app = app_factory(live=True)
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert len(started_on) == 1 and started_on[0] is not threading.main_thread()
        assert "live (" in str(app.query_one("#filters", Static).render())


async def test_a_damaged_store_is_one_notification_with_the_fix(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from agent_usage import store

    db = tmp_path / "store.duckdb"
    with store.connect(db) as con:  # a store of several blocks, then cut short
        con.execute("CREATE TABLE filler AS SELECT range AS i FROM range(1000000)")
    os.truncate(db, 300_000)
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        notes = list(app._notifications)
        assert len(notes) == 1, [(n.title, n.message) for n in notes]
        assert notes[0].title == "The store cannot be used"
        assert "not a usable agent-usage store (damaged file" in notes[0].message
        assert "`agent-usage rebuild` re-creates it" in notes[0].message


async def test_a_config_error_keeps_its_brackets(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text("[budget]\ndaily = 1\n")
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        (note,) = [n for n in app._notifications if n.title == "config.toml ignored"]
        # shown as text: with markup, Textual would take [budget] for a style and drop it
        assert note.markup is False
        assert "unknown section [budget]; known sections: budgets, concentration" in note.message


async def test_the_week_card_starts_on_the_configured_day(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # now is Monday 2026-11-16 (UTC): from Monday only X2 0.02 + G1 0.0375; from Sunday also
    # C4 0.018 and the unpriced C5 (hand-worked in expected.json)
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert card(app, "week").startswith("$0.06")
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text('[budgets]\nstart_of_week = "sunday"\n')
    app = app_factory()
    async with app.run_test(size=(110, 36)) as pilot:
        await settle(app, pilot)
        assert card(app, "week") == "$0.08\n+1 unpriced"
