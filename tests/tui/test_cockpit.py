"""The TUI as a cockpit kept open all day: tables that fit every width, sorting, drill-down,
the Blocks tab's countdown, the overview's chart and budgets, and the first start.

Driven by Textual's Pilot on the reports corpus (fixtures/reports, hand-worked totals).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from textual.widgets import DataTable, SelectionList, Static

from agent_usage.budgets import BudgetStatus
from agent_usage.queries import UsageRow
from agent_usage.settings import Budget
from agent_usage.tui.app import AgentUsageApp
from agent_usage.tui.columns import CELL_PADDING
from agent_usage.tui.screens import FilterScreen, PeriodScreen, SessionScreen
from agent_usage.tui.widgets import budget_line, spend_chart
from tests.conftest import FIXTURES
from tests.tui.pilot import settle

SIZES = [(80, 24), (100, 30), (160, 48)]
TABS = ["overview", "daily", "weekly", "monthly", "project", "model", "session", "blocks"]


def cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def headers(table: DataTable) -> list[str]:
    return [str(column.label) for column in table.ordered_columns]


def screen_lines(app: AgentUsageApp) -> list[str]:
    """What the terminal shows, line by line."""
    return ["".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips()]


async def show_tab(app: AgentUsageApp, pilot, tab: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(str(TABS.index(tab) + 1))
    await settle(app, pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("tab", TABS)
def test_every_tab_at_every_width(app_factory, snap_compare, tab: str, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()

    async def ready(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(app, pilot)
        if tab != "overview":
            await show_tab(app, pilot, tab)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize(
    "size", [(80, 24)], ids=lambda size: f"{size[0]}x{size[1]}"
)  # the snapshots show the rest
async def test_cost_is_next_to_the_key_and_never_cut(app_factory, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        for tab in TABS[1:-1]:
            await show_tab(app, pilot, tab)
            table = app.query_one(f"#table-{tab}", DataTable)
            assert headers(table)[1].startswith("Cost"), tab
            widths = [column.get_render_width(table) for column in table.ordered_columns]
            assert sum(widths) <= size[0], (tab, widths)  # every column on screen
            cost_column = table.ordered_columns[1]
            assert cost_column.width >= max(len(row[1]) for row in cells(table)), tab
            screen = "\n".join(screen_lines(app))
            for row in cells(table):
                assert row[1] in screen, (tab, row[1])  # whole, as the screen shows it


async def test_narrow_terminals_drop_cache_columns_then_shorten_numbers(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "project")
        table = app.query_one("#table-project", DataTable)
        assert headers(table) == [
            "Project",
            "Cost ▼",
            "Total",
            "Input",
            "Output",
            "Cache write",
            "Cache read",
        ]
        assert cells(table)[-1][2] == "122,200"
        await pilot.resize_terminal(62, 30)  # the layout follows the new width: cache columns go
        await settle(app, pilot)
        assert headers(table) == ["Project", "Cost ▼", "Total", "Input", "Output"]
        assert cells(table)[-1][2] == "122,200"
        await pilot.resize_terminal(50, 30)  # then short numbers, then input and output
        await settle(app, pilot)
        assert headers(table) == ["Project", "Cost ▼", "Total"]
        assert cells(table)[-1] == ["Total", "$0.23 +1 unpriced", "122.2k"]
        await pilot.resize_terminal(160, 30)
        await settle(app, pilot)
        assert len(headers(table)) == 7 and cells(table)[-1][2] == "122,200"


async def test_column_widths_come_from_the_rows_not_from_a_later_measure(app_factory) -> None:  # type: ignore[no-untyped-def]
    """The collapse seen on a busy machine: columns as narrow as their headers after two loads
    landed back to back. Widths are now set from the cells, whatever order things happen in."""
    app = app_factory()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "model")
        report = app._reports["model"]
        app._show_table("model", report)  # two loads landing in one frame
        app._show_table("model", report)
        table = app.query_one("#table-model", DataTable)
        rows = cells(table)
        for index, column in enumerate(table.ordered_columns):
            longest = max(len(row[index]) for row in rows)
            assert not column.auto_width and column.width >= longest, column.label
            assert column.get_render_width(table) == column.width + CELL_PADDING


async def test_a_header_click_or_s_sorts_the_table(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "model")
        table = app.query_one("#table-model", DataTable)
        assert [row[0] for row in cells(table)][:2] == ["claude-sonnet-4-5", "gpt-5"]  # by cost
        await pilot.press("s")  # the next column: Total, biggest first
        await settle(app, pilot)
        assert headers(table)[2] == "Total ▼"
        assert [row[2] for row in cells(table)][:3] == ["44,000", "41,000", "32,000"]
        await pilot.click("#table-model", offset=(2, 0))  # the Model header: names from a to z
        await settle(app, pilot)
        assert headers(table)[0] == "Model ▲"
        assert [row[0] for row in cells(table)][:-1] == sorted(row[0] for row in cells(table)[:-1])
        assert cells(table)[-1][0] == "Total"  # the totals stay last


async def test_enter_on_a_day_shows_its_models_and_sessions(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "daily")
        await pilot.press("enter")  # the newest day first: 2026-11-16
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, PeriodScreen) and screen.period == "2026-11-16"
        models = cells(screen.query_one("#period-models", DataTable))
        assert [(row[0], row[1]) for row in models] == [("gemini-2.5-pro", "$0.04"), ("gpt-5", "$0.02")]
        sessions = screen.query_one("#period-sessions", DataTable)
        assert sessions.row_count == 2
        sessions.focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, SessionScreen)
        await pilot.press("escape", "escape")
        await settle(app, pilot)
        assert app.filter_state.range == "30d"  # the drill-down leaves the app's filters alone


async def test_the_blocks_tab_counts_down_the_running_block(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "blocks")
        panel = str(screen_text := "\n".join(screen_lines(app)))
        assert "Active 5-hour block" in panel and "04:00, in 3h 00m" in screen_text
        table = app.query_one("#table-blocks", DataTable)
        assert cells(table)[0][:2] == ["2026-11-15 23:00", "ACTIVE"]
        app.now = lambda: datetime(2026, 11, 16, 2, 59)  # type: ignore[method-assign]
        await pilot.pause(1.2)  # the countdown redraws every second
        assert "04:00, in 1h 01m" in "\n".join(screen_lines(app))
        app.now = lambda: datetime(2026, 11, 16, 4, 0)  # type: ignore[method-assign]
        await pilot.pause(1.2)
        assert "No active block." in "\n".join(screen_lines(app))


async def test_page_down_scrolls_the_overview_at_once(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        scroll = app.query_one("#overview-scroll")
        assert scroll.scroll_y == 0
        await pilot.press("pagedown")
        await settle(app, pilot)
        assert scroll.scroll_y > 0
        await pilot.press("pageup")
        await settle(app, pilot)
        assert scroll.scroll_y == 0


async def test_a_first_start_without_agent_files_says_where_it_looked(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "empty-home"
    home.mkdir()
    app = app_factory(env={"HOME": str(home)})
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        empty = app.query_one("#empty", Static)
        assert empty.display
        text = str(empty.render())
        assert "No agent sessions found yet." in text
        assert str(home / ".claude") in text and str(home / ".codex") in text
        assert "agent-usage demo" in text and "agent-usage doctor" in text


async def test_the_message_stays_away_once_there_is_usage(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert not app.query_one("#empty", Static).display


async def test_the_filter_form_takes_several_values_of_a_kind(app_factory) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    async with app.run_test(size=(110, 44)) as pilot:
        await settle(app, pilot)
        await pilot.press("f")
        await settle(app, pilot)
        assert isinstance(app.screen, FilterScreen)
        harnesses = app.screen.query_one("#harness", SelectionList)
        harnesses.select("codex")
        harnesses.select("pi")
        await pilot.click("#apply")
        await settle(app, pilot)
        assert app.filter_state.harness == ("codex", "pi")
        assert "harness: codex, pi" in str(app.query_one("#filters", Static).render())
        sessions = app.query_one("#card-sessions")
        assert str(sessions.render()).startswith("2")  # one Codex and one pi session


async def test_a_session_marks_subagent_turns_and_keeps_file_paths_whole(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = FIXTURES / "claude-code" / "subagents"
    app = app_factory(env={"HOME": str(tmp_path), "CLAUDE_CONFIG_DIR": str(root)})
    async with app.run_test(size=(80, 30)) as pilot:
        await settle(app, pilot)
        app.set_range("all")
        await settle(app, pilot)
        await show_tab(app, pilot, "session")
        await pilot.press("enter")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        agents = [row[2] for row in cells(screen.query_one("#turns", DataTable))]
        assert sorted(agents) == ["main", "↳ agent-a1", "↳ agent-a1", "↳ agent-legacy9"]
        info = str(screen.query_one("#session-info", Static).render()).splitlines()
        files = [line for line in info if "File:" in line]
        assert len(files) == 3 and all(len(line) <= 80 - 2 for line in files)
        assert any(line.endswith("agent-a1.jsonl") for line in files)


def test_the_chart_shows_days_without_use_and_a_value_axis() -> None:
    rows = [UsageRow("2026-11-13", cost_usd=0.10), UsageRow("2026-11-16", cost_usd=0.05)]
    lines = spend_chart(rows, 80, today="2026-11-17", height=4).plain.splitlines()
    assert lines[0].startswith("$0.10 ┤") and lines[-2].startswith("   $0 ┤")
    assert lines[-1].strip().startswith("2026-11-13 … 2026-11-17   5 days, 3 without use")
    bottom = lines[-2].split("┤")[1]
    assert [bottom[i] for i in range(0, 10, 2)] == ["█", " ", " ", "█", " "]  # 13th, 14th, 15th, 16th, 17th


def test_a_budget_line_fits_its_width_with_the_status_word() -> None:
    status = BudgetStatus(
        Budget("monthly", 250.0, "project", "payments-service"),
        datetime(2026, 11, 1), datetime(2026, 12, 1), 212.5, 3, "warning",
    )  # fmt: skip
    for width in (60, 74, 120):  # the overview gives it the terminal width less its border
        line = budget_line(status, width)
        assert line.plain.endswith("85%  warning") and len(line.plain) <= width, width


async def test_a_day_without_use_costs_nothing(app_factory, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    app = app_factory()
    monkeypatch.setenv("AGENT_USAGE_NOW", "2026-11-20T12:00:00Z")  # four days after the corpus
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert str(app.query_one("#card-today").render()) == "$0.00\n0 tokens"


async def test_the_tui_names_projects_as_config_toml_does(app_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "agent-usage" / "config" / "config.toml").write_text(
        '[projects]\nstore = "/home/al/src/shop"\n'
    )
    app = app_factory()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await show_tab(app, pilot, "project")
        keys = [row[0] for row in cells(app.query_one("#table-project", DataTable))]
        assert "store" in keys and "shop" not in keys
