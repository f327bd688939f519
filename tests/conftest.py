"""Test isolation: every test gets its own AGENT_USAGE_HOME and an empty HOME."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

# The same examples on every run, so the README's test command (and CI) cannot fail by the
# luck of the draw; `HYPOTHESIS_PROFILE=explore` draws new ones, and more, to look for bugs.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPORTS_CORPUS = FIXTURES / "reports"
"""Four harnesses, ten hand-worked events: `expected.json` holds their tokens and costs."""
EXPECTED = json.loads((REPORTS_CORPUS / "expected.json").read_text())

HARNESS_ENV = {
    "claude-code": lambda root: {"CLAUDE_CONFIG_DIR": str(root)},
    "gemini-cli": lambda root: {"GEMINI_CLI_HOME": str(root)},
    "codex": lambda root: {"CODEX_HOME": str(root)},
    "pi": lambda root: {"PI_CODING_AGENT_DIR": str(root / ".pi" / "agent")},
    "qwen-code": lambda root: {"QWEN_HOME": str(root)},
    "opencode": lambda root: {"OPENCODE_DATA_DIR": str(root)},
    "kimi-cli": lambda root: {"KIMI_SHARE_DIR": str(root)},
    "copilot-cli": lambda root: {"COPILOT_HOME": str(root)},
    "droid": lambda root: {"DROID_SESSIONS_DIR": str(root / "sessions")},
    "amp": lambda root: {"AMP_DATA_DIR": str(root)},
}
HARNESS_VARS = (
    "CLAUDE_CONFIG_DIR",
    "GEMINI_CLI_HOME",
    "CODEX_HOME",
    "PI_CODING_AGENT_DIR",
    "PI_CODING_AGENT_SESSION_DIR",
    "QWEN_DATA_DIR",
    "QWEN_RUNTIME_DIR",
    "QWEN_HOME",
    "OPENCODE_DATA_DIR",
    "OPENCODE_DB",
    "KIMI_DATA_DIR",
    "KIMI_SHARE_DIR",
    "COPILOT_HOME",
    "COPILOT_OTEL_FILE_EXPORTER_PATH",
    "DROID_SESSIONS_DIR",
    "FACTORY_HOME_OVERRIDE",
    "AMP_DATA_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
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


def corpus_roots_env(home: Path, roots: Path = REPORTS_CORPUS) -> dict[str, str]:
    """The reports corpus's four harness roots under `roots`: the shipped corpus, read where it
    is (nothing is written there), or a writable copy of it."""
    return {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(roots / "claude"),
        "CODEX_HOME": str(roots / "codex"),
        "GEMINI_CLI_HOME": str(roots / "gemini"),
        "PI_CODING_AGENT_DIR": str(roots / "pi"),
    }


def reports_env(base: Path) -> dict[str, str]:
    """The reports corpus as an agent would leave it: a writable copy of its four roots under
    `base`, its round prices in a fresh AGENT_USAGE_HOME, and the UTC zone."""
    roots = base / "corpus"
    shutil.copytree(REPORTS_CORPUS, roots)
    (base / "au" / "config").mkdir(parents=True)
    shutil.copy(REPORTS_CORPUS / "prices.toml", base / "au" / "config" / "prices.toml")
    (base / "home").mkdir(exist_ok=True)
    return {**corpus_roots_env(base / "home", roots), "AGENT_USAGE_HOME": str(base / "au"), "TZ": "UTC"}


AGENT_PREFIXES = ("CLAUDE_", "CODEX_", "GEMINI_", "PI_", "QWEN_", "OPENCODE_", "KIMI_", "COPILOT_", "DROID_",
                  "FACTORY_", "AMP_", "OTEL_")  # fmt: skip
"""The variables of the agents (and OTLP) that a test's CLI must not inherit from the machine."""


def clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any agent, OTLP or store variable, plus `extra`."""
    prefixes = (*AGENT_PREFIXES, "AGENT_USAGE_")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(prefixes)}, **extra}


def _cli_environment(extra: Mapping[str, str] | None, columns: int) -> dict[str, str]:
    """The environment for the real CLI: this test's isolated HOME and AGENT_USAGE_HOME, no
    agent or OTLP variable of the machine running the tests, plain output, and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(AGENT_PREFIXES)}
    return {**env, "NO_COLOR": "1", "COLUMNS": str(columns), **(extra or {})}


