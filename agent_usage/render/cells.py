"""Cell text shared by the Rich tables and the TUI, so a row, a session and a budget read
the same in a terminal report and in the dashboard."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from agent_usage.budgets import BudgetStatus
from agent_usage.queries import SessionInfo, Turn, UsageRow
from agent_usage.render.format import money, tokens

TOKEN_ATTRS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens", "total_tokens")
"""Every token figure a usage row has, in the order the tables show them."""
BAR_FULL, BAR_EMPTY = "█", "░"


def usage_cells(
    row: UsageRow, attrs: Sequence[str] = TOKEN_ATTRS, compact: bool = False, short_cost: bool = False
) -> list[str]:
    """The token figures named by `attrs`, then the cost (with `+ unpriced` when a model has no
    rate; in its short form when `compact` or `short_cost`)."""
    cost = money(row.cost_usd, row.unpriced_models, compact or short_cost)
    return [*(tokens(getattr(row, attr), compact) for attr in attrs), cost]


def turn_cells(turn: Turn, attrs: Sequence[str] = TOKEN_ATTRS, compact: bool = False) -> list[str]:
    """The token figures of one turn, then its cost (`unpriced` when its model has no rate)."""
    unpriced = [turn.model] if turn.cost_usd is None else []
    return [
        *(tokens(getattr(turn, attr), compact) for attr in attrs),
        money(turn.cost_usd, unpriced, compact),
    ]


def session_header(info: SessionInfo) -> list[tuple[str, str]]:
    """(label, value) lines that say where a session ran and which files hold its usage."""
    lines = [
        ("Session", info.session_id),
        ("Harness", info.harness),
        ("Project", info.project or "-"),
        ("Folder", info.cwd or "-"),
        ("Branch", info.git_branch or "-"),
    ]
    if info.parent_session_id:
        lines.append(("Parent", info.parent_session_id))
    lines.extend(("File", path) for path in info.source_paths)
    return lines


def header_text(lines: list[tuple[str, str]], label_width: int = 0) -> Text:
    """`lines` as `Label: value` rows, labels in bold and right-aligned to `label_width`."""
    text = Text()
    for label, value in lines:
        text.append(f"{label:>{label_width}}: ", style="bold")
        text.append(f"{value}\n")
    return text


def budget_spend(status: BudgetStatus) -> str:
    """What a budget has spent this period, with the events that have no price yet."""
    spend = money(status.spend_usd)
    if status.unpriced_events:
        spend += f" + {status.unpriced_events} unpriced"
    return spend


def budget_bar(share: float, cells: int) -> str:
    """A bar of `cells` characters filled to the share used, capped at full."""
    filled = min(round(share * cells), cells)
    return BAR_FULL * filled + BAR_EMPTY * (cells - filled)
