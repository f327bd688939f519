"""Rich renderables for every report view; the layout adapts to the terminal width.

At 110 columns and more, every token column with full counts, and on calendar views a Models
column once it is wide enough for the longest name; below, the compact layout: counts like
`1.2M`, no cache columns (they stay in the total), short labels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from rich import box
from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agent_usage.blocks import Block
from agent_usage.budgets import BudgetStatus
from agent_usage.periods import current_period_key
from agent_usage.queries import UsageRow
from agent_usage.render.cells import (
    budget_bar,
    budget_spend,
    header_text,
    session_header,
    turn_cells,
    usage_cells,
)
from agent_usage.render.format import count, duration, local_time, money, tokens
from agent_usage.reports import Report

COMPACT_BELOW = 110
SHORT_ID = 8
TOKEN_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("Input", "input_tokens", True),
    ("Output", "output_tokens", True),
    ("Cache write", "cache_write_tokens", False),
    ("Cache read", "cache_read_tokens", False),
    ("Total tokens", "total_tokens", True),
)
VIEW_LABELS = {
    "daily": "Date",
    "weekly": "Week of",
    "monthly": "Month",
    "hourly": "Hour",
    "session": "Session",
    "project": "Project",
    "model": "Model",
    "harness": "Harness",
}


def render_report(report: Report, width: int, show_cost: bool = True) -> RenderableType:
    """The renderable for any report (`show_cost` False: grouped views without the cost)."""
    if report.view == "blocks":
        return blocks_table(report, width)
    if report.session is not None:
        return session_detail(report, width)
    return usage_table(report, width, show_cost)


def _token_columns(width: int) -> list[tuple[str, str]]:
    if width < COMPACT_BELOW:
        return [
            ("Tokens" if attr == "total_tokens" else label, attr)
            for label, attr, essential in TOKEN_COLUMNS
            if essential
        ]
    return [(label, attr) for label, attr, _ in TOKEN_COLUMNS]


def short_ids(ids: list[str], length: int = SHORT_ID) -> dict[str, str]:
    """The shortest prefix (at least `length`) that tells each id apart, like git's short hashes."""
    while length < max((len(i) for i in ids), default=0):
        prefixes = [i[:length] for i in ids]
        if len(set(prefixes)) == len(prefixes):
            break
        length += 4
    return {i: i[:length] for i in ids}


def _table(title: str, width: int) -> Table:
    """A table with a totals footer; the compact layout drops the vertical rules to save width."""
    return Table(
        title=title,
        show_footer=True,
        header_style="bold",
        footer_style="bold",
        title_style="bold",
        box=box.SIMPLE_HEAD if width < COMPACT_BELOW else box.HEAVY_HEAD,
        pad_edge=width >= COMPACT_BELOW,
        collapse_padding=width < COMPACT_BELOW,
    )


def _cost_column(table: Table, total: UsageRow, compact: bool) -> None:
    footer = money(total.cost_usd, total.unpriced_models, compact)
    table.add_column("Cost (USD)", justify="right", no_wrap=True, footer=footer)


def _room_for_models(report: Report, columns: list[tuple[str, str]], width: int) -> bool:
    """Whether a Models column beside the other columns of the full layout is at least as
    wide as the longest model name and its comma, so Rich wraps lists between names and never
    folds a name in the middle (`claude-sonnet-4-` / `6`)."""
    rows = [report.totals, *report.rows]
    fixed = [
        [VIEW_LABELS[report.view], "Total", *(row.key for row in report.rows)],
        *([label, *(tokens(getattr(row, attr)) for row in rows)] for label, attr in columns),
        ["Cost (USD)", *(money(row.cost_usd, row.unpriced_models) for row in rows)],
    ]
    # the full layout draws a rule before every column and after the last, and pads each by 1 + 1
    used = 1 + sum(max(cell_len(cell) for cell in column) + 3 for column in fixed)
    longest = max((len(model) + 1 for row in report.rows for model in row.models), default=0)
    return width - used - 3 >= longest


def usage_table(report: Report, width: int, show_cost: bool = True) -> Table:
    """Grouped usage with token columns, cost, a totals row and optional per-model sub-rows;
    the compact layout whenever the full one would not fit whole (Rich would cut numbers)."""
    table = _usage_table(report, width, show_cost, compact=width < COMPACT_BELOW)
    if width >= COMPACT_BELOW and natural_width(table) > width:
        return _usage_table(report, width, show_cost, compact=True)
    return table


def natural_width(table: Table) -> int:
    """The fewest columns a table needs with no cell cut: each column as wide as its widest
    cell, header or footer (a folding column such as Models as its longest name), plus its
    padding and the rules between columns."""
    total = len(table.columns) + 1
    for column in table.columns:
        texts = [column.header, column.footer, *column.cells]
        plain = [text.plain if isinstance(text, Text) else str(text) for text in texts]
        if column.overflow == "fold":
            widest = max((cell_len(word) for cell in plain for word in cell.split()), default=0)
        else:
            widest = max((cell_len(line) for cell in plain for line in cell.splitlines()), default=0)
        total += max(widest, column.min_width or 0) + 2
    return total


