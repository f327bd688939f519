"""The process entry point (`agent-usage` and `python -m agent_usage`).

Importing the CLI takes a few hundred milliseconds; a Ctrl-C in that time is still one line
and exit 130, not a traceback from inside an import.
"""

import importlib
import signal
import sys

from agent_usage.errors import exit_interrupted


def _import_held(*names: str) -> None:
    """Import modules with Ctrl-C held back until they are loaded.

    DuckDB's extension aborts the process ("Fatal Python error: Aborted") when a
    KeyboardInterrupt arrives while it initialises; held back, the Ctrl-C is delivered right
    after the import, where it is an ordinary `interrupted`.
    """
    block = getattr(signal, "pthread_sigmask", None)
    previous = block(signal.SIG_BLOCK, {signal.SIGINT}) if block else None
    try:
        for name in names:
            importlib.import_module(name)
    finally:
        if block:
            block(signal.SIG_SETMASK, previous)


def run() -> None:
    """Import the CLI and run it; `statusline` (not its --help) runs without the CLI, and
    `report` and `ingest` are answered by a live `watch` when there is one."""
    arguments = sys.argv[1:]
    if arguments[:1] == ["statusline"] and not {"-h", "--help"} & set(arguments):
        from agent_usage.statusline import main as statusline

        sys.exit(statusline(arguments[1:]))
    try:
        from agent_usage.keeper.client import forward

        answered = forward(arguments)
    except KeyboardInterrupt:
        exit_interrupted()
    if answered is not None:
        sys.exit(answered)
    try:
        _import_held("duckdb", "agent_usage.cli")
        from agent_usage.cli import main
    except KeyboardInterrupt:
        exit_interrupted()
    try:
        main()
    finally:  # the work is done: a Ctrl-C while the interpreter shuts down changes nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    run()
