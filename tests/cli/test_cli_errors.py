"""Bad values and wrong places that must be one line and the right exit code, never a
traceback or a hang."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import FIXTURES, invoke_cli, run_cli


def test_a_nan_budget_is_a_config_error() -> None:
    config = Path(os.environ["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    for value in ("nan", "inf"):
        config.write_text(f"[budgets]\ndaily = {value}\n")
        result = invoke_cli("budget", "--no-ingest")
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert (
            f"error: {config}: budgets.daily must be a positive number of USD, got {value}" in result.stderr
        )


def test_a_nan_price_override_is_a_config_error() -> None:
    prices = Path(os.environ["AGENT_USAGE_HOME"]) / "config" / "prices.toml"
    prices.parent.mkdir(parents=True)
    prices.write_text('[models."acme-*"]\ninput = nan\n')
    env = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks")}
    result = invoke_cli("ingest", env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "models.acme-*.input must be a number >= 0, got nan" in result.stderr


def test_tui_without_a_terminal_is_a_usage_error() -> None:
    result = run_cli("tui", timeout=30)  # stdout is a pipe here
    assert result.returncode == 2, result.stderr
    assert "error: the dashboard needs a terminal" in result.stderr
    assert result.stdout == "" and "\x1b[" not in result.stderr


def test_names_with_brackets_are_printed_as_they_are(tmp_path: Path) -> None:
    usage = tmp_path / "usage[1].csv"
    usage.write_text("date,model,input_tokens,output_tokens,cost_usd\n2026-11-09,acme[beta]-1,1000,10,0.5\n")
    imported = invoke_cli("import", str(usage), "--format", "generic")
    assert imported.returncode == 0, imported.stderr
    assert f"{usage}: 1 row read as generic" in imported.stderr
    report = invoke_cli("report", "model", "--no-ingest", "--since", "2026-11-01")
    assert report.returncode == 0, report.stderr
    assert "acme[beta]-1" in report.stdout


def test_an_error_a_ctrl_c_caused_counts_as_interrupted() -> None:
    """A Ctrl-C during a lazy import surfaced as a RuntimeError caused by the KeyboardInterrupt."""
    from agent_usage.cli import _interrupted

    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("Error calling __set_name__ on 'Field' instance") from interrupt
    except RuntimeError as error:
        assert _interrupted(error)
    assert not _interrupted(RuntimeError("something else"))
    assert _interrupted(RuntimeError("Query interrupted"))
