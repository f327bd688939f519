"""`agent-usage insights` as Rich tables and as its JSON document (docs/json-output.md)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from agent_usage.insights import Adoption, Concentration
from agent_usage.queries import Filters
from agent_usage.render.document import SCHEMA_VERSION, filters_item, usd
from agent_usage.render.format import money


def insights_document(filters: Filters, adoption: Adoption, concentration: Concentration) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "view": "insights",
        "filters": filters_item(filters),
        "adoption": {
            "active_days": adoption.active_days,
            "first_day": adoption.first_day.isoformat() if adoption.first_day else None,
            "last_day": adoption.last_day.isoformat() if adoption.last_day else None,
            "current_streak_days": adoption.current_streak,
            "longest_streak_days": adoption.longest_streak,
            "active_weeks": adoption.active_weeks,
            "weeks_in_span": adoption.weeks_in_span,
            "sessions": adoption.sessions,
            "sessions_per_active_day": round(adoption.sessions_per_active_day, 6),
            "harnesses": adoption.harnesses,
            "models": adoption.models,
            "harness_share_by_month": [
                {
                    "month": s.month,
                    "harness": s.harness,
                    "cost_usd": usd(s.cost_usd),
                    "cost_share": round(s.cost_share, 6),
                    "requests": s.requests,
                    "request_share": round(s.request_share, 6),
                }
                for s in adoption.harness_share_by_month
            ],
        },
        "concentration": {
            "providers": [
                {
                    "provider": p.provider,
                    "cost_usd": usd(p.cost_usd),
                    "share": round(p.share, 6),
                    "requests": p.requests,
                }
                for p in concentration.providers
            ],
            "hhi": concentration.hhi,
            "warn_share": concentration.warn_share,
            "warning": concentration.warning,
            "unpriced_requests": concentration.unpriced_requests,
        },
    }


def _pairs(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def render_insights(adoption: Adoption, concentration: Concentration) -> RenderableType:
    """Habits, harness share per month and provider concentration."""
    if not adoption.active_days:
        return Text("No usage in this period.", style="dim")
    habits = _pairs(
        "Adoption and habits",
        [
            ("Active days", f"{adoption.active_days:,} ({adoption.first_day} to {adoption.last_day})"),
            ("Current streak", f"{adoption.current_streak} days"),
            ("Longest streak", f"{adoption.longest_streak} days"),
            ("Weekly-active weeks", f"{adoption.active_weeks} of {adoption.weeks_in_span}"),
            ("Sessions per active day", f"{adoption.sessions_per_active_day:.1f}"),
            ("Harnesses used", f"{len(adoption.harnesses)}: {', '.join(adoption.harnesses)}"),
            ("Models used", f"{len(adoption.models)}"),
        ],
    )
    share = Table(title="Harness share per month", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("Month", "Harness", "Spend", "Share of spend", "Requests", "Share of requests"):
        share.add_column(column, justify="left" if column in ("Month", "Harness") else "right")
    for s in adoption.harness_share_by_month:
        share.add_row(
            s.month,
            s.harness,
            money(s.cost_usd),
            f"{s.cost_share:.0%}",
            f"{s.requests:,}",
            f"{s.request_share:.0%}",
        )
    providers = Table(
        title="Provider concentration",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("Provider", "Spend", "Share", "Requests"):
        providers.add_column(column, justify="left" if column == "Provider" else "right")
    for p in concentration.providers:
        style = "bold yellow" if concentration.warning and p is concentration.top else ""
        providers.add_row(p.provider, money(p.cost_usd), f"{p.share:.0%}", f"{p.requests:,}", style=style)
    # a line of its own, not a caption: a caption wraps at the width of this narrow table
    hhi = Text(
        f"  HHI {concentration.hhi:,.0f} of 10,000 (warning when one provider holds"
        f" {concentration.warn_share:.0%} or more)",
        style="dim",
    )
    return Group(habits, share, providers, hhi)
