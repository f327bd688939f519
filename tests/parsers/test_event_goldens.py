"""Every fixture's stored events, field by field, against a reviewed golden file.

The totals in expected.json say how much; these say which events: the key, time, session,
model, each token column, the reported cost, the source file and offset of every stored
row. After a deliberate parser change, regenerate them with
`AGENT_USAGE_UPDATE_GOLDENS=1 pytest tests/parsers/test_event_goldens.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from agent_usage import store
from agent_usage.ingest import ingest
from tests.conftest import FIXTURES, fixture_env

GOLDEN_NAME = "events.golden.ndjson"
UPDATE = os.environ.get("AGENT_USAGE_UPDATE_GOLDENS") == "1"
TRAPS = sorted((p.parent.parent.name, p.parent.name) for p in FIXTURES.glob("*/*/expected.json"))


def stored_events(db: Path, root: Path) -> list[dict[str, Any]]:
    """The events table as JSON-ready dicts, in key order, with paths relative to `root`."""
    with store.connect(db, read_only=True) as con:
        cursor = con.execute("SELECT * FROM events ORDER BY event_key, source_path, source_offset")
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    events = []
    for row in rows:
        event = dict(zip(names, row, strict=True))
        event["ts"] = event["ts"].isoformat()
        event["source_path"] = os.path.relpath(event["source_path"], root)
        events.append(event)
    return events


@pytest.mark.parametrize(("harness", "trap"), TRAPS)
def test_fixture_events_match_their_golden(
    harness: str, trap: str, tmp_path: Path, isolated_home: Path
) -> None:
    root = FIXTURES / harness / trap
    db = tmp_path / "store.duckdb"
    ingest(db, env=fixture_env(harness, root, isolated_home))
    events = stored_events(db, root)
    golden = root / GOLDEN_NAME
    if UPDATE:
        golden.write_bytes(b"".join(orjson.dumps(e, option=orjson.OPT_SORT_KEYS) + b"\n" for e in events))
    assert golden.exists(), f"{golden} is missing: run with AGENT_USAGE_UPDATE_GOLDENS=1 and review it"
    expected = [json.loads(line) for line in golden.read_text().splitlines()]
    assert events == expected


def test_goldens_hold_the_totals_of_expected_json() -> None:
    """The goldens agree with the hand-worked totals (so regenerating cannot quietly move them)."""
    for harness, trap in TRAPS:
        root = FIXTURES / harness / trap
        expected = json.loads((root / "expected.json").read_text())
        events = [json.loads(line) for line in (root / GOLDEN_NAME).read_text().splitlines()]
        assert len(events) == expected["events"], (harness, trap)
        for column in ("input_tokens", "cache_read_tokens", "output_tokens", "reasoning_tokens"):
            assert sum(e[column] for e in events) == expected[column], (harness, trap, column)
        for column in ("cache_write_5m_tokens", "cache_write_1h_tokens"):
            assert sum(e[column] for e in events) == expected[column], (harness, trap, column)
