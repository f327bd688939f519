"""Who and where the telemetry comes from (user, machine, resource) and what privacy removes.

The machine id is derived from the OS machine id with an app-specific UUIDv5, as
machine-id(5) asks, so the raw id never leaves the laptop but stays stable across restarts
and store rebuilds. That stability is what keeps counters from double counting.
"""

from __future__ import annotations

import functools
import getpass
import hashlib
import os
import platform
import subprocess
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from agent_usage import __version__
from agent_usage.errors import ConfigError
from agent_usage.paths import private_dirs

SERVICE_NAME = "agent-usage"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/agent-usage/agent-usage")
_MACHINE_NAMESPACE = uuid.uuid5(_NAMESPACE, "machine")
_SESSION_NAMESPACE = uuid.uuid5(_NAMESPACE, "session")
PRIVACY_MODES = ("keep", "hash", "drop")


def _os_machine_id() -> str | None:
    for candidate in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(candidate).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    if platform.system() == "Darwin":
        try:
            out = subprocess.run(
                ["ioreg", "-rd1", "-c", "IOPlatformExpertDevice"], capture_output=True, text=True, timeout=5
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        for line in out.splitlines():
            if "IOPlatformUUID" in line:
                return line.split("=")[-1].strip().strip('"')
    if sys.platform == "win32":  # (not platform.system(): type checkers understand this test)
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Cryptography") as key:
                return str(winreg.QueryValueEx(key, "MachineGuid")[0])
        except OSError:
            return None
    return None


def machine_id(data_dir: Path, env: Mapping[str, str]) -> str:
    """A stable UUID for this machine: `AGENT_USAGE_MACHINE_ID`, else derived from the OS id.

    Without an OS id, a random one is kept in the data dir so it survives restarts.
    """
    override = env.get("AGENT_USAGE_MACHINE_ID", "").strip()
    if override:
        try:
            return str(uuid.UUID(override))
        except ValueError:
            return str(uuid.uuid5(_MACHINE_NAMESPACE, override))
    raw = _os_machine_id()
    if raw is None:
        kept = data_dir / "machine-id"
        try:
            raw = kept.read_text().strip()
        except OSError:
            raw = ""
        if not raw:
            raw = uuid.uuid4().hex
            private_dirs(data_dir)
            handle = os.open(kept, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # user-only, like the store
            with os.fdopen(handle, "w") as out:
                out.write(raw + "\n")
    return str(uuid.uuid5(_MACHINE_NAMESPACE, raw))


def user_id(env: Mapping[str, str], cli_user: str | None) -> str:
    """`--user`, else `AGENT_USAGE_USER`, else the login name."""
    if cli_user:
        return cli_user
    if env.get("AGENT_USAGE_USER"):
        return env["AGENT_USAGE_USER"]
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@functools.lru_cache(maxsize=4096)
def session_uuid(harness: str, session_id: str) -> str:
    """The session id as a UUID (the org dashboard stores it in a UUID column).

    Claude, Codex and pi already use UUIDs and pass through; any other id maps to a stable v5.
    """
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return str(uuid.uuid5(_SESSION_NAMESPACE, f"{harness}:{session_id}"))


def short_hash(value: str) -> str:
    """First 12 hex digits of SHA-256: stable across machines, so a team's hashes still group."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


@dataclass(frozen=True, slots=True)
class Privacy:
    """What happens to project names and to paths (cwd, git branch) before they leave."""

    projects: str = "keep"
    paths: str = "keep"

    def __post_init__(self) -> None:
        for flag, value in (("--project-names", self.projects), ("--paths", self.paths)):
            if value not in PRIVACY_MODES:
                raise ConfigError(f"{flag}: {value!r} is not one of {', '.join(PRIVACY_MODES)}")

    @staticmethod
    def _apply(mode: str, value: str | None) -> str | None:
        if not value or mode == "drop":
            return None
        return short_hash(value) if mode == "hash" else value

    def project(self, value: str | None) -> str | None:
        return self._apply(self.projects, value)

    def path(self, value: str | None) -> str | None:
        return self._apply(self.paths, value)


@dataclass(frozen=True, slots=True)
class Identity:
    """The resource of every export and the user/machine put on every point and span."""

    user: str
    machine: str
    resource_attributes: dict[str, str]


def resource_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """`OTEL_RESOURCE_ATTRIBUTES` (k=v pairs, URL-encoded) with `OTEL_SERVICE_NAME` on top."""
    attributes: dict[str, str] = {}
    for item in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            if item.strip():
                raise ConfigError(f"OTEL_RESOURCE_ATTRIBUTES: {item.strip()!r} is not in the form key=value")
            continue
        attributes[unquote(key.strip())] = unquote(value.strip())
    if env.get("OTEL_SERVICE_NAME", "").strip():
        attributes["service.name"] = env["OTEL_SERVICE_NAME"].strip()
    return attributes


def identity(data_dir: Path, env: Mapping[str, str], cli_user: str | None = None) -> Identity:
    """Resolve user and machine and build the resource; the user's `OTEL_RESOURCE_ATTRIBUTES`
    and `OTEL_SERVICE_NAME` take precedence over our defaults."""
    machine = machine_id(data_dir, env)
    ours = {
        "service.name": SERVICE_NAME,
        "service.version": __version__,
        "service.instance.id": machine,
        "agent.machine.id": machine,
        "os.type": platform.system().lower(),
    }
    return Identity(
        user=user_id(env, cli_user), machine=machine, resource_attributes={**ours, **resource_from_env(env)}
    )
