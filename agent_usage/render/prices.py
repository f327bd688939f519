"""`agent-usage prices show`: which rates price a model, and where they come from."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from agent_usage.price_data import Downloaded
from agent_usage.pricing import END_OF_TIME, RATE_KEYS, PriceRow

RATE_LABELS = dict(
    zip(RATE_KEYS, ("Input", "Output", "Cache read", "Cache write 5m", "Cache write 1h"), strict=True)
)


def source_text(row: PriceRow, bundled_version: str, downloaded: Downloaded | None) -> str:
    """Where a model's rates come from, in a user's words."""
    if row.source == "override":
        return f"prices.toml, entry {row.matched_model!r}"
    if row.source == "genai-prices":
        origin = (
            f"downloaded {downloaded.fetched_at} from {downloaded.url}"
            if downloaded is not None
            else f"bundled with genai-prices {bundled_version}"
        )
        return f"genai-prices ({row.matched_model}), {origin}"
    return "no price known: its usage shows as unpriced (add rates in prices.toml)"


def price_table(model: str, provider: str | None, rows: list[PriceRow], source: str) -> RenderableType:
    """The standard rates of each validity range, USD per million tokens."""
    standard = [row for row in rows if row.variant == "standard"]
    header = Text.assemble(("Model ", "bold"), model, ("  provider ", "bold"), provider or "any")
    header.append(f"\n{source}", style="dim")
    if not standard or all(rate is None for rate in standard[0].rates):
        return Group(header)
    table = Table(title="USD per million tokens", title_justify="left", box=None, header_style="bold")
    table.add_column("From")
    table.add_column("Until")
    for label in RATE_LABELS.values():
        table.add_column(label, justify="right")
    for row in standard:
        table.add_row(
            row.valid_from.date().isoformat() if row.valid_from.year > 1970 else "-",
            row.valid_to.date().isoformat() if row.valid_to < END_OF_TIME else "-",
            *(_rate(rate) for rate in row.rates),
        )
        if row.tier_start:
            table.add_row(
                f"  above {row.tier_start:,} input tokens", "", *(_rate(rate) for rate in row.tier_rates)
            )
    others = sorted({row.variant for row in rows} - {"standard"})
    note = Text(f"Variants priced too: {', '.join(others)} (fast mode, service tiers, batch).", style="dim")
    return Group(header, table, note)


def _rate(rate: float | None) -> str:
    return "-" if rate is None else f"${rate:,.4g}"
