"""The thin client: hand a command to the store's live keeper and print its answer.

Loaded by the entry point before the CLI, so it imports only the standard library and
`agent_usage.paths` and `agent_usage.heartbeat`. `forward` returns None whenever the command
should run in this process instead; it never half-prints an answer.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

from agent_usage import heartbeat
from agent_usage.keeper import FORWARDED
from agent_usage.paths import resolve_paths

CONNECT_TIMEOUT_S = 1.0
ANSWER_TIMEOUT_S = 600.0
"""A keeper that takes longer is hung: the command then runs here."""
OFF_VARIABLE = "AGENT_USAGE_NO_KEEPER"
"""Set (to anything) to run every command in its own process."""


def forward(arguments: list[str]) -> int | None:
    """Run `arguments` on the live keeper of their store and print its answer; the exit code,
    or None when this process must run the command itself."""
    if not _forwardable(arguments):
        return None
    try:
        db = _db_argument(arguments)
    except ValueError:  # the CLI says what is wrong with the arguments
        return None
    keeper = heartbeat.alive_keeper(resolve_paths(Path(db) if db else None).db_path)
    if keeper is None or keeper.socket is None:
        return None
    answer = _ask(keeper.socket, _request(arguments))
    code = answer.get("exit") if answer is not None else None
    if answer is None or not isinstance(code, int):
        return None
    try:
        sys.stderr.write(str(answer.get("stderr", "")))
        sys.stdout.write(str(answer.get("stdout", "")))
        sys.stdout.flush()
    except BrokenPipeError:  # `| head` closed the pipe: as the CLI does, not an error
        return 0
    return code


def _forwardable(arguments: list[str]) -> bool:
    return (
        bool(arguments)
        and arguments[0] in FORWARDED
        and not {"-h", "--help", "--version"} & set(arguments)
        and not os.environ.get(OFF_VARIABLE)
    )


def _db_argument(arguments: list[str]) -> str | None:
    """The `--db` value (None without one); ValueError when it has none."""
    for index, word in enumerate(arguments):
        value = word.split("=", 1)[1] if word.startswith("--db=") else None
        if word == "--db":
            value = arguments[index + 1] if index + 1 < len(arguments) else ""
        if value is not None:
            if not value:
                raise ValueError("--db without a path")
            return value
    return None


def _absolute_db(arguments: list[str]) -> list[str]:
    """`arguments` with a relative `--db` made absolute: the keeper runs in another folder."""
    out = list(arguments)
    for index, word in enumerate(out):
        if word.startswith("--db="):
            out[index] = "--db=" + os.path.abspath(os.path.expanduser(word.split("=", 1)[1]))
        elif word == "--db" and index + 1 < len(out):
            out[index + 1] = os.path.abspath(os.path.expanduser(out[index + 1]))
    return out


def _request(arguments: list[str]) -> dict[str, object]:
    """What the keeper needs to answer as this process would: the arguments, the environment
    (it answers only when the variables that decide what is read are its own), the folder, and
    the terminal the answer goes to."""
    stdout_tty = sys.stdout.isatty()
    columns = None
    if stdout_tty:
        try:
            columns = os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            columns = None
    return {
        "argv": _absolute_db(arguments),
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "stdout_tty": stdout_tty,
        "columns": columns,
    }


def _ask(address: str, request: dict[str, object]) -> dict[str, object] | None:
    """Send one request and read the whole answer; None on any failure (no keeper there, a
    refusal, a keeper that died or hung)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(CONNECT_TIMEOUT_S)
            connection.connect(address)
            connection.settimeout(ANSWER_TIMEOUT_S)
            connection.sendall(json.dumps(request).encode())
            connection.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := connection.recv(1 << 16):
                chunks.append(chunk)
        answer = json.loads(b"".join(chunks))
    except (OSError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None
