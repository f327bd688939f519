"""Droid beyond its fixture totals: a settings file rewritten with a larger running total
replaces the session's event, BYOK model names, and hostile documents."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent_usage import store
from agent_usage.ingest import ingest
from agent_usage.parsers import droid
from tests.conftest import FIXTURES

SESSIONS = FIXTURES / "droid" / "session-totals" / "sessions"
PARENT = "-home-al-src-shop/4c1e2a90-0000-4000-8000-000000000001.settings.json"


def _totals(db: Path) -> tuple[int, int]:
    with store.connect(db, read_only=True) as con:
        return con.execute("SELECT count(*), sum(output_tokens) FROM events").fetchone()


def test_a_rewritten_running_total_replaces_the_session(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    shutil.copytree(SESSIONS, sessions, ignore=shutil.ignore_patterns("*.ndjson"))
    db, env = tmp_path / "s.duckdb", {"DROID_SESSIONS_DIR": str(sessions)}
    ingest(db, env=env)
    assert _totals(db) == (3, 12_900)
    settings_path = sessions / PARENT
    settings = json.loads(settings_path.read_text())
    settings["tokenUsage"]["outputTokens"] += 500  # one more call: Droid rewrites the total
    settings_path.write_text(json.dumps(settings, indent=2))
    ingest(db, env=env)
    assert _totals(db) == (3, 13_400)


def test_byok_names_and_hostile_documents(tmp_path: Path) -> None:
    assert droid._model("custom:GLM-4.6-[Z.ai]-0") == "GLM-4.6"
    assert droid._model("claude-sonnet-4-5-20250929") == "claude-sonnet-4-5-20250929"
    sessions = tmp_path / "sessions" / "-x"
    sessions.mkdir(parents=True)
    (sessions / "a.settings.json").write_text('{"model": "gpt-5", "tokenUsage": {"inputTok')
    (sessions / "b.settings.json").write_text(
        json.dumps({"model": "gpt-5", "tokenUsage": {"inputTokens": "-4", "outputTokens": None}})
    )
    (sessions / "c.settings.json").write_text(
        json.dumps({"tokenUsage": {"inputTokens": 10}})
    )  # no model, no time
    summary = ingest(tmp_path / "s.duckdb", env={"DROID_SESSIONS_DIR": str(tmp_path / "sessions")})
    assert summary.bad_lines == 2  # the cut document, and usage that cannot be dated or priced
    assert _totals(tmp_path / "s.duckdb") == (0, None)
