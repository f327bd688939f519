"""The `--json` document and `--csv` table of a report (contract: docs/json-output.md).

Both are data only, written to stdout by the CLI. Unknown cost is `null` in JSON and an empty
cell in CSV, never 0. The JSON Schema ships beside this module as `report.schema.json`.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from agent_usage.blocks import Block
from agent_usage.budgets import BudgetStatus
from agent_usage.periods import WEEKDAYS
from agent_usage.queries import Filters, Turn, UsageRow
from agent_usage.render.format import utc_iso
from agent_usage.reports import Report

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("report.schema.json")


def usd(value: float | None) -> float | None:
    """A cost rounded to a billionth of a dollar, so sums print without float noise."""
    return round(value, 9) if value is not None else None


def _usage(row: UsageRow) -> dict[str, Any]:
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
        "cost_usd": usd(row.cost_usd),
        "unpriced_events": row.unpriced_events,
        "unpriced_models": row.unpriced_models,
        "models": row.models,
        "harnesses": row.harnesses,
        "projects": row.projects,
        "first_ts": utc_iso(row.first_ts),
        "last_ts": utc_iso(row.last_ts),
    }


def _block(block: Block, breakdown: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "start": utc_iso(block.start),
        "end": utc_iso(block.end),
        "first_ts": utc_iso(block.first_ts),
        "last_ts": utc_iso(block.last_ts),
        "is_active": block.is_active,
        "is_gap": block.is_gap,
        "events": block.events,
        "total_tokens": block.total_tokens,
        "cost_usd": usd(block.cost_usd),
        "unpriced_events": block.unpriced_events,
        "unpriced_models": block.unpriced_models,
        "models": block.models,
    }
    if breakdown:
        item["per_model"] = [
            {"model": model, "events": share.events, "total_tokens": share.total_tokens,
             "cost_usd": usd(share.cost_usd)}
            for model, share in block.per_model.items()
        ]  # fmt: skip
    return item


def _active_block(report: Report) -> dict[str, Any] | None:
    """The running block's pace and projection, and its shares of the token limit if one is set."""
    burn = report.burn
    active = next((block for block in report.blocks if block.is_active), None)
    if burn is None or active is None:
        return None
    limit = report.token_limit
    return {
        "tokens_per_minute": burn.tokens_per_minute,
        "cost_per_hour": usd(burn.cost_per_hour),
        "remaining_minutes": burn.remaining_minutes,
        "projected_tokens": burn.projected_tokens,
        "projected_cost_usd": usd(burn.projected_cost_usd),
        "used_share": active.total_tokens / limit if limit else None,
        "remaining_tokens": max(limit - active.total_tokens, 0) if limit else None,
        "projected_share": burn.projected_tokens / limit if limit else None,
    }


def _turn(turn: Turn) -> dict[str, Any]:
    return {
        "ts": utc_iso(turn.ts),
        "harness": turn.harness,
        "model": turn.model,
        "agent_id": turn.agent_id,
        "input_tokens": turn.input_tokens,
        "output_tokens": turn.output_tokens,
        "cache_write_tokens": turn.cache_write_tokens,
        "cache_read_tokens": turn.cache_read_tokens,
        "reasoning_tokens": turn.reasoning_tokens,
        "total_tokens": turn.total_tokens,
        "cost_usd": usd(turn.cost_usd),
        "source_path": turn.source_path,
    }


def filters_item(filters: Filters) -> dict[str, Any]:
    """The period and scope a document covers, as every JSON document states it."""
    return {
        "since": utc_iso(filters.since),
        "until": utc_iso(filters.until),
        "harness": list(filters.harnesses),
        "project": list(filters.projects),
        "model": list(filters.models),
        "tz": filters.tz.key,
        "mode": filters.mode,
        "start_of_week": WEEKDAYS[filters.week_start],
    }


def budget_item(status: BudgetStatus) -> dict[str, Any]:
    """One budget's status as the JSON contract describes it."""
    budget = status.budget
    return {
        "name": budget.name,
        "period": budget.period,
        "scope": budget.scope,
        "value": budget.value,
        "limit_usd": budget.limit_usd,
        "spend_usd": usd(status.spend_usd),
        "share": round(status.share, 6),
        "status": status.status,
        "since": utc_iso(status.since),
        "until": utc_iso(status.until),
        "unpriced_events": status.unpriced_events,
    }


def budgets_document(statuses: list[BudgetStatus], now: datetime) -> dict[str, Any]:
    """`agent-usage budget --json`."""
    return {
        "schema_version": SCHEMA_VERSION,
        "now": utc_iso(now),
        "budgets": [budget_item(s) for s in statuses],
    }


def report_document(report: Report, budgets: list[BudgetStatus] | None = None) -> dict[str, Any]:
    """The versioned JSON document of any report; `budgets` when the config sets any."""
    filters = report.filters
    rows = []
    for row in report.rows:
        item = _usage(row)
        if report.breakdown is not None:
            item["breakdown"] = [
                _usage(sub) | {"key": sub.model} for sub in report.breakdown.get(row.key, [])
            ]
        rows.append(item)
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "view": report.view,
        "filters": filters_item(filters)
        | {"breakdown": report.breakdown is not None, "breakdown_by": report.breakdown_by},
        "rows": rows,
        "totals": _usage(report.totals),
    }
    if report.view == "blocks":
        document["now"] = utc_iso(report.now)
        document["blocks"] = [_block(block, report.breakdown is not None) for block in report.blocks]
        document["token_limit"] = report.token_limit
        document["active_block"] = _active_block(report)
    if report.session is not None:
        info = report.session
        document["session"] = {
            "id": info.session_id,
            "harness": info.harness,
            "project": info.project,
            "cwd": info.cwd,
            "git_branch": info.git_branch,
            "parent_session_id": info.parent_session_id,
            "source_paths": info.source_paths,
        }
        document["turns"] = [_turn(turn) for turn in report.turns]
    if budgets:
        document["budgets"] = [budget_item(status) for status in budgets]
    document["coverage"] = {
        "unread_files": report.unread_files,
        "complete_from": utc_iso(report.complete_from),
    }
    return document


def _cell(value: Any) -> Any:
    """A CSV cell: nothing for null, `true`/`false` as in the JSON, lists joined with `;`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def _empty_header(report: Report) -> list[str]:
    """Column names when there is no record to take them from."""
    if report.view == "blocks":
        return list(_block(Block(start=report.now, end=report.now)))
    if report.session is not None:
        return list(_turn(Turn(report.now, "", "", 0, 0, 0, 0, 0, None, None, "")))
    usage = list(_usage(report.totals))
    return ["key", report.breakdown_by or "model", *usage[1:]] if report.breakdown is not None else usage


def report_csv(report: Report) -> str:
    """One CSV table: group rows (per model with --breakdown), blocks, or a session's turns."""
    document = report_document(report)
    if report.view == "blocks":
        records = document["blocks"]
    elif report.session is not None:
        records = document["turns"]
    elif report.breakdown is not None:
        records = [
            {
                "key": row["key"],
                report.breakdown_by or "model": sub["key"],
                **{k: v for k, v in sub.items() if k != "key"},
            }
            for row in document["rows"]
            for sub in row["breakdown"]
        ]
    else:
        records = document["rows"]
    out = io.StringIO()
    fields = list(records[0]) if records else _empty_header(report)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _cell(record.get(key)) for key in fields})
    return out.getvalue()
