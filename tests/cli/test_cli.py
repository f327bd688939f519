"""The real CLI in a subprocess: demo, ingest, report --json, doctor, errors and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, invoke_cli, run_cli


def test_demo_shows_a_report_of_all_four_harnesses(tmp_path: Path) -> None:
    result = run_cli("demo", "--out", str(tmp_path / "demo"), "--days", "5")
    assert result.returncode == 0, result.stderr
    for harness in ("claude-code", "codex", "gemini-cli", "pi"):
        assert harness in result.stdout
    assert "Total" in result.stdout and "$" in result.stdout
    assert "duplicates skipped" in result.stderr or "duplicate skipped" in result.stderr


def test_ingest_then_report_json_on_fixtures(tmp_path: Path) -> None:
    env = {
        "CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks"),
        "CODEX_HOME": str(FIXTURES / "codex" / "reemit"),
    }
    ingested = run_cli("ingest", env=env)
    assert ingested.returncode == 0, ingested.stderr
    assert "6 new events" in ingested.stderr and "1 bad line skipped" in ingested.stderr
    assert "warning: " + str(FIXTURES / "claude-code" / "content-blocks") in ingested.stderr
    result = run_cli("report", "model", "--json", "--no-ingest", env=env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1
    by_model = {row["key"]: row for row in doc["rows"]}
    assert by_model["claude-opus-4-7"]["output_tokens"] == 507
    assert by_model["gpt-5.3-codex"]["input_tokens"] == 9996
    assert doc["totals"]["events"] == 6


def test_report_json_marks_unknown_cost_as_null(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "gateway-no-request-id")}
    result = run_cli("report", "daily", "--json", env=env)
    doc = json.loads(result.stdout)
    assert doc["totals"]["cost_usd"] is None
    assert doc["totals"]["unpriced_models"] == ["acme-coder-1"]
    table = run_cli("report", "daily", "--no-ingest", env=env)
    assert "unpriced" in table.stdout and "$0.00" not in table.stdout


def test_demo_without_out_leaves_no_folder_and_needs_a_day(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    result = run_cli("demo", "--days", "2", env={"TMPDIR": str(scratch)})
    assert result.returncode == 0, result.stderr
    assert "Total" in result.stdout and "now removed; --out DIR keeps it" in result.stderr
    assert list(scratch.iterdir()) == []
    refused = invoke_cli("demo", "--days", "0")
    assert refused.returncode == 2 and "--days: give at least 1 day" in refused.stderr


def test_doctor_json_lists_sources_with_full_roots_and_imports(tmp_path: Path) -> None:
    env = {"CODEX_HOME": str(FIXTURES / "codex" / "archived-zst")}
    assert invoke_cli("ingest", "-q", env=env).returncode == 0
    assert invoke_cli("import", str(FIXTURES / "imports" / "openai_usage.json"), env=env).returncode == 0
    document = json.loads(invoke_cli("doctor", "--json", env=env).stdout)
    codex = next(s for s in document["sources"] if s["harness"] == "codex" and s["found"])
    assert codex["root"] == str(FIXTURES / "codex" / "archived-zst") and codex["files"] == 3
    assert codex["events"] == 2
    imported = next(s for s in document["sources"] if s["harness"] == "openai-api")
    assert imported["root"].endswith("openai_usage.json") and imported["events"] == 2
    assert all(Path(s["root"]).is_absolute() for s in document["sources"])
    assert document["store"]["unread_files"] == 0 and document["store"]["problem"] is None
    table = invoke_cli("doctor", env=env, columns=220).stdout
    assert "openai-api" in table and "imported with `agent-usage import`" in table


def test_doctor_lists_each_source(tmp_path: Path) -> None:
    env = {"CODEX_HOME": str(FIXTURES / "codex" / "archived-zst")}
    run_cli("ingest", "-q", env=env)
    result = run_cli("doctor", env=env)
    assert result.returncode == 0, result.stderr
    codex_line = next(
        line for line in result.stdout.splitlines() if "codex" in line and "archived-zst" in line
    )
    assert "yes" in codex_line and " 3 " in codex_line and " 2 " in codex_line  # 3 files, 2 events


def test_bad_usage_exits_2_and_busy_store_exits_3(tmp_path: Path) -> None:
    assert run_cli("report", "fortnightly").returncode == 2
    db = tmp_path / "locked.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        result = run_cli("ingest", "--db", str(db), env={"AGENT_USAGE_BUSY_TIMEOUT": "0.3"})
        assert result.returncode == 3
        assert result.stderr.startswith(f"error: {db}: database busy")
    finally:
        holder.kill()
        holder.wait()


def test_report_imports_neither_textual_nor_opentelemetry() -> None:
    code = (
        "import sys; from agent_usage import cli, ingest, queries, reports, blocks, periods; "
        "from agent_usage.render import tables, document; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'opentelemetry')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_tz_moves_day_boundaries_and_since_follows_the_zone() -> None:
    env = {"CLAUDE_CONFIG_DIR": str(FIXTURES / "claude-code" / "content-blocks")}
    # events at 09:12-09:14 UTC on 2026-05-04: 23:12 the day before at UTC-10
    west = json.loads(run_cli("report", "daily", "--json", "--tz", "Etc/GMT+10", env=env).stdout)
    assert [row["key"] for row in west["rows"]] == ["2026-05-03"]
    # 18:13 in Tokyo is 09:13 UTC: only msg_01B (09:13:05) and msg_01D (09:14:00) are after it
    tokyo = json.loads(
        run_cli(
            "report",
            "daily",
            "--json",
            "--no-ingest",
            "--tz",
            "Asia/Tokyo",
            "--since",
            "2026-05-04T18:13",
            env=env,
        ).stdout
    )
    assert tokyo["totals"]["events"] == 2
    assert tokyo["filters"]["since"] == "2026-05-04T09:13:00Z"
    bad = run_cli("report", "daily", "--no-ingest", "--tz", "Mars/Olympus", env=env)
    assert bad.returncode == 2 and "unknown time zone" in bad.stderr


def test_every_command_summary_is_one_line_in_the_command_list() -> None:
    """A docstring whose first paragraph wraps is printed with its hard line break."""
    listing = run_cli("--help", env={"COLUMNS": "250"}).stdout
    rows = [line for line in listing.splitlines() if line.startswith("│ ") and "Commands" not in line]
    commands = [row.split()[1] for row in rows if not row.startswith("│  ")]
    assert "insights" in commands and "report" in commands
    continuation = [row for row in rows if row.startswith("│  ") and row.strip("│ ")]
    assert continuation == []


def test_every_option_of_every_command_says_what_it_does() -> None:
    import typer.main

    from agent_usage.cli import app

    silent: list[str] = []
    stack = [("agent-usage", typer.main.get_command(app))]
    while stack:
        path, command = stack.pop()
        silent += [
            f"{path} --{p.name}" for p in command.params if p.param_type_name == "option" and not p.help
        ]
        stack += [(f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items()]
    assert silent == []


def test_a_duckdb_file_that_is_no_store_is_named_and_left_untouched(tmp_path: Path) -> None:
    import duckdb

    foreign = tmp_path / "analytics.duckdb"
    with duckdb.connect(str(foreign)) as con:
        con.execute("CREATE TABLE sales (amount INT)")
    env = {"HOME": str(tmp_path), "AGENT_USAGE_HOME": str(tmp_path / "au")}
    result = run_cli("report", "--no-ingest", "--db", str(foreign), env=env)
    assert result.returncode == 1
    assert f"error: {foreign}: not an agent-usage store" in result.stderr
    assert "Traceback" not in result.stderr
    with duckdb.connect(str(foreign), read_only=True) as con:
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [("sales",)]


def test_a_json_report_loads_no_module_it_does_not_use(tmp_path: Path) -> None:
    """`report --json` is what scripts and status bars call often: no TUI, no exporter, and
    no rich console (it prints JSON)."""
    env = {**os.environ, "AGENT_USAGE_HOME": str(tmp_path / "au"), "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agent_usage", "report", "daily", "--json", "--no-ingest",
         "--db", str(tmp_path / "empty.duckdb")],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert json.loads(result.stdout)["totals"]["events"] == 0
    assert not {name for name in loaded if name.split(".")[0] in ("textual", "opentelemetry", "grpc")}
    assert "rich.console" not in loaded


def test_version_and_plurals() -> None:
    from agent_usage import __version__
    from agent_usage.render.format import count

    done = invoke_cli("--version")
    assert done.returncode == 0 and done.stdout == f"agent-usage {__version__}\n"
    assert [count(n, "event") for n in (0, 1, 2)] == ["0 events", "1 event", "2 events"]


def test_options_show_human_metavars() -> None:
    listing = invoke_cli("report", "--help", columns=200).stdout
    assert "--harness" in listing and "NAME" in listing and "N<d|w|m|y>" in listing
    options = [line for line in listing.split("Options")[1].splitlines() if "--help" not in line]
    assert not [line for line in options if "<bool>" in line or "<str>" in line or "<list" in line]


def test_report_help_explains_each_view() -> None:
    listing = invoke_cli("report", "blocks", "--help", columns=120).stdout
    assert "blocks                          Claude Code's 5-hour blocks" in listing
    assert "--token-limit N|max adds the limit's shares" in listing