def _usage_table(report: Report, width: int, show_cost: bool, compact: bool) -> Table:
    is_session = report.view == "session"
    total = report.totals
    width = min(width, COMPACT_BELOW - 1) if compact else width
    table = _table(f"agent-usage: {report.view} ({report.filters.tz.key})", width)
    table.add_column(VIEW_LABELS[report.view], footer="Total", no_wrap=True)
    extra: list[tuple[str, Callable[[UsageRow], str]]] = []
    if is_session:
        extra = [
            ("Harness", lambda r: ", ".join(r.harnesses)),
            (
                "Last" if compact else "Last activity",
                lambda r: local_time(r.last_ts, report.filters.tz, "%m-%d %H:%M"),
            ),
        ]
        if not compact:
            extra.insert(1, ("Project", lambda r: ", ".join(r.projects)))
    columns = _token_columns(width)
    calendar = report.view in ("daily", "weekly", "monthly") and report.breakdown is None
    if calendar and not compact and _room_for_models(report, columns, width):
        extra = [("Models", lambda r: ", ".join(r.models))]
    for label, _ in extra:
        models = label == "Models"
        table.add_column(label, overflow="fold" if models else "ellipsis", no_wrap=not models)
    for label, attr in columns:
        table.add_column(label, justify="right", no_wrap=True, footer=tokens(getattr(total, attr), compact))
    if show_cost:
        _cost_column(table, total, compact)

    attrs = [attr for _, attr in columns]

    def cells(row: UsageRow, key: str) -> list[str]:
        figures = usage_cells(row, attrs, compact)
        return [key, *(render(row) for _, render in extra), *(figures if show_cost else figures[:-1])]

    names = short_ids([row.key for row in report.rows]) if is_session else {}
    current = current_period_key(report.view, report.now, report.filters.tz, report.filters.week_start)
    for row in report.rows:
        key = names.get(row.key, row.key)
        table.add_row(*cells(row, f"{key} so far" if row.key == current else key))
        for sub in (report.breakdown or {}).get(row.key, []):
            sub_cells = cells(sub, f"  └ {sub.model}")
            table.add_row(*sub_cells, style="dim")
    return table


def session_detail(report: Report, width: int) -> RenderableType:
    """One session: where it ran, then each turn with time, model, tokens and cost (compact
    whenever the full table would not fit whole)."""
    detail = _session_detail(report, width, compact=width < COMPACT_BELOW)
    table = detail.renderables[-1]
    if width >= COMPACT_BELOW and isinstance(table, Table) and natural_width(table) > width:
        return _session_detail(report, width, compact=True)
    return detail


def _session_detail(report: Report, width: int, compact: bool) -> Group:
    info = report.session
    assert info is not None
    width = min(width, COMPACT_BELOW - 1) if compact else width
    tz = report.filters.tz
    header = header_text(session_header(info))
    total = report.totals
    table = _table(f"turns ({tz})", width)
    table.add_column("Time", footer="Total", no_wrap=True)
    table.add_column("Model", footer=count(len(report.turns), "turn"), no_wrap=True)
    columns = _token_columns(width)
    for label, attr in columns:
        table.add_column(label, justify="right", no_wrap=True, footer=tokens(getattr(total, attr), compact))
    _cost_column(table, total, compact)
    for turn in report.turns:
        table.add_row(
            local_time(turn.ts, tz, "%m-%d %H:%M:%S" if compact else "%Y-%m-%d %H:%M:%S"),
            turn.model + (f" ({turn.agent_id})" if turn.agent_id and not compact else ""),
            *turn_cells(turn, [attr for _, attr in columns], compact),
        )
    return Group(header, table)


def blocks_table(report: Report, width: int) -> RenderableType:
    """5-hour blocks with status, tokens and cost (per model with --breakdown), the share of a
    token limit, and the running block's burn rate; with --active, the running block alone."""
    active = next((b for b in report.blocks if b.is_active), None)
    if report.block_options is not None and report.block_options.active_only:
        return active_block_panel(report, active)
    compact = width < COMPACT_BELOW
    tz = report.filters.tz
    table = _table(f"agent-usage: 5-hour blocks ({tz}, {', '.join(report.filters.harnesses)})", width)
    table.add_column("Block start", footer="Total", no_wrap=True)
    table.add_column("Status")
    table.add_column("Last event", no_wrap=True)
    if not compact:
        table.add_column("Models", overflow="fold")
    table.add_column("Tokens", justify="right", footer=tokens(report.totals.total_tokens, compact))
    if report.token_limit:
        table.add_column("Of limit", justify="right")
    _cost_column(table, report.totals, compact)
    blank = [""] * (4 if not compact else 3)
    for block in report.blocks:
        if block.is_gap:
            gap = duration((block.end - block.start).total_seconds() / 60)
            cells: list[Any] = [local_time(block.start, tz), f"gap {gap}", "-"]
            if not compact:
                cells.append("")
            table.add_row(*cells, *[""] * (3 if report.token_limit else 2), style="dim")
            continue
        status = "ACTIVE" if block.is_active else "ended"
        cells = [local_time(block.start, tz), status, local_time(block.last_ts, tz, "%H:%M")]
        if not compact:
            cells.append(", ".join(block.models))
        cells.append(tokens(block.total_tokens, compact))
        if report.token_limit:
            cells.append(_share(block.total_tokens, report.token_limit))
        cells.append(money(block.cost_usd, block.unpriced_models, compact))
        table.add_row(*cells, style="bold green" if block.is_active else None)
        if report.breakdown is not None:
            for model, share in block.per_model.items():
                limit_cell = [""] if report.token_limit else []
                table.add_row(
                    *blank[:-1], f"  {model}", tokens(share.total_tokens, compact), *limit_cell,
                    money(share.cost_usd, [model] if share.cost_usd is None else [], compact), style="dim",
                )  # fmt: skip
    parts: list[RenderableType] = [table]
    if report.burn is not None and active is not None:
        parts.append(Text.assemble(("Active block", "bold"), " ", _burn_sentence(report, active)))
    elif active is None:
        parts.append(Text("No active block.", style="dim"))
    return Group(*parts)


