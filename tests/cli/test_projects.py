"""Projects are folders: two folders called `api` are two projects, shown by their shortest
unique path suffix, and filters and budgets name them by label or by folder.

fixtures/projects: Claude sessions in /work/a/api, /work/b/api and /work/a/web, with the
reports corpus's round prices (expected.json has the hand-worked figures)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from agent_usage import store
from agent_usage.queries import shortest_suffixes
from agent_usage.records import UsageEvent
from tests.conftest import FIXTURES, invoke_cli

CORPUS = FIXTURES / "projects"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())["projects"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "au" / "config").mkdir(parents=True)
    shutil.copy(FIXTURES / "reports" / "prices.toml", tmp_path / "au" / "config" / "prices.toml")
    env = {
        "HOME": str(tmp_path),
        "AGENT_USAGE_HOME": str(tmp_path / "au"),
        "CLAUDE_CONFIG_DIR": str(CORPUS / "claude"),
        "AGENT_USAGE_NOW": "2026-11-16T12:00:00Z",
        "TZ": "UTC",
    }
    assert invoke_cli("ingest", "-q", env=env).returncode == 0
    return env


def project_rows(env: dict[str, str], *args: str) -> dict[str, dict]:
    done = invoke_cli("report", "project", "--json", "--no-ingest", *args, env=env)
    assert done.returncode == 0, done.stderr
    return {row["key"]: row for row in json.loads(done.stdout)["rows"]}


def test_two_folders_with_one_name_are_two_projects(env: dict[str, str]) -> None:
    rows = project_rows(env)
    assert set(rows) == set(EXPECTED)  # a/api, b/api, web
    for label, want in EXPECTED.items():
        assert rows[label]["total_tokens"] == want["tokens"]
        assert rows[label]["cost_usd"] == pytest.approx(want["cost"])


@pytest.mark.parametrize(
    ("pattern", "labels"),
    [
        ("b/api", {"b/api"}),  # a label
        ("/work/b/api", {"b/api"}),  # a folder
        ("api", {"a/api", "b/api"}),  # part of both labels
        ("/work/a/*", {"a/api", "web"}),  # a glob over folders
        ("WEB", {"web"}),
    ],
)
def test_project_filters_name_a_label_or_a_folder(
    env: dict[str, str], pattern: str, labels: set[str]
) -> None:
    assert set(project_rows(env, "--project", pattern)) == labels


def test_a_project_budget_names_its_project_by_label(env: dict[str, str]) -> None:
    config = Path(env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.write_text('[budgets.project."b/api"]\ndaily = 0.02\n')
    done = invoke_cli("budget", "--json", "--no-ingest", env=env)
    assert done.returncode == 0, done.stderr
    (budget,) = json.loads(done.stdout)["budgets"]
    assert budget["spend_usd"] == pytest.approx(EXPECTED["b/api"]["cost"]) and budget["status"] == "exceeded"


def test_the_tables_and_breakdowns_use_the_labels(env: dict[str, str]) -> None:
    table = invoke_cli("report", "project", "--no-ingest", env=env).stdout
    assert "a/api" in table and "b/api" in table and "/work" not in table
    daily = invoke_cli("report", "daily", "--breakdown", "project", "--json", "--no-ingest", env=env).stdout
    (day,) = json.loads(daily)["rows"]
    assert {sub["key"] for sub in day["breakdown"]} == set(EXPECTED)


def test_shortest_unique_suffixes() -> None:
    assert shortest_suffixes(["/work/a/api", "/work/b/api", "/home/x/web", "shop", "(unknown)"]) == {
        "/work/a/api": "a/api",
        "/work/b/api": "b/api",
        "/home/x/web": "web",
        "shop": "shop",
        "(unknown)": "(unknown)",
    }
    assert shortest_suffixes(["/a/x/api", "/b/x/api"]) == {"/a/x/api": "a/x/api", "/b/x/api": "b/x/api"}


def write_config(env: dict[str, str], text: str) -> None:
    (Path(env["AGENT_USAGE_HOME"]) / "config" / "config.toml").write_text(text)


def test_projects_in_config_merge_and_rename_folders(env: dict[str, str]) -> None:
    write_config(env, '[projects]\napi = ["/work/a/api", "/work/b/api"]\nsite = "/work/a/w*"\n')
    rows = project_rows(env)
    assert set(rows) == {"api", "site"}
    assert rows["api"]["total_tokens"] == EXPECTED["a/api"]["tokens"] + EXPECTED["b/api"]["tokens"]
    assert rows["api"]["cost_usd"] == pytest.approx(EXPECTED["a/api"]["cost"] + EXPECTED["b/api"]["cost"])
    assert set(project_rows(env, "--project", "api")) == {"api"}
    assert rows["site"]["total_tokens"] == EXPECTED["web"]["tokens"]


def test_instances_split_a_named_project_by_folder(env: dict[str, str]) -> None:
    write_config(env, '[projects]\napi = ["/work/*/api"]\n')
    rows = project_rows(env, "--instances")
    assert set(rows) == {want["folder"] for want in EXPECTED.values()}
    assert rows["/work/b/api"]["cost_usd"] == pytest.approx(EXPECTED["b/api"]["cost"])


def test_a_budget_counts_a_named_project_whole(env: dict[str, str]) -> None:
    write_config(env, '[projects]\napi = ["/work/*/api"]\n[budgets.project.api]\ndaily = 1\n')
    (budget,) = json.loads(invoke_cli("budget", "--json", "--no-ingest", env=env).stdout)["budgets"]
    assert budget["spend_usd"] == pytest.approx(EXPECTED["a/api"]["cost"] + EXPECTED["b/api"]["cost"])


def test_a_bad_projects_table_is_one_line(env: dict[str, str]) -> None:
    write_config(env, "[projects]\napi = 3\n")
    done = invoke_cli("report", "project", "--no-ingest", env=env)
    assert done.returncode == 2 and "projects.api must be a folder or a list of folders, got 3" in done.stderr


def test_a_git_remote_joins_clones_and_the_sessions_of_their_folder(env: dict[str, str]) -> None:
    with_codex = {**env, "CODEX_HOME": str(CORPUS / "codex")}
    assert invoke_cli("ingest", "-q", env=with_codex).returncode == 0
    want = json.loads((CORPUS / "expected.json").read_text())["with_codex"]["projects"]
    rows = project_rows(with_codex)
    assert set(rows) == set(want)
    for label, figures in want.items():
        assert rows[label]["total_tokens"] == figures["tokens"], label
        assert rows[label]["cost_usd"] == pytest.approx(figures["cost"]), label
    folders = set(project_rows(with_codex, "--instances"))
    assert folders == {"/work/a/api", "/work/clone/api-copy", "/work/b/api", "/work/a/web"}
    db = Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
    with store.connect(db, read_only=True) as con:
        remotes = con.execute(
            "SELECT DISTINCT git_remote FROM events WHERE git_remote IS NOT NULL"
        ).fetchall()
    assert remotes == [("git.example.com/team/api",)]  # the token in the URL is never stored


def test_a_store_from_before_git_remotes_is_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "old.duckdb"
    with monkeypatch.context() as patch:
        patch.setattr(
            store.migrations, "MIGRATIONS", store.migrations.MIGRATIONS[:5]
        )  # as 2026-12-01 wrote it
        with store.connect(db) as con:
            columns = [c for c in store.EVENT_COLUMNS if c not in ("git_remote", "session_total")]
            event = UsageEvent(
                "cc:m:r", datetime(2026, 11, 16, 9), "claude-code", "s", "m", cwd="/work/a/api", project="api"
            )
            con.execute(
                f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [getattr(event, column) for column in columns],
            )
    done = invoke_cli("report", "project", "--json", "--no-ingest", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert [row["key"] for row in json.loads(done.stdout)["rows"]] == ["api"]
    with store.connect(db, read_only=True) as con:
        applied = {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
        assert "m006_git_remote" in applied
        assert con.execute("SELECT git_remote FROM events").fetchall() == [(None,)]
