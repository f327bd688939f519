"""The TUI tests' app: the reports corpus (private copy, its round prices, a pinned now)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agent_usage.tui.app import AgentUsageApp
from tests.conftest import FIXTURES, corpus_roots_env

CORPUS = FIXTURES / "reports"
NOW = json.loads((CORPUS / "expected.json").read_text())["now"]


@pytest.fixture
def app_factory(tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Builds an app over a private copy of the corpus (or over the roots `env` names)."""
    monkeypatch.setenv("AGENT_USAGE_NOW", NOW)
    root = tmp_path / "corpus"
    shutil.copytree(CORPUS, root)
    config = tmp_path / "agent-usage" / "config"
    config.mkdir(parents=True)
    shutil.copy(CORPUS / "prices.toml", config / "prices.toml")

    def build(live: bool = False, env: dict[str, str] | None = None) -> AgentUsageApp:
        roots = env if env is not None else corpus_roots_env(isolated_home, root)
        app = AgentUsageApp(tmp_path / "store.duckdb", env=roots, tz="UTC", live=live)
        app.animation_level = "none"  # snapshots must not catch a tab underline mid-slide
        return app

    build.root = root  # type: ignore[attr-defined]
    return build
