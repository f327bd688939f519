"""Small display widgets: stat cards, a daily spend bar chart and ranked share lists."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from agent_usage.budgets import BudgetStatus
from agent_usage.queries import UsageRow
from agent_usage.render.cells import budget_bar, budget_spend
from agent_usage.render.format import money, tokens

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


def spend_chart(rows: Sequence[UsageRow], width: int, height: int = 6) -> Text:
    """A column chart of cost per day (the last days that fit the width), with the peak labelled."""
    if not rows:
        return Text("no usage in this range", style="dim")
    shown = list(rows)[-max(width // 2, 1) :]
    values = [row.cost_usd or 0.0 for row in shown]
    peak = max(values) or 1.0
    lines: list[Text] = []
    for level in range(height, 0, -1):
        line = Text()
        for value in values:
            filled = value / peak * height - (level - 1)
            index = max(0, min(8, round(filled * 8)))
            line.append(EIGHTHS[index] + " ", style="green")
        lines.append(line)
    first, last = shown[0].key, shown[-1].key
    footer = Text(f"{first} … {last}   peak {money(max(values))}/day", style="dim")
    return Text("\n").join([*lines, footer])


def share_table(title: str, rows: Sequence[UsageRow], limit: int = 6) -> Table:
    """Top rows by cost with a proportional bar."""
    table = Table(title=title, title_justify="left", box=None, padding=(0, 1), show_header=False)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("bar", no_wrap=True, width=6)
    table.add_column("cost", justify="right", no_wrap=True)
    total = sum(row.cost_usd or 0.0 for row in rows) or 1.0
    for row in rows[:limit]:
        share = (row.cost_usd or 0.0) / total
        table.add_row(
            Text(row.key),
            Text(BAR * max(1, round(share * 6)) if share else "", style="cyan"),
            money(row.cost_usd, row.unpriced_models, compact=True),
        )
    if len(rows) > limit:
        table.add_row(f"+{len(rows) - limit} more", "", "", style="dim")
    if not rows:
        table.add_row(Text("none", style="dim"), "", "")
    return table


def token_summary(row: UsageRow) -> str:
    return f"{tokens(row.total_tokens, compact=True)} tokens"


def budget_line(status: BudgetStatus, cells: int = 20) -> Text:
    """`monthly  ██████████░░  $8.10 of $10.00  81%  warning`: the bar's colour comes from CSS."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{status.budget.name:<28.28} ")
    text.append(budget_bar(status.share, cells), style="bold")
    text.append(
        f"  {budget_spend(status)} of {money(status.budget.limit_usd)}  {status.share:.0%}  {status.status}"
    )
    return text
