"""Pushed screens: a session's turns, the filter form, and help."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    Button,
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    Markdown,
    Select,
    SelectionList,
    Static,
)

from agent_usage.dashboard import Choices
from agent_usage.errors import AgentUsageError
from agent_usage.render.cells import header_text, session_header, turn_cells
from agent_usage.render.format import count, local_time, money, tokens
from agent_usage.tui.state import RANGES, FilterState

if TYPE_CHECKING:
    from agent_usage.reports import Report

TURN_TOKEN_ATTRS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
LABEL_WIDTH = 8


def fitted_path(path: str, width: int) -> str:
    """A file path in `width` columns: whole when it fits, else its end after `…` (the file
    name is what tells files apart; a path wrapped mid-name is hard to read)."""
    return path if len(path) <= width else "…" + path[-(width - 1) :]


class SessionScreen(Screen[None]):
    """One session: where it ran, its files, and each turn with time, model, tokens and cost."""

    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back")]

    def __init__(self, session_id: str, load_turns: Callable[[], Report]) -> None:
        """`load_turns` reads the session's report (in a worker thread) under the app's filters."""
        super().__init__()
        self.session_id = session_id
        self.load_turns = load_turns

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="session-info")
        yield DataTable(id="turns", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#turns", DataTable)
        table.add_columns("Time", "Model", "Agent", "Input", "Output", "Cache write", "Cache read", "Cost")
        self.load()

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def load(self) -> None:
        self.app.call_from_thread(self.show, self.load_turns())

    def show(self, report: Report) -> None:
        info = report.session
        assert info is not None
        room = max(self.app.size.width - LABEL_WIDTH - 4, 20)
        header = [
            (label, fitted_path(value, room) if label == "File" else value)
            for label, value in session_header(info)
        ]
        lines = header_text(header, label_width=LABEL_WIDTH)
        lines.no_wrap = True
        total = report.totals
        lines.append(
            f"{count(len(report.turns), 'turn')} · {tokens(total.total_tokens)} tokens · "
            f"{money(total.cost_usd, total.unpriced_models)}",
            style="bold",
        )
        self.query_one("#session-info", Static).update(lines)
        table = self.query_one("#turns", DataTable)
        table.clear()
        tz = report.filters.tz
        for turn in report.turns:
            figures = turn_cells(turn, TURN_TOKEN_ATTRS)
            table.add_row(
                local_time(turn.ts, tz, "%Y-%m-%d %H:%M:%S"),
                Text(turn.model),
                Text(f"↳ {turn.agent_id}", style="cyan") if turn.agent_id else Text("main", style="dim"),
                *(Text(value, justify="right") for value in figures),
            )


class PeriodScreen(Screen[None]):
    """One day, week or month (Enter on a Daily, Weekly or Monthly row): its models and its
    sessions under the other filters; Enter on a session opens its turns."""

    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back")]

    def __init__(self, period: str, described: str, load: Callable[[], tuple[Report, Report]]) -> None:
        """`load` reads the (models, sessions) reports in a worker thread."""
        super().__init__()
        self.period = period
        self.described = described
        self.load_reports = load

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="period-info")
        yield Label("Models", classes="section")
        yield DataTable(id="period-models", cursor_type="row", zebra_stripes=True)
        yield Label("Sessions (Enter: its turns)", classes="section")
        yield DataTable(id="period-sessions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#period-models", DataTable).add_columns("Model", "Cost", "Total", "Requests")
        self.query_one("#period-sessions", DataTable).add_columns(
            "Session", "Project", "Last activity", "Cost", "Total"
        )
        self.load()

    @work(thread=True, exclusive=True, group="period", exit_on_error=False)
    def load(self) -> None:
        models, sessions = self.load_reports()
        self.app.call_from_thread(self.show, models, sessions)

    def show(self, models: Report, sessions: Report) -> None:
        total = models.totals
        self.query_one("#period-info", Static).update(
            Text.assemble(
                (f"{self.period}  ", "bold"),
                (f"{money(total.cost_usd, total.unpriced_models)} · {tokens(total.total_tokens)} tokens"
                 f" · {count(total.sessions, 'session')}", "bold"),
                (f"\n{self.described}", "dim"),
            )
        )  # fmt: skip
        table = self.query_one("#period-models", DataTable)
        table.clear()
        for row in sorted(models.rows, key=lambda r: -(r.cost_usd or 0.0)):
            table.add_row(
                Text(row.key),
                Text(money(row.cost_usd, row.unpriced_models, compact=True), justify="right"),
                Text(tokens(row.total_tokens), justify="right"),
                Text(f"{row.events:,}", justify="right"),
                key=row.key,
            )
        table = self.query_one("#period-sessions", DataTable)
        table.clear()
        tz = sessions.filters.tz
        for row in sorted(sessions.rows, key=lambda r: -(r.cost_usd or 0.0)):
            table.add_row(
                Text(row.key[:13]),
                Text(", ".join(row.projects)),
                local_time(row.last_ts, tz),
                Text(money(row.cost_usd, row.unpriced_models, compact=True), justify="right"),
                Text(tokens(row.total_tokens), justify="right"),
                key=row.key,
            )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "period-sessions" and event.row_key.value is not None:
            event.stop()
            self.app.open_session(str(event.row_key.value))  # type: ignore[attr-defined]


class FilterScreen(ModalScreen[FilterState | None]):
    """Date range (preset or custom dates), and any number of harnesses, projects and models."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, state: FilterState, choices: Choices, check: Callable[[FilterState], object]) -> None:
        """`check` raises a `UsageError` for filters that cannot be used (a bad date)."""
        super().__init__()
        self.state = state
        self.choices = choices
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-form"):
            yield Label("Filters", classes="title")
            yield Select(
                [(label, key) for key, label in RANGES.items()],
                value=self.state.range,
                id="range",
                allow_blank=False,
            )
            with Horizontal(classes="dates"):
                yield Input(self.state.since or "", placeholder="since YYYY-MM-DD", id="since")
                yield Input(self.state.until or "", placeholder="until YYYY-MM-DD", id="until")
            for kind, values in (
                ("harness", self.choices.harnesses),
                ("project", self.choices.projects),
                ("model", self.choices.models),
            ):
                chosen = getattr(self.state, kind)
                names = self.choices.project_labels if kind == "project" else {}
                picker = SelectionList[str](
                    *((names.get(value, value), value, value in chosen) for value in values),
                    id=kind,
                    classes="picker",
                )
                picker.border_title = f"{kind.capitalize()} (none ticked: all)"
                yield picker
            yield Label("", id="filter-error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def _value(self, widget_id: str) -> str | None:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else None

    def _ticked(self, kind: str) -> tuple[str, ...]:
        return tuple(self.query_one(f"#{kind}", SelectionList).selected)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(FilterState())
        else:
            self.apply()

    def on_input_submitted(self) -> None:
        self.apply()

    def apply(self) -> None:
        since = self.query_one("#since", Input).value.strip() or None
        until = self.query_one("#until", Input).value.strip() or None
        chosen = self._value("range") or "all"
        state = FilterState(
            range="custom" if since or until else chosen,
            since=since,
            until=until,
            harness=self._ticked("harness"),
            project=self._ticked("project"),
            model=self._ticked("model"),
        )
        try:
            self.check(state)
        except AgentUsageError as error:  # a bad date: say so and stay open
            self.query_one("#filter-error", Label).update(Text(error.message, style="red"))
            return
        self.dismiss(state)

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP = """\
# agent-usage

Spend and tokens of your coding agents, read from their own session files.

| Key | Action |
|---|---|
| `1`–`8` | Overview, Daily, Weekly, Monthly, Projects, Models, Sessions, Blocks |
| `f` | Filters: date range, harness, project, model |
| `t` | Next date range preset (today, 7 days, 30 days, 3 months, all) |
| `c` | Back to the last 30 days, no filters |
| `s` | Sort the table by its next column (or click a column's header; again: the other way) |
| `r` | Re-read the session files now |
| `enter` | On a day, week or month: its models and sessions. On a session: its turns and files |
| `pagedown` `pageup` | Scroll the overview |
| `d` | Light or dark theme |
| `ctrl+p` | Command palette: every action, and filter by any harness, project or model |
| `?` | This help |
| `q` | Quit |

The app reads new usage on start and then watches the agents' folders, so new turns appear
within seconds. Costs are computed from bundled prices; "unpriced" means no price is known.
The Blocks tab shows Claude Code's 5-hour blocks; the running one counts down to its end.
"""


class HelpScreen(ModalScreen[None]):
    """Key bindings and what the numbers mean."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
