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
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Markdown, Select, Static

from agent_usage.dashboard import Choices
from agent_usage.errors import AgentUsageError
from agent_usage.render.cells import header_text, session_header, turn_cells
from agent_usage.render.format import local_time, money, tokens
from agent_usage.tui.state import RANGES, FilterState

if TYPE_CHECKING:
    from agent_usage.reports import Report

TURN_TOKEN_ATTRS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


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
        table.add_columns("Time", "Model", "Input", "Output", "Cache write", "Cache read", "Cost")
        self.load()

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def load(self) -> None:
        self.app.call_from_thread(self.show, self.load_turns())

    def show(self, report: Report) -> None:
        info = report.session
        assert info is not None
        lines = header_text(session_header(info), label_width=8)
        total = report.totals
        lines.append(
            f"{len(report.turns)} turns · {tokens(total.total_tokens)} tokens · "
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
                *(Text(value, justify="right") for value in figures),
            )


def _options(values: list[str]) -> list[tuple[str, str]]:
    return [(value, value) for value in values]


class FilterScreen(ModalScreen[FilterState | None]):
    """Date range (preset or custom dates), harness, project and model."""

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
            yield Select(
                _options(self.choices.harnesses),
                value=self.state.harness or Select.NULL,
                prompt="any harness",
                id="harness",
            )
            yield Select(
                _options(self.choices.projects),
                value=self.state.project or Select.NULL,
                prompt="any project",
                id="project",
            )
            yield Select(
                _options(self.choices.models),
                value=self.state.model or Select.NULL,
                prompt="any model",
                id="model",
            )
            yield Label("", id="filter-error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def _value(self, widget_id: str) -> str | None:
        value = self.query_one(f"#{widget_id}", Select).value
        return value if isinstance(value, str) else None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(FilterState(range="all"))
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
            harness=self._value("harness"),
            project=self._value("project"),
            model=self._value("model"),
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
| `1`–`7` | Overview, Daily, Weekly, Monthly, Projects, Models, Sessions |
| `f` | Filters: date range, harness, project, model |
| `t` | Next date range preset (today, 7 days, 30 days, 3 months, all) |
| `c` | Clear all filters |
| `r` | Re-read the session files now |
| `enter` | On a session: its turns and files |
| `d` | Light or dark theme |
| `ctrl+p` | Command palette: every action, and filter by any harness, project or model |
| `?` | This help |
| `q` | Quit |

The app reads new usage on start and then watches the agents' folders, so new turns appear
within seconds. Costs are computed from bundled prices; "unpriced" means no price is known.
"""


class HelpScreen(ModalScreen[None]):
    """Key bindings and what the numbers mean."""

    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