def _share(used: int, limit: int) -> Text:
    """`45%` of a token limit, red from 100%."""
    share = used / limit
    return Text(f"{share:.0%}", style="bold red" if share >= 1 else "")


def _burn_sentence(report: Report, active: Block) -> str:
    burn = report.burn
    assert burn is not None
    tz = report.filters.tz
    cost_rate = f", ${burn.cost_per_hour:,.2f}/h" if burn.cost_per_hour is not None else ""
    projected_cost = f", {money(burn.projected_cost_usd)}" if burn.projected_cost_usd is not None else ""
    return (
        f"ends {local_time(active.end, tz, '%H:%M')} (in {duration(burn.remaining_minutes)}): "
        f"burn rate {burn.tokens_per_minute:,.0f} tokens/min{cost_rate}; "
        f"projected {burn.projected_tokens:,} tokens{projected_cost} by the end of the block."
    )


def active_block_panel(report: Report, active: Block | None) -> RenderableType:
    """The running block as a panel: spent, time left, burn rate, projection, token limit."""
    if active is None:
        return Text("No active block.", style="dim")
    tz = report.filters.tz
    burn = report.burn
    left = (active.end - report.now).total_seconds() / 60
    lines: list[tuple[str, Text | str]] = [
        ("Started", local_time(active.start, tz)),
        ("Ends", f"{local_time(active.end, tz, '%H:%M')}, in {duration(max(left, 0))}"),
        (
            "Spent",
            f"{money(active.cost_usd, active.unpriced_models)}, {active.total_tokens:,} tokens,"
            f" {active.events:,} request{'s' if active.events != 1 else ''}",
        ),
    ]
    if burn is not None:
        rate = f", {money(burn.cost_per_hour)}/h" if burn.cost_per_hour is not None else ""
        lines.append(("Burn rate", f"{burn.tokens_per_minute:,.0f} tokens/min{rate}"))
        cost = f", {money(burn.projected_cost_usd)}" if burn.projected_cost_usd is not None else ""
        lines.append(("Projected", f"{burn.projected_tokens:,} tokens{cost} by the block's end"))
    if report.token_limit:
        limit = report.token_limit
        remaining = max(limit - active.total_tokens, 0)
        lines.append(
            ("Limit", Text.assemble(f"{limit:,} tokens, ", _share(active.total_tokens, limit), " used"))
        )
        lines.append(("Remaining", f"{remaining:,} tokens"))
        if burn is not None:
            lines.append(("Projected use", _share(burn.projected_tokens, limit)))
    lines.append(("Models", ", ".join(active.models)))
    body = Table.grid(padding=(0, 2))
    body.add_column(style="bold", justify="right")
    body.add_column()
    for label, value in lines:
        body.add_row(label, value)
    hours = (active.end - active.start).total_seconds() / 3600
    return Panel(body, title=f"Active {hours:g}-hour block", title_align="left", expand=False)


STATUS_STYLES = {"ok": "green", "warning": "yellow", "exceeded": "bold red"}


def budgets_table(statuses: list[BudgetStatus], tz: ZoneInfo, width: int) -> Table:
    """Each budget: spend against its limit in the current period, a bar and its status."""
    compact = width < COMPACT_BELOW
    table = _table("Budgets", width)
    table.show_footer = False
    for header in ("Budget", "Spend", "Limit", "Used", "" if compact else "Bar", "Status", "Resets"):
        if header == "" and compact:
            continue
        table.add_column(header, justify="right" if header in ("Spend", "Limit", "Used") else "left")
    for status in statuses:
        cells: list[RenderableType] = [
            status.budget.name,
            budget_spend(status),
            money(status.budget.limit_usd),
            f"{status.share:.0%}",
        ]
        if not compact:
            cells.append(Text(budget_bar(status.share, 12), style=STATUS_STYLES[status.status]))
        cells += [Text(status.status, style=STATUS_STYLES[status.status]), local_time(status.until, tz)]
        table.add_row(*cells)
    return table
