"""Terminal tables at every width: a model name is never folded in the middle."""

from __future__ import annotations

import io
from datetime import datetime

from rich.console import Console

from agent_usage.periods import UTC_ZONE
from agent_usage.queries import Filters, SessionInfo, UsageRow
from agent_usage.render.cells import usage_cells
from agent_usage.render.tables import render_report
from agent_usage.reports import Report

MODELS = [
    "anthropic.claude-sonnet-4-5-20250929-v1:0",  # a Bedrock id: 41 characters
    "claude-opus-4-7",
    "gemini-3-flash-preview",
    "gpt-5.1-codex-mini",
]


def _daily() -> Report:
    rows = [
        UsageRow(
            f"2026-11-{day:02d}",
            events=40,
            input_tokens=196_151 * day,
            output_tokens=47_360,
            cache_read_tokens=12_543_986_514,
            cache_write_tokens=40_620,
            cost_usd=1234.5 * day,
            models=MODELS[: 1 + day % len(MODELS)] if day % 2 else MODELS[1:],
        )
        for day in range(1, 8)
    ]
    total = UsageRow("total", events=280, input_tokens=sum(r.input_tokens for r in rows), cost_usd=43207.5)
    total.models = MODELS
    return Report("daily", Filters(tz=UTC_ZONE), datetime(2026, 11, 8), total, rows)


def _render(report: Report, width: int) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(render_report(report, width))
    return console.export_text()


def test_model_names_are_never_folded_at_any_width() -> None:
    report = _daily()
    shown_from = None
    for width in range(100, 221):
        text = _render(report, width)
        assert all(len(line) <= width for line in text.splitlines()), width
        if "Models" not in text:
            assert shown_from is None, f"the Models column came and went again at {width}"
            continue
        shown_from = shown_from or width
        cells = [line.split("│")[2].strip() for line in text.splitlines() if line.startswith("│")]
        listed = [name.strip() for cell in cells for name in cell.split(",") if name.strip()]
        assert set(listed) <= set(MODELS), (width, set(listed) - set(MODELS))
    assert shown_from is not None and shown_from <= 180  # wide terminals do get the column


def _session(parent: str | None) -> Report:
    info = SessionInfo("child-1", "pi", "api", "/w/api", "main", parent, ["/h/a.jsonl", "/h/b.jsonl"])
    return Report("session", Filters(tz=UTC_ZONE), datetime(2026, 11, 8), UsageRow("total"), session=info)


def _text(renderable: object, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_session_header_names_the_parent_only_when_there_is_one() -> None:
    forked = _text(render_report(_session("root-9"), 120))
    assert "Parent: root-9" in forked
    assert forked.count("File: /h/") == 2
    assert "Parent" not in _text(render_report(_session(None), 120))


def test_tui_and_tables_share_one_cell_text_for_a_row() -> None:
    row = UsageRow("d", input_tokens=1_234_567, output_tokens=20, cost_usd=3.5, unpriced_models=["x", "y"])
    assert usage_cells(row, ("input_tokens",)) == ["1,234,567", "$3.50 + 2 unpriced models"]
    assert usage_cells(row, ("input_tokens",), compact=True) == ["1.2M", "$3.50 +2 unpriced"]
    assert usage_cells(row, ("input_tokens",), short_cost=True) == ["1,234,567", "$3.50 +2 unpriced"]
