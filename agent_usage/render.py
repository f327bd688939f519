"""Rich tables and JSON documents from query rows; no I/O beyond the console passed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.table import Table

from agent_usage.queries import Filters, UsageRow

SCHEMA_VERSION = 1


def money(cost: float | None, unpriced_models: Sequence[str] = ()) -> str:
    """`$12.40`, `$12.40 + 2 unpriced models`, or `unpriced`: never a silent $0."""
    if cost is None:
        return "unpriced" if unpriced_models else "-"
    text = f"${cost:,.2f}"
    if unpriced_models:
        count = len(unpriced_models)
        text += f" + {count} unpriced model{'s' if count > 1 else ''}"
    return text


def tokens(value: int, compact: bool = False) -> str:
    """A token count: `1,234,567`, or `1.2M` in a compact layout for narrow terminals."""
    if not compact or value < 10_000:
        return f"{value:,}"
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)


def usage_table(
    rows: Sequence[UsageRow], total: UsageRow, title: str, key_label: str, width: int = 120
) -> Table:
    """A table of usage rows with token columns, cost and a totals row; compact below 110 columns."""
    compact = width < 110
    table = Table(title=title, show_footer=True, header_style="bold", footer_style="bold")
    table.add_column(key_label, footer="Total")
    for label, attr in (
        ("Input", "input_tokens"),
        ("Output", "output_tokens"),
        ("Cache write", "cache_write_tokens"),
        ("Cache read", "cache_read_tokens"),
        ("Total tokens", "total_tokens"),
    ):
        table.add_column(label, justify="right", footer=tokens(getattr(total, attr), compact))
    table.add_column("Cost (USD)", justify="right", footer=money(total.cost_usd, total.unpriced_models))
    for row in rows:
        table.add_row(
            row.key,
            tokens(row.input_tokens, compact),
            tokens(row.output_tokens, compact),
            tokens(row.cache_write_tokens, compact),
            tokens(row.cache_read_tokens, compact),
            tokens(row.total_tokens, compact),
            money(row.cost_usd, row.unpriced_models),
        )
    return table


def _row_json(row: UsageRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "events": row.events,
        "sessions": row.sessions,
        "input_tokens": row.input_tokens,
        "output_tokens": row.output_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "reasoning_tokens": row.reasoning_tokens,
        "total_tokens": row.total_tokens,
        "cost_usd": row.cost_usd,
        "unpriced_events": row.unpriced_events,
        "unpriced_models": row.unpriced_models,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def report_document(view: str, filters: Filters, rows: Sequence[UsageRow], total: UsageRow) -> dict[str, Any]:
    """The versioned `report --json` document (see docs/json-output.md)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "view": view,
        "filters": {
            "since": _iso(filters.since),
            "until": _iso(filters.until),
            "harness": list(filters.harnesses),
            "project": list(filters.projects),
            "model": list(filters.models),
            "tz": filters.tz,
            "mode": filters.mode,
        },
        "rows": [_row_json(row) for row in rows],
        "totals": _row_json(total),
    }
