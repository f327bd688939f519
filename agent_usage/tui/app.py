"""The `agent-usage` TUI: overview cards and charts, report tabs, session drill-down, live updates.

Every store access runs in a thread worker (short-lived connection) and hands plain data
back to the UI thread; ingest runs in-process on start and again whenever the watcher
sees the agents' folders change.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import JustifyMethod
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from agent_usage import heartbeat, periods, settings
from agent_usage.budgets import BudgetStatus, period_bounds
from agent_usage.dashboard import Choices, Overview, load_choices, load_overview, load_report
from agent_usage.errors import AgentUsageError, ConfigError, StoreError
from agent_usage.folder_watcher import FolderWatcher
from agent_usage.ingest import IngestSummary, ingest
from agent_usage.paths import resolve_paths
from agent_usage.queries import Filters
from agent_usage.render.format import count, local_time, money, tokens
from agent_usage.reports import Report
from agent_usage.settings import Settings
from agent_usage.tui.columns import Layout, Sort, default_sort, fit, header, row_cells
from agent_usage.tui.screens import FilterScreen, HelpScreen, PeriodScreen, SessionScreen
from agent_usage.tui.state import RANGES, FilterState, period_dates
from agent_usage.tui.widgets import (
    BLOCK_FIGURES,
    BLOCK_HEADERS,
    Card,
    block_cells,
    budget_line,
    card_detail,
    empty_message,
    share_table,
    spend_chart,
)

TABLE_TABS: dict[str, str] = {
    "daily": "Daily",
    "weekly": "Weekly",
    "monthly": "Monthly",
    "project": "Projects",
    "model": "Models",
    "session": "Sessions",
}
TABS = ("overview", *TABLE_TABS, "blocks")
PERIOD_TABS = ("daily", "weekly", "monthly")
"""Tabs whose rows are calendar periods: Enter on one opens its models and sessions."""
RANGE_CYCLE = ("today", "7d", "30d", "3m", "all")
PROGRESS_MIN_BYTES = 8 * 1024 * 1024
"""Only an ingest reading this much shows a progress bar (a first run, a big rewrite)."""
PROGRESS_EVERY_S = 0.25
"""How often the ingest thread updates the progress bar."""
PARTIAL_RELOAD_S = 3.0
"""During such an ingest the views re-read the store this often, so they fill as batches land."""


def describe_failure(error: BaseException | None) -> tuple[str, str]:
    """(title, message) of a failed load or ingest, in a user's words, with the fix."""
    if isinstance(error, AgentUsageError):
        title = "The store cannot be used" if isinstance(error, StoreError) else "agent-usage"
        return title, error.message + (f"\n{error.hint}" if error.hint else "")
    return "Something went wrong", f"{type(error).__name__}: {error}\nPress r to try again."


class AgentUsageCommands(Provider):
    """Command palette: every action, plus a filter for each harness, project and model."""

    def _commands(self) -> list[tuple[str, str, object]]:
        app: AgentUsageApp = self.app  # type: ignore[assignment]
        commands: list[tuple[str, str, object]] = [
            (f"Range: {label}", "Show this date range everywhere", partial(app.set_range, key))
            for key, label in RANGES.items()
            if key != "custom"
        ]
        commands += [
            ("Filters…", "Open the filter form", app.action_filters),
            ("Clear filters", "Show everything", app.action_clear_filters),
            ("Refresh", "Re-read the session files now", app.action_refresh),
            ("Toggle light/dark theme", "Switch the colour theme", app.action_toggle_theme),
            ("Help", "Key bindings and what the numbers mean", app.action_help),
        ]
        commands += [
            (f"Show tab: {label}", "Switch tab", partial(app.action_tab, tab))
            for tab, label in (("overview", "Overview"), *TABLE_TABS.items(), ("blocks", "Blocks"))
        ]
        choices = app.choices
        if choices is not None:
            for kind, values in (
                ("harness", choices.harnesses),
                ("project", choices.projects),
                ("model", choices.models),
            ):
                chosen = getattr(app.filter_state, kind)
                names = choices.project_labels if kind == "project" else {}
                commands += [
                    (
                        f"Filter {kind}: {names.get(value, value)}",
                        f"Take this {kind} out of the filter" if value in chosen else f"Add this {kind}",
                        partial(app.set_filter, kind, value),
                    )
                    for value in values
                ]
        return commands

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]


