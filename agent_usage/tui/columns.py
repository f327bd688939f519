"""Which columns a table tab shows at a given width, how wide each one is, and row order.

Cost comes right after the key column and is never cut. When the table does not fit, the
cache columns go first, then the numbers are abbreviated (`1.2M`), then the input and output
columns (and a session's harness and project), and only then is the key column shortened.
Every width is set from the cells themselves, never measured later by the table: a width
measured before the rows arrive once left every column as narrow as its header.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from agent_usage.queries import UsageRow
from agent_usage.render.format import money, tokens

CELL_PADDING = 2
"""A DataTable cell's padding, one column on each side."""
TABLE_CHROME = 2
"""Room for the table's vertical scrollbar."""
KEY_MIN = 12
"""The key column is never cut below this many columns."""


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    numeric: bool = False


FIGURES = (
    Column("cost", "Cost", True),
    Column("total", "Total", True),
    Column("input", "Input", True),
    Column("output", "Output", True),
    Column("cache_write", "Cache write", True),
    Column("cache_read", "Cache read", True),
)
SESSION_COLUMNS = (
    Column("key", "Session"),
    Column("cost", "Cost", True),
    Column("total", "Total", True),
    Column("last", "Last activity"),
    Column("project", "Project"),
    Column("harness", "Harness"),
    *FIGURES[2:],
)
LEAD_HEADERS = {"project": "Project", "model": "Model", "harness": "Harness"}
DROPS: tuple[tuple[frozenset[str], bool], ...] = (
    (frozenset(), False),
    (frozenset({"cache_write", "cache_read"}), False),
    (frozenset({"cache_write", "cache_read"}), True),
    (frozenset({"cache_write", "cache_read", "input", "output", "harness", "project"}), True),
    (frozenset({"cache_write", "cache_read", "input", "output", "harness", "project", "last"}), True),
)
"""Layouts from the richest to the leanest: the columns left out, and whether numbers are short."""


@dataclass(frozen=True, slots=True)
class Layout:
    """The columns shown, each one's width, and whether numbers are abbreviated."""

    columns: tuple[Column, ...]
    widths: tuple[int, ...]
    compact: bool

    @property
    def total_width(self) -> int:
        return sum(width + CELL_PADDING for width in self.widths)


def columns_for(view: str) -> tuple[Column, ...]:
    """Every column a table tab can show, in order: the key, Cost, then the rest."""
    if view == "session":
        return SESSION_COLUMNS
    return (Column("key", LEAD_HEADERS.get(view, "Period")), *FIGURES)


SESSION_ID_CHARS = 13
"""A session id is shown by its first characters (the drill-down shows it whole)."""


def row_cells(
    view: str, row: UsageRow, compact: bool, local_time: Callable[[datetime | None], str]
) -> dict[str, str]:
    """The text of every cell of a usage row, by column key."""
    return {
        "key": row.key[:SESSION_ID_CHARS] if view == "session" else row.key,
        "harness": ", ".join(row.harnesses),
        "project": ", ".join(row.projects),
        "last": local_time(row.last_ts),
        "cost": money(row.cost_usd, row.unpriced_models, compact=True),
        "total": tokens(row.total_tokens, compact),
        "input": tokens(row.input_tokens, compact),
        "output": tokens(row.output_tokens, compact),
        "cache_write": tokens(row.cache_write_tokens, compact),
        "cache_read": tokens(row.cache_read_tokens, compact),
    }


def fit(
    view: str,
    rows: Sequence[UsageRow],
    width: int,
    local_time: Callable[[datetime | None], str],
    sort: Sort | None = None,
) -> Layout:
    """The richest layout whose columns fit in `width` (the table's own width); the column
    `sort` orders by gets room for its arrow."""
    available = width - TABLE_CHROME
    every = columns_for(view)
    layout = None
    for dropped, compact in DROPS:
        columns = tuple(column for column in every if column.key not in dropped)
        cells = [row_cells(view, row, compact, local_time) for row in rows]
        widths = tuple(
            max([len(header(column, sort)), *(len(cell[column.key]) for cell in cells)]) for column in columns
        )
        layout = Layout(columns, widths, compact)
        if layout.total_width <= available:
            return layout
    assert layout is not None
    return _shorten_key(layout, available)


def header(column: Column, sort: Sort | None) -> str:
    """A column's header, with ▼ or ▲ on the one the table is sorted by."""
    if sort is None or sort.column != column.key:
        return column.header
    return f"{column.header} {'▼' if sort.descending else '▲'}"


def _shorten_key(layout: Layout, available: int) -> Layout:
    """The leanest layout with its key column cut to what is left (never below `KEY_MIN`)."""
    others = layout.total_width - layout.widths[0] - CELL_PADDING
    key_width = max(KEY_MIN, available - others - CELL_PADDING)
    return Layout(layout.columns, (min(key_width, layout.widths[0]), *layout.widths[1:]), layout.compact)


SORT_KEYS: dict[str, Callable[[UsageRow], object]] = {
    "key": lambda row: row.key,
    "harness": lambda row: row.harnesses,
    "project": lambda row: row.projects,
    "last": lambda row: row.last_ts or datetime.min,
    "cost": lambda row: row.cost_usd or 0.0,
    "total": lambda row: row.total_tokens,
    "input": lambda row: row.input_tokens,
    "output": lambda row: row.output_tokens,
    "cache_write": lambda row: row.cache_write_tokens,
    "cache_read": lambda row: row.cache_read_tokens,
}


@dataclass(frozen=True, slots=True)
class Sort:
    """A table's order: by one column, descending or not."""

    column: str
    descending: bool

    def apply(self, rows: Sequence[UsageRow]) -> list[UsageRow]:
        return sorted(rows, key=SORT_KEYS[self.column], reverse=self.descending)  # type: ignore[arg-type]

    def toggled(self, column: str) -> Sort:
        """The order after a click on `column`: the other direction, or that column, biggest first
        (names and dates from the start)."""
        if column == self.column:
            return Sort(column, not self.descending)
        return Sort(column, column not in ("key", "harness", "project"))


DEFAULT_SORT = {
    "daily": Sort("key", True),
    "weekly": Sort("key", True),
    "monthly": Sort("key", True),
    "session": Sort("last", True),
}
"""Newest first for calendar views and sessions; the others by cost, biggest first."""


def default_sort(view: str) -> Sort:
    return DEFAULT_SORT.get(view, Sort("cost", True))
