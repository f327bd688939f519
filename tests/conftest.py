"""Test isolation: every test gets its own AGENT_USAGE_HOME and an empty HOME."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# The same examples on every run, so the README's test command (and CI) cannot fail by the
# luck of the draw; `HYPOTHESIS_PROFILE=explore` draws new ones, and more, to look for bugs.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HARNESS_ENV = {
    "claude-code": lambda root: {"CLAUDE_CONFIG_DIR": str(root)},
    "gemini-cli": lambda root: {"GEMINI_CLI_HOME": str(root)},
    "codex": lambda root: {"CODEX_HOME": str(root)},
    "pi": lambda root: {"PI_CODING_AGENT_DIR": str(root / ".pi" / "agent")},
}
HARNESS_VARS = (
    "CLAUDE_CONFIG_DIR",
    "GEMINI_CLI_HOME",
    "CODEX_HOME",
    "PI_CODING_AGENT_DIR",
    "PI_CODING_AGENT_SESSION_DIR",
    "XDG_CONFIG_HOME",
    "AGENT_USAGE_DB",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME and AGENT_USAGE_HOME at temp dirs so no real session or store is touched."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AGENT_USAGE_HOME", str(tmp_path / "agent-usage"))
    for name in HARNESS_VARS:
        monkeypatch.delenv(name, raising=False)
    yield home


def fixture_env(harness: str, root: Path, home: Path) -> dict[str, str]:
    """An environment in which only `root` is visible, as the given harness's root."""
    return {"HOME": str(home), **HARNESS_ENV[harness](root)}


def copy_fixture(harness: str, trap: str, dest: Path) -> Path:
    """A writable copy of a fixture root, for tests that append or rewrite files."""
    target = dest / f"{harness}-{trap}"
    shutil.copytree(FIXTURES / harness / trap, target)
    return target


def reports_env(base: Path) -> dict[str, str]:
    """The reports corpus as an agent would leave it: a writable copy of its four roots under
    `base`, its round prices in a fresh AGENT_USAGE_HOME, and the UTC zone."""
    corpus = FIXTURES / "reports"
    roots = base / "corpus"
    shutil.copytree(corpus, roots)
    (base / "au" / "config").mkdir(parents=True)
    shutil.copy(corpus / "prices.toml", base / "au" / "config" / "prices.toml")
    (base / "home").mkdir(exist_ok=True)
    return {
        "HOME": str(base / "home"),
        "AGENT_USAGE_HOME": str(base / "au"),
        "CLAUDE_CONFIG_DIR": str(roots / "claude"),
        "CODEX_HOME": str(roots / "codex"),
        "GEMINI_CLI_HOME": str(roots / "gemini"),
        "PI_CODING_AGENT_DIR": str(roots / "pi"),
        "TZ": "UTC",
    }


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any agent, OTLP or store variable, plus `extra`."""
    prefixes = ("CLAUDE_", "CODEX_", "GEMINI_", "PI_", "OTEL_", "AGENT_USAGE_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}
