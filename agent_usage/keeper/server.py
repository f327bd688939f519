"""The keeper's side: answer forwarded commands on a unix socket, one at a time.

A `watch` that keeps the store current starts a `KeeperServer` once its first full read is
done and names the socket in its heartbeat. Each connection carries one command; it is run
by the CLI in this process, with the output routed to the answer instead of the keeper's own
streams, and after the changes the watcher saw and has not read yet are ingested. A request
is refused (and the client runs the command itself) when it comes from another user, or when
the variables that decide what is read or where differ from the keeper's own.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent_usage import keeper, store
from agent_usage.paths import private_dirs

if TYPE_CHECKING:
    from agent_usage.ingest_plan import IngestSummary

log = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 1 << 22
DECIDING_PREFIXES = ("AGENT_USAGE_",)
DECIDING_NAMES = frozenset(
    {"HOME", "USERPROFILE", "TZ", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"}
)
"""With every harness's own location variables: what decides which files and store a command
reads, and the time zone it counts days in. Not the rest of XDG_ (a service and a terminal
differ in XDG_SESSION_ID and the like, which decide nothing here)."""
PRESENTATION = frozenset({"AGENT_USAGE_NO_KEEPER"})


def deciding_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The part of `env` a command's answer depends on (beyond how it is printed)."""
    from agent_usage.parsers import PARSERS

    harness_vars = {name for parser in PARSERS.values() for name in parser.ENV_VARS}
    return {
        name: value
        for name, value in env.items()
        if (name.startswith(DECIDING_PREFIXES) or name in DECIDING_NAMES or name in harness_vars)
        and name not in PRESENTATION
    }


class _Routed(io.TextIOBase):
    """A stand-in for sys.stdout or sys.stderr: the thread answering a command writes into that
    command's answer, every other thread to the stream it replaced."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.local = threading.local()

    def _target(self) -> tuple[TextIO, bool] | None:
        return getattr(self.local, "target", None)

    def write(self, text: str) -> int:
        target = self._target()
        return (target[0] if target else self.stream).write(text)

    def flush(self) -> None:
        target = self._target()
        (target[0] if target else self.stream).flush()

    def isatty(self) -> bool:
        target = self._target()
        return target[1] if target else self.stream.isatty()

    def fileno(self) -> int:
        if self._target():
            raise io.UnsupportedOperation("an answer has no file descriptor")
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8" if self._target() else self.stream.encoding

    @contextlib.contextmanager
    def into(self, target: TextIO, tty: bool) -> Iterator[None]:
        self.local.target = (target, tty)
        try:
            yield
        finally:
            self.local.target = None


class KeeperServer:
    """Answers `report` and `ingest` for the store at `db_path` on its socket."""

    def __init__(self, db_path: Path, env: Mapping[str, str], catch_up: Callable[[], IngestSummary]) -> None:
        self.db_path = db_path.absolute()
        self.deciding = deciding_environment(env)
        """What of the keeper's own environment a command's answer depends on."""
        self.catch_up = catch_up
        self.path = keeper.socket_path(self.db_path)
        self._server: socketserver.UnixStreamServer | None = None
        self._thread: threading.Thread | None = None
        self._stdout: _Routed | None = None
        self._stderr: _Routed | None = None

    def start(self) -> str:
        """Listen (replacing a socket a dead keeper left) and answer in a background thread;
        the socket's path. OSError when it cannot listen: reports then walk the files."""
        private_dirs(self.path.parent)
        if self.path.parent.stat().st_uid != os.getuid():
            raise PermissionError(f"{self.path.parent} belongs to another user")
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        store.open_every_connection_writable()  # reports are read while the watcher writes
        handler = _handler_for(self)
        self._server = socketserver.UnixStreamServer(str(self.path), handler)
        os.chmod(self.path, 0o600)
        self._stdout, self._stderr = _Routed(sys.stdout), _Routed(sys.stderr)
        sys.stdout, sys.stderr = self._stdout, self._stderr  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, name="keeper", daemon=True)
        self._thread.start()
        return str(self.path)

    def close(self) -> None:
        """Stop answering and remove the socket."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        store.open_every_connection_writable(False)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = self._stdout.stream
        if self._stderr is not None and sys.stderr is self._stderr:
            sys.stderr = self._stderr.stream

    def answer(self, request: Mapping[str, Any], peer_uid: int | None) -> dict[str, Any]:
        """Run one forwarded command; its exit code and output, or why it is refused."""
        refusal = self._refusal(request, peer_uid)
        if refusal:
            log.debug("keeper: refused a command: %s", refusal)
            return {"refused": refusal}
        from agent_usage import cli

        terminal = cli.Terminal(
            stdout_tty=bool(request.get("stdout_tty")),
            columns=request["columns"] if isinstance(request.get("columns"), int) else None,
            env={str(k): str(v) for k, v in request["env"].items()},
        )
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        assert self._stdout is not None and self._stderr is not None
        keeper._catch_up = self._catch_up_for
        try:
            with self._stdout.into(out, terminal.stdout_tty), self._stderr.into(err, False):
                code = cli.run_arguments([str(word) for word in request["argv"]], terminal)
        except BaseException as error:  # noqa: BLE001 - the client then runs the command itself
            log.warning("keeper: a forwarded command failed: %r", error)
            return {"refused": f"failed in the keeper: {error!r}"}
        finally:
            keeper._catch_up = None
        log.debug(
            "keeper: answered %s in %.3f s (exit %d)",
            " ".join(request["argv"]),
            time.perf_counter() - started,
            code,
        )
        return {"exit": int(code), "stdout": out.getvalue(), "stderr": err.getvalue()}

    def _catch_up_for(self, db_path: Path) -> IngestSummary | None:
        return self.catch_up() if db_path.absolute() == self.db_path else None

    def _refusal(self, request: Mapping[str, Any], peer_uid: int | None) -> str | None:
        if peer_uid is not None and peer_uid != os.getuid():
            return "another user"
        argv, env = request.get("argv"), request.get("env")
        if not isinstance(argv, list) or not argv or argv[0] not in keeper.FORWARDED:
            return "not a command the keeper answers"
        if not isinstance(env, dict):
            return "no environment"
        deciding = deciding_environment(env)
        if deciding != self.deciding:
            return "another environment"
        if request.get("cwd") != os.getcwd() and any(
            not os.path.isabs(os.path.expanduser(value)) for value in deciding.values()
        ):
            return "relative paths from another folder"
        return None


def _peer_uid(connection: socket.socket) -> int | None:
    """The uid of the process at the other end (Linux); None where the platform cannot say
    (the socket is 0600 in the user's own folder there)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    credentials = connection.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    return int(struct.unpack("3i", credentials)[1])


def _handler_for(server: KeeperServer) -> type[socketserver.BaseRequestHandler]:
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            connection: socket.socket = self.request
            connection.settimeout(5.0)
            try:
                chunks, size = [], 0
                while chunk := connection.recv(1 << 16):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_REQUEST_BYTES:
                        return
                request = json.loads(b"".join(chunks))
                if not isinstance(request, dict):
                    return
                answer = server.answer(request, _peer_uid(connection))
                connection.settimeout(30.0)
                connection.sendall(json.dumps(answer).encode())
            except (OSError, ValueError) as error:
                log.debug("keeper: a connection failed: %s", error)

    return Handler
