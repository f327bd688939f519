"""Small display widgets: stat cards, a daily spend chart, ranked share lists, budget lines,
the Blocks tab's rows and the first-run message."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from agent_usage.blocks import Block
from agent_usage.budgets import BudgetStatus
from agent_usage.queries import UsageRow
from agent_usage.render.cells import budget_bar, budget_spend
from agent_usage.render.format import duration, local_time, money, tokens

BAR = "█"
EIGHTHS = " ▁▂▃▄▅▆▇█"


class Card(Static):
    """A label and a big number."""

    DEFAULT_CSS = """
    Card { width: 1fr; height: 4; border: round $primary-darken-1; padding: 0 1; }
    """

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id)
        self.border_title = label

    def show(self, value: str, detail: str = "") -> None:
        text = Text(value, style="bold")
        if detail:
            text.append(f"\n{detail}", style="dim")
        self.update(text)


def spend_chart(rows: Sequence[UsageRow], width: int, today: str | None = None, height: int = 6) -> Text:
    """A column chart of cost per day with a value axis. Days without use are zero bars, so a
    quiet week shows as a gap; the chart runs to `today` (`YYYY-MM-DD`) and shows the last
    days that fit the width."""
    if not rows:
        return Text("no usage in this range", style="dim")
    by_day = {row.key: row.cost_usd or 0.0 for row in rows}
    first = date.fromisoformat(rows[0].key)
    last = max(date.fromisoformat(rows[-1].key), date.fromisoformat(today) if today else first)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    peak = max(by_day.values()) or 1.0
    labels = {height: money(peak), (height + 1) // 2: money(peak / 2), 1: "$0"}
    label_width = max(len(label) for label in labels.values())
    shown = days[-max((width - label_width - 2) // 2, 1) :]
    values = [by_day.get(day.isoformat(), 0.0) for day in shown]
    lines: list[Text] = []
    for level in range(height, 0, -1):
        line = Text(f"{labels.get(level, ''):>{label_width}} ┤", style="dim")
        for value in values:
            filled = value / peak * height - (level - 1)
            index = max(0, min(8, round(filled * 8)))
            line.append(EIGHTHS[index] + " ", style="green")
        lines.append(line)
    quiet = sum(1 for value in values if not value)
    footer = Text(
        f"{' ' * label_width}  {shown[0].isoformat()} … {shown[-1].isoformat()}"
        f"   {len(shown)} days, {quiet} without use   peak {money(peak)}/day",
        style="dim",
    )
    return Text("\n").join([*lines, footer])


def share_table(title: str, rows: Sequence[UsageRow], width: int = 40, limit: int = 6) -> Table:
    """Top rows by cost with a proportional bar, in `width` columns. A row with unpriced usage
    gets a `*` and a note under the list instead of a long cost cell, and the name gets what
    the bar and the cost leave, so `claude-code` is whole wherever there is room for it."""
    shown = list(rows[:limit])
    costs = [
        "unpriced"
        if row.cost_usd is None and row.unpriced_models
        else money(row.cost_usd) + ("*" if row.unpriced_models else "")
        for row in shown
    ]
    cost_width = max([len(cost) for cost in costs] or [1])
    bar_width = 6 if width >= 40 else 4
    name_width = max(width - bar_width - cost_width - 4, 6)
    table = Table(
        title=title, title_justify="left", box=None, padding=(0, 1), pad_edge=False, show_header=False
    )
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=name_width)
    table.add_column("bar", no_wrap=True, width=bar_width)
    table.add_column("cost", justify="right", no_wrap=True, min_width=cost_width)
    total = sum(row.cost_usd or 0.0 for row in rows) or 1.0
    for row, cost in zip(shown, costs, strict=True):
        share = (row.cost_usd or 0.0) / total
        table.add_row(
            Text(row.key),
            Text(BAR * max(1, round(share * bar_width)) if share else "", style="cyan"),
            cost,
        )
    if len(rows) > limit:
        table.add_row(f"+{len(rows) - limit} more", "", "", style="dim")
    if not rows:
        table.add_row(Text("none", style="dim"), "", "")
    if any(row.unpriced_models for row in shown):
        table.add_row(Text("* + unpriced", style="dim"), "", "")
    return table


def card_detail(row: UsageRow) -> str:
    """A spend card's second line: its tokens, or how many requests have no price (the spend
    above leaves them out)."""
    if row.unpriced_events:
        return f"+{row.unpriced_events} unpriced"
    return f"{tokens(row.total_tokens, compact=True)} tokens"


def budget_line(status: BudgetStatus, width: int = 100) -> Text:
    """`monthly  ██████████░░  $8.10 of $10.00  81%  warning` in `width` columns: the bar and
    the name give way first, the figures and the status word stay on the line. Its colour
    comes from CSS."""
    figures = (
        f"  {budget_spend(status)} of {money(status.budget.limit_usd)}  {status.share:.0%}  {status.status}"
    )
    name_width = min(28, max(len(status.budget.name), 7))
    cells = max(min(20, width - name_width - 1 - len(figures)), 4)
    name_width = max(min(name_width, width - cells - 1 - len(figures)), 7)
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{status.budget.name[:name_width]:<{name_width}} ")
    text.append(budget_bar(status.share, cells), style="bold")
    text.append(figures)
    return text


BLOCK_HEADERS = ("Block start", "Status", "Last event", "Tokens", "Cost", "Models")
BLOCK_FIGURES = frozenset({"Tokens", "Cost"})
"""The Blocks tab's right-aligned columns."""


def block_cells(block: Block, tz: ZoneInfo) -> list[str]:
    """One row of the Blocks tab: a block, or the gap between two."""
    if block.is_gap:
        gap = duration((block.end - block.start).total_seconds() / 60)
        return [local_time(block.start, tz), f"gap {gap}", "", "", "", ""]
    return [
        local_time(block.start, tz),
        "ACTIVE" if block.is_active else "ended",
        local_time(block.last_ts, tz, "%H:%M"),
        tokens(block.total_tokens),
        money(block.cost_usd, block.unpriced_models, compact=True),
        ", ".join(block.models),
    ]


def empty_message(searched: Sequence[str]) -> Text:
    """What a first start with no agent files says instead of a dashboard of zeros."""
    text = Text("No agent sessions found yet.\n", style="bold")
    text.append("Searched:\n", style="dim")
    for folder in searched:
        text.append(f"  {folder}\n")
    text.append("To see the dashboard on sample data: ", style="dim")
    text.append("agent-usage demo", style="bold")
    text.append("\nTo check where the agents keep their files: ", style="dim")
    text.append("agent-usage doctor", style="bold")
    return text