def run_cli(
    *args: str,
    env: Mapping[str, str] | None = None,
    columns: int = 160,
    timeout: float = 120,
    as_user: Sequence[str] = (),
    umask: int | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`agent-usage ARGS` in a subprocess (`as_user`: a command prefix such as setpriv's),
    with `stdin` as its input (else none: stdin is closed at once)."""
    return subprocess.run(
        [*as_user, sys.executable, "-m", "agent_usage", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=_cli_environment(env, columns),
        timeout=timeout,
        preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,  # noqa: PLW1509
    )


def invoke_cli(
    *args: str, env: Mapping[str, str] | None = None, columns: int = 160
) -> subprocess.CompletedProcess[str]:
    """`agent-usage ARGS` run in this process, with the environment, output and exit code that
    `run_cli` gives, at a fraction of its cost (no interpreter start, no imports).

    For checks of output and exit codes. Signals, the umask, other users and anything that
    must see a whole process (a traceback, an import) need `run_cli`.
    """
    from agent_usage import cli

    saved_env, saved_argv, saved_consoles = dict(os.environ), sys.argv, cli._consoles
    out, err = io.StringIO(), io.StringIO()
    environment = _cli_environment(env, columns)
    os.environ.clear()
    os.environ.update(environment)
    time.tzset()
    sys.argv = ["agent-usage", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli._consoles = cli.make_consoles()  # for this run's COLUMNS and captured streams
            try:
                cli._main()
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        time.tzset()
        sys.argv = saved_argv
        cli._consoles = saved_consoles
    return subprocess.CompletedProcess(["agent-usage", *args], code, out.getvalue(), err.getvalue())


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child: Ctrl-C handled as a terminal's foreground command gets it. A shell that
    starts the tests in the background without job control ignores SIGINT, and every child
    would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(*args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`agent-usage ARGS` started in the background, stdout and stderr piped, for signal tests."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent_usage", *args],
        env=_cli_environment(env, 160),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,  # noqa: PLW1509
    )


NOBODY = 65534


@dataclass(frozen=True)
class Unprivileged:
    """Where a test can make files an ordinary user owns, and the prefix that runs a command as
    that user: as root (CI), setpriv's nobody in a world-readable temp dir; otherwise oneself."""

    base: Path
    prefix: tuple[str, ...]

    def own(self, path: Path) -> None:
        """Give `path` and everything below it to the user the commands run as."""
        if not self.prefix:
            return
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, n) for n in (*dirs, *files))]:
                os.chown(name, NOBODY, NOBODY)


@pytest.fixture
def unprivileged(tmp_path: Path) -> Iterator[Unprivileged]:
    """Permission-denied tests run for real, as root too: through setpriv as nobody."""
    if os.geteuid() != 0:
        yield Unprivileged(tmp_path, ())
        return
    setpriv = shutil.which("setpriv")
    assert setpriv is not None, "setpriv (util-linux) runs the permission tests as an ordinary user"
    base = Path(tempfile.mkdtemp(prefix="agent-usage-unprivileged-"))
    os.chmod(base, 0o755)
    os.chown(base, NOBODY, NOBODY)
    try:
        yield Unprivileged(base, (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the reports corpus, ingested once per module with its round prices."""
    from agent_usage.ingest import ingest

    base = tmp_path_factory.mktemp("corpus-store")
    db = base / "s.duckdb"
    ingest(db, env=corpus_roots_env(base), prices_file=REPORTS_CORPUS / "prices.toml")
    return db


@pytest.fixture
def corpus_cli_env(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment over the reports corpus: its prices, a pinned now, UTC."""
    (tmp_path / "au" / "config").mkdir(parents=True)
    shutil.copy(REPORTS_CORPUS / "prices.toml", tmp_path / "au" / "config" / "prices.toml")
    return {
        **corpus_roots_env(tmp_path),
        "AGENT_USAGE_HOME": str(tmp_path / "au"),
        "AGENT_USAGE_NOW": EXPECTED["now"],
        "TZ": "UTC",
    }


def append_turn(session: Path, index: int) -> None:
    """One more assistant turn of 1000 output tokens, as Claude Code writes it."""
    line = json.loads(session.read_text().splitlines()[-1])
    line["uuid"] = str(uuid.uuid4())
    line["message"]["id"] = f"msg_soak_{index}"
    line["requestId"] = f"req_soak_{index}"
    line["message"]["usage"] = {"input_tokens": 10, "output_tokens": 1000}
    with session.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
