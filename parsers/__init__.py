"""One parser per harness, all with the surface described in `base.HarnessParser`.

This folder is installed as `agent_usage.parsers` (setuptools `package-dir` in pyproject.toml):
import it by that name. docs/architecture.md, "Layout", says why.
"""

from __future__ import annotations

from agent_usage.parsers import claude_code, codex, gemini_cli, pi
from agent_usage.parsers.base import HarnessParser

PARSERS: dict[str, HarnessParser] = {
    module.HARNESS: module  # type: ignore[misc]
    for module in (claude_code, gemini_cli, codex, pi)
}