class AgentUsageApp(App[None]):
    """What am I spending, where, and how is it trending."""

    CSS_PATH = "app.tcss"
    TITLE = "agent-usage"
    COMMANDS = App.COMMANDS | {AgentUsageCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("f", "filters", "Filters"),
        Binding("t", "cycle_range", "Range"),
        Binding("c", "clear_filters", "Clear"),
        Binding("s", "sort", "Sort"),
        Binding("r", "refresh", "Refresh"),
        Binding("d", "toggle_theme", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("pagedown", "page(1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        *(Binding(str(i + 1), f"tab('{tab}')", show=False) for i, tab in enumerate(TABS)),
    ]

    def __init__(
        self,
        db_path: Path,
        env: Mapping[str, str] | None = None,
        tz: str | ZoneInfo | None = None,
        live: bool = True,
        ingest_on_start: bool = True,
    ) -> None:
        super().__init__()
        self.db_path = db_path
        self.env = dict(os.environ if env is None else env)
        self.tz: ZoneInfo = tz if isinstance(tz, ZoneInfo) else periods.resolve_zone(tz)
        self.live = live
        self.ingest_on_start = ingest_on_start
        self.filter_state = FilterState()
        self.choices: Choices | None = None
        self.last_ingest: IngestSummary | None = None
        self.ingest_count = 0
        self._watcher: FolderWatcher | None = None
        self._ingest_lock = threading.Lock()
        self._ingest_again = threading.Event()
        self._changed_lock = threading.Lock()
        self._errors_shown: set[str] = set()
        self._changed: set[str] = set()
        self._full_ingest = True  # the first run (and `r`) checks every file; the watcher's only its own
        self._last_partial_reload = time.monotonic()
        self._last_progress = 0.0
        self.settings: Settings | None = None
        self._reports: dict[str, Report] = {}
        """The last report of each tab, re-laid out on a resize or a new sort without a query."""
        self._sorts: dict[str, Sort] = {}
        self._overview: Overview | None = None
        self._width = 0

    def now(self) -> datetime:
        return periods.now_utc()

    # layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="status"):
            yield Static(id="filters")
            yield ProgressBar(id="progress", show_eta=False)
        with TabbedContent(initial="overview", id="tabs"):
            with TabPane("Overview", id="overview"), VerticalScroll(id="overview-scroll"):
                yield Static(id="empty")
                with Horizontal(classes="cards"):
                    yield Card("Today", id="card-today")
                    yield Card("This week", id="card-week")
                    yield Card("This month", id="card-month")
                    yield Card("All time", id="card-all")
                with Horizontal(classes="cards"):
                    yield Card("Tokens (range)", id="card-tokens")
                    yield Card("Sessions (range)", id="card-sessions")
                    yield Card("Active days (range)", id="card-days")
                yield Vertical(id="budgets")
                yield Static(id="chart")
                with Horizontal(id="shares"):
                    yield Static(id="share-harness")
                    yield Static(id="share-model")
                    yield Static(id="share-project")
            for tab, label in TABLE_TABS.items():
                with TabPane(label, id=tab):
                    yield DataTable(id=f"table-{tab}", cursor_type="row", zebra_stripes=True)
            with TabPane("Blocks", id="blocks"), Vertical():
                yield Static(id="block-panel")
                yield DataTable(id="table-blocks", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#progress", ProgressBar).display = False
        self.query_one("#chart", Static).border_title = "Spend per day"
        budgets = self.query_one("#budgets", Vertical)
        budgets.border_title = "Budgets"
        budgets.display = False
        self.query_one("#empty", Static).display = False
        self.set_interval(1.0, self._tick_block_countdown)
        self._load_settings()
        self._show_filters()
        if self.db_path.exists() or not self.ingest_on_start:
            self.reload()  # paint what the store holds at once; the ingest then brings it up to date
        if self.ingest_on_start:
            self.run_ingest()

    def on_unmount(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            heartbeat.stop(self.db_path)

    # ingest and live updates

    @work(thread=True, group="ingest", exit_on_error=False)
    def run_ingest(self) -> None:
        """Ingest until nothing new arrived meanwhile; a change during a run schedules one more."""
        if not self._ingest_lock.acquire(blocking=False):
            self._ingest_again.set()
            return
        try:
            while True:
                self._ingest_again.clear()
                only: set[str] | None
                with self._changed_lock:
                    only, self._changed = self._changed, set()
                    if self._full_ingest:
                        only, self._full_ingest = None, False
                if only is None:  # this week's files first: today's and the week's figures are exact at once
                    week = ingest(
                        self.db_path,
                        env=self.env,
                        progress=self._progress_from_thread,
                        since=self._week_start(),
                    )
                    self.call_from_thread(self._ingested, week)
                summary = ingest(self.db_path, env=self.env, progress=self._progress_from_thread, only=only)
                if self.live and self._watcher is None:
                    self._watcher = self._start_watcher()
                    self.call_from_thread(self._keep_heartbeat)
                self.call_from_thread(self._ingested, summary)
                if not self._ingest_again.is_set():
                    break
        finally:
            self._ingest_lock.release()

    def _week_start(self) -> datetime:
        """The start of this week (naive UTC), weeks starting on the configured day."""
        start_of_week = self.settings.start_of_week if self.settings else "monday"
        return period_bounds("weekly", self.now(), self.tz, start_of_week)[0]

    def _keep_heartbeat(self) -> None:
        """From now on the watcher keeps the store current: say so beside the store, so a
        report can skip its walk of every file (see `agent_usage.heartbeat`)."""
        self._beat()
        self.set_interval(heartbeat.BEAT_EVERY_S, self._beat)

    @work(thread=True, group="heartbeat", exit_on_error=False)
    def _beat(self) -> None:
        # a heartbeat left unwritten only means reports walk the files themselves: slower, never wrong
        with contextlib.suppress(OSError):
            heartbeat.beat(self.db_path, self.env)

    def _progress_from_thread(self, done: int, total: int) -> None:
        """Progress from the ingest thread, at most every `PROGRESS_EVERY_S`: each call waits
        for the UI thread, and one per file made a read of 555 files take 7.5 s instead of 2."""
        now = time.monotonic()
        if total > PROGRESS_MIN_BYTES and (done >= total or now - self._last_progress >= PROGRESS_EVERY_S):
            self._last_progress = now
            self.call_from_thread(self._show_progress, done, total)

    def _show_progress(self, done: int, total: int) -> None:
        bar = self.query_one("#progress", ProgressBar)
        bar.display = done < total
        bar.update(total=total, progress=done)
        now = time.monotonic()
        if done < total and now - self._last_partial_reload >= PARTIAL_RELOAD_S:
            self._last_partial_reload = now
            self.reload()  # the batches committed so far

    def _start_watcher(self) -> FolderWatcher:
        """Watch the agents' folders, from the ingest thread: adding one watch per folder takes
        0.7 s on a history of 6,000 folders, which froze the UI when done on its thread."""
        watcher = FolderWatcher(self.env, self._files_changed)
        watcher.start()
        return watcher

    def _ingested(self, summary: IngestSummary) -> None:
        self.last_ingest = summary
        self.ingest_count += 1
        self.query_one("#progress", ProgressBar).display = False
        self._show_filters()
        self.reload()

    def _files_changed(self, paths: set[str]) -> None:
        """Called from the watcher's thread with the session files that changed."""
        with self._changed_lock:
            self._changed |= paths
        self.call_from_thread(self.run_ingest)

    # loading data

    def reload(self) -> None:
        self.load_choices()
        active = self.query_one(TabbedContent).active or "overview"
        if active == "overview":
            self.load_overview()
        else:
            self.load_table(active)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or "overview"
        if tab != "overview":
            self.query_one(f"#table-{tab}", DataTable).focus()
        self.reload()

    @work(thread=True, exclusive=True, group="choices", exit_on_error=False)
    def load_choices(self) -> None:
        choices = load_choices(self.db_path, self.settings)
        self.call_from_thread(setattr, self, "choices", choices)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def load_overview(self) -> None:
        now = self.now()
        selected = self.filter_state.to_filters(self.tz, now)
        overview = load_overview(self.db_path, selected, now, self.settings)
        self.call_from_thread(self._show_overview, overview)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def load_table(self, view: str) -> None:
        now = self.now()
        report = load_report(
            self.db_path, view, self.filter_state.to_filters(self.tz, now), now, settings=self.settings
        )
        self.call_from_thread(self._show_table, view, report)

    def _filters_for(self, state: FilterState) -> Filters:
        """The query filters of a filter state, now, in the app's zone (raises on a bad date)."""
        return state.to_filters(self.tz, self.now())

    def _session_report(self, session_id: str) -> Report:
        """One session's turns under the current filters (run in the session screen's worker)."""
        now = self.now()
        filters = self.filter_state.to_filters(self.tz, now)
        return load_report(self.db_path, "session", filters, now, session_id, self.settings)

    # showing data

    def _show_filters(self) -> None:
        text = Text.assemble(
            ("Showing ", "dim"),
            (self.filter_state.describe(self.choices.project_labels if self.choices else None), "bold"),
            ("  ·  ", "dim"),
            (self.tz.key, "dim"),
        )
        if self._watcher is not None:
            text.append(f"  ·  live ({self._watcher.mode})", style="green")
        self.query_one("#filters", Static).update(text)

    def _show_overview(self, overview: Overview) -> None:
        self._overview = overview
        self._show_empty_state(overview)
        for card_id, row in (
            ("today", overview.today),
            ("week", overview.week),
            ("month", overview.month),
            ("all", overview.all_time),
        ):
            spent = row.cost_usd if row.events else 0.0  # nothing used is $0, not an unknown cost
            self.query_one(f"#card-{card_id}", Card).show(money(spent), card_detail(row))
        selected = overview.selected
        self.query_one("#card-tokens", Card).show(
            tokens(selected.total_tokens), f"{tokens(selected.output_tokens, compact=True)} output"
        )
        self.query_one("#card-sessions", Card).show(
            f"{selected.sessions:,}", count(selected.events, "request")
        )
        per_day = (selected.cost_usd or 0.0) / overview.active_days if overview.active_days else 0.0
        self.query_one("#card-days", Card).show(
            f"{overview.active_days:,}", f"{money(per_day)} per active day"
        )
        self._show_shapes(overview)
        self._show_budgets(overview.budgets)

    def _show_shapes(self, overview: Overview) -> None:
        """The chart and the share lists, laid out for the current width."""
        width = self.width
        self.query_one("#chart", Static).update(
            spend_chart(overview.daily, max(width - 6, 20), self._today())
        )
        share_width = max(width // 3 - 2, 20)
        for kind, rows in (
            ("harness", overview.by_harness),
            ("model", overview.by_model),
            ("project", overview.by_project),
        ):
            self.query_one(f"#share-{kind}", Static).update(share_table(f"By {kind}", rows, share_width))

    def _today(self) -> str:
        """Today's date in the app's zone, as the chart's day keys spell it."""
        return local_time(self.now(), self.tz, "%Y-%m-%d")

    def _show_empty_state(self, overview: Overview) -> None:
        """A first start with no agent files: which folders were searched, and what to try."""
        empty = self.query_one("#empty", Static)
        nothing = overview.all_time.events == 0 and self.last_ingest is not None
        empty.display = nothing
        if nothing:
            from agent_usage.parsers import PARSERS

            searched = [str(root) for parser in PARSERS.values() for root in parser.roots(self.env)]
            empty.update(empty_message(searched))

    def _show_budgets(self, statuses: list[BudgetStatus]) -> None:
        """One line per budget; the classes colour it: amber from 80%, red from 100%."""
        container = self.query_one("#budgets", Vertical)
        container.display = bool(statuses)
        container.remove_children()
        width = max(self.width - 6, 40)
        container.mount_all(
            Static(budget_line(status, width), classes=f"budget budget-{status.status}")
            for status in statuses
        )

    def _show_table(self, view: str, report: Report) -> None:
        self._reports[view] = report
        self._lay_out(view)

    def _lay_out(self, view: str) -> None:
        """Fill a tab's table from its last report, with the columns that fit the width now."""
        report = self._reports.get(view)
        if report is None:
            return
        if view == "blocks":
            self._show_blocks(report)
            return
        table = self.query_one(f"#table-{view}", DataTable)
        sort = self._sorts.get(view) or default_sort(view)
        rows = sort.apply(report.rows)
        layout = fit(view, [*rows, report.totals], self.width, self._local_time, sort)
        keep = table.cursor_row
        table.clear(columns=True)
        for column, width in zip(layout.columns, layout.widths, strict=True):
            label = Text(header(column, sort), justify="right" if column.numeric else "left")
            table.add_column(label, key=column.key, width=width)
        for row in rows:
            cells = row_cells(view, row, layout.compact, self._local_time)
            # Text, not str: DataTable reads a str cell as markup, and a project named [wip] is text
            table.add_row(*self._cells(layout, cells), key=row.key)
        totals = row_cells(view, report.totals, layout.compact, self._local_time)
        totals.update(key="Total", harness="", project="", last="")
        table.add_row(*self._cells(layout, totals, "bold"), key="__total__")
        table.move_cursor(row=min(keep, table.row_count - 1))

    @staticmethod
    def _cells(layout: Layout, cells: Mapping[str, str], style: str = "") -> list[Text]:
        return [
            Text(cells[column.key], style=style, justify="right" if column.numeric else "left", no_wrap=True)
            for column in layout.columns
        ]

    def _local_time(self, value: datetime | None) -> str:
        return local_time(value, self.tz)

    def _show_blocks(self, report: Report) -> None:
        """The running block's panel and every block, newest first."""
        self._tick_block_countdown()
        table = self.query_one("#table-blocks", DataTable)
        table.clear(columns=True)
        newest_first = list(reversed(report.blocks))
        rows = [block_cells(block, self.tz) for block in newest_first]
        justify: list[JustifyMethod] = ["right" if h in BLOCK_FIGURES else "left" for h in BLOCK_HEADERS]
        for index, label in enumerate(BLOCK_HEADERS):
            width = max([len(label), *(len(row[index]) for row in rows)])  # from the cells, as in `columns`
            table.add_column(Text(label, justify=justify[index]), width=width)
        for block, row in zip(newest_first, rows, strict=True):
            style = "bold green" if block.is_active else "dim" if block.is_gap else ""
            table.add_row(
                *(Text(cell, style=style, justify=side) for cell, side in zip(row, justify, strict=True))
            )

    def _tick_block_countdown(self) -> None:
        """Redraw the running block's panel with the time left as of now (every second)."""
        report = self._reports.get("blocks")
        if report is None:
            return
        from agent_usage.render.tables import active_block_panel

        active = next((block for block in report.blocks if block.is_active), None)
        if active is not None and self.now() >= active.end:
            active = None  # ended while on screen: the next reload shows the new state
        self.query_one("#block-panel", Static).update(
            active_block_panel(replace(report, now=self.now()), active)
        )

    @property
    def width(self) -> int:
        """The terminal's width, as the last resize said (the app's size follows a frame later)."""
        return self._width or self.size.width

    def on_resize(self, event: events.Resize) -> None:
        """Lay the shown tab out again for the new width (columns come and go)."""
        self._width = event.size.width
        active = self.query_one(TabbedContent).active or "overview"
        if active == "overview":
            if self._overview is not None:
                self._show_shapes(self._overview)
                self._show_budgets(self._overview.budgets)
        else:
            self._lay_out(active)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a column header sorts by it; a second click turns the order round."""
        view = (event.data_table.id or "").removeprefix("table-")
        if view not in TABLE_TABS:
            return
        current = self._sorts.get(view) or default_sort(view)
        self._sorts[view] = current.toggled(str(event.column_key.value))
        self._lay_out(view)

    def action_sort(self) -> None:
        """`s`: sort the shown table by its next column."""
        view = self.query_one(TabbedContent).active or "overview"
        if view not in TABLE_TABS or view not in self._reports:
            return
        table = self.query_one(f"#table-{view}", DataTable)
        keys = [str(column.key.value) for column in table.ordered_columns]  # the columns shown
        current = self._sorts.get(view) or default_sort(view)
        following = keys[(keys.index(current.column) + 1) % len(keys)] if current.column in keys else keys[0]
        self._sorts[view] = current.toggled(following)
        self._lay_out(view)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed load or ingest is shown once, in plain words with its fix, never swallowed.

        The loaders of every tab fail together on a damaged store: one notification says so,
        until a load succeeds again.
        """
        if event.state == WorkerState.SUCCESS:
            self._errors_shown.clear()
            return
        if event.state != WorkerState.ERROR:
            return
        title, message = describe_failure(event.worker.error)
        if message in self._errors_shown:
            return
        self._errors_shown.add(message)
        self.notify(message, title=title, severity="error", timeout=15, markup=False)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key in (None, "__total__"):
            return
        view = (event.data_table.id or "").removeprefix("table-")
        if view == "session":
            self.open_session(str(key))
        elif view in PERIOD_TABS:
            since, until = period_dates(view, str(key))
            state = replace(self.filter_state, range="custom", since=since, until=until)
            self.push_screen(PeriodScreen(str(key), state.describe(), partial(self._period_reports, state)))

    def open_session(self, session_id: str) -> None:
        self.push_screen(SessionScreen(session_id, partial(self._session_report, session_id)))

    def _period_reports(self, state: FilterState) -> tuple[Report, Report]:
        """The models and the sessions of one period under the other filters (a worker calls it)."""
        now = self.now()
        filters = state.to_filters(self.tz, now)
        return (
            load_report(self.db_path, "model", filters, now, settings=self.settings),
            load_report(self.db_path, "session", filters, now, settings=self.settings),
        )

    # actions

    def set_filters(self, state: FilterState | None) -> None:
        if state is None:
            return
        self.filter_state = state
        self._show_filters()
        self.reload()

    def set_range(self, key: str) -> None:
        self.set_filters(replace(self.filter_state, range=key, since=None, until=None))

    def set_filter(self, kind: str, value: str) -> None:
        """Add `value` to the harness, project or model filter, or take it out if it is in."""
        self.set_filters(self.filter_state.toggled(kind, value))

    def action_cycle_range(self) -> None:
        current = self.filter_state.range
        following = (
            RANGE_CYCLE[(RANGE_CYCLE.index(current) + 1) % len(RANGE_CYCLE)]
            if current in RANGE_CYCLE
            else RANGE_CYCLE[0]
        )
        self.set_range(following)

    def action_filters(self) -> None:
        choices = self.choices or Choices([], [], [])
        self.push_screen(FilterScreen(self.filter_state, choices, self._filters_for), self.set_filters)

    def action_clear_filters(self) -> None:
        """Back to the range the app starts with, and no harness, project or model filter."""
        self.set_filters(FilterState())

    def action_page(self, direction: int) -> None:
        """PageDown/PageUp scroll the overview without moving focus to it first (a table tab's
        table takes the keys itself)."""
        if (self.query_one(TabbedContent).active or "overview") == "overview":
            scroll = self.query_one("#overview-scroll", VerticalScroll)
            scroll.scroll_page_down() if direction > 0 else scroll.scroll_page_up()

    def action_refresh(self) -> None:
        """Check every file again and re-read config.toml (budgets may have changed)."""
        self._load_settings()
        with self._changed_lock:
            self._full_ingest = True
        self.run_ingest()

    def _load_settings(self) -> None:
        try:
            self.settings = settings.load(resolve_paths().config_file)
        except ConfigError as error:
            self.settings = None
            self.notify(
                error.message, title="config.toml ignored", severity="error", timeout=15, markup=False
            )

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
