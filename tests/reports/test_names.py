"""Harness aliases and project/model patterns (`agent_usage.names`), without a store."""

from __future__ import annotations

import pytest

from agent_usage.errors import UsageError
from agent_usage.names import closest, harness_names, matches

MODELS = ["claude-opus-4-6", "claude-sonnet-4-5", "gpt-5", "gpt-5-mini"]


def test_an_exact_name_wins_over_the_names_that_contain_it() -> None:
    assert matches("gpt-5", MODELS) == ["gpt-5"]
    assert matches("GPT-5", MODELS) == ["gpt-5"]
    assert matches("gpt", MODELS) == ["gpt-5", "gpt-5-mini"]
    assert matches("*-5*", MODELS) == ["claude-sonnet-4-5", "gpt-5", "gpt-5-mini"]
    assert matches("haiku", MODELS) == []


def test_the_closest_names_of_a_typo() -> None:
    assert closest("claude-sonet-4-5", MODELS)[0] == "claude-sonnet-4-5"  # the nearest first
    assert closest("zzz", MODELS) == []


def test_harness_aliases_and_case() -> None:
    assert harness_names(["claude", "CODEX", "gemini", "claude-code"]) == (
        "claude-code",
        "codex",
        "gemini-cli",
    )
    with pytest.raises(UsageError, match="no harness 'cursor'"):
        harness_names(["cursor"])
