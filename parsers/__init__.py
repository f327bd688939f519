"""One parser per harness, all with the surface described in `base.HarnessParser`.

This folder is installed as `agent_usage.parsers` (setuptools `package-dir` in pyproject.toml):
import it by that name. docs/architecture.md, "Layout", says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agent_usage.parsers import (
    amp,
    claude_code,
    codex,
    copilot_cli,
    droid,
    gemini_cli,
    kimi_cli,
    opencode,
    pi,
    qwen_code,
)
from agent_usage.parsers.base import HarnessParser

PARSERS: dict[str, HarnessParser] = {
    module.HARNESS: module  # type: ignore[misc]
    for module in (claude_code, gemini_cli, codex, pi, qwen_code, opencode, kimi_cli, copilot_cli, droid, amp)
}


def harness_roots(env: Mapping[str, str]) -> list[Path]:
    """Every existing root folder of every harness, resolved, without nested duplicates: what
    the folder watcher watches, and what a keeper's heartbeat names."""
    roots = sorted(
        {root.resolve() for parser in PARSERS.values() for root in parser.roots(env) if root.is_dir()}
    )
    return [root for root in roots if not any(other in root.parents for other in roots)]
