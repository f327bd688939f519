"""The contract every harness parser follows, and the small helpers they share.

A parser never touches the database: it turns the bytes of one session file into
`UsageEvent`s, keeps what it must remember between incremental reads in `ctx.state`
(persisted by ingest as JSON), and counts the lines it had to skip in `ctx.stats`.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import orjson

from agent_usage.records import ParseStats, UsageEvent

Lines = Iterable[tuple[int, bytes]]
"""(byte offset, raw line) pairs of one file, each line complete."""


@dataclass(slots=True)
class FileContext:
    """What a parser knows about the file it is reading."""

    path: Path
    state: dict[str, Any] = field(default_factory=dict)
    stats: ParseStats = field(default_factory=ParseStats)


class HarnessParser(Protocol):
    """The module-level surface of each `agent_usage.parsers.<harness>` module."""

    HARNESS: str
    ENV_VARS: tuple[str, ...]
    NEEDLES: tuple[bytes, ...]
    """A line containing none of these can only be skipped, so the reader may leave it out
    (after checking it is a whole JSON object); empty means every line is read."""

    def roots(self, env: Mapping[str, str]) -> list[Path]: ...

    def discover(self, root: Path, on_error: WalkErrors | None = None) -> Iterator[str]: ...

    def accepts(self, root: Path, path: str) -> bool: ...

    def appendable(self, path: Path) -> bool: ...

    def parse(self, lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]: ...


def home_dir(env: Mapping[str, str]) -> Path:
    """The user's home as the environment says (tests point HOME at a temp dir)."""
    home = env.get("HOME") or env.get("USERPROFILE")
    return Path(home) if home else Path.home()


def env_paths(env: Mapping[str, str], name: str) -> list[Path] | None:
    """Split a harness env var that may hold a comma-separated list of paths."""
    value = env.get(name, "").strip()
    if not value:
        return None
    return [Path(part.strip()).expanduser() for part in value.split(",") if part.strip()]


WalkErrors = Callable[[str, OSError], None]
"""Told about a folder that exists but cannot be read (permission denied, I/O error)."""


def walk(root: Path, keep: Callable[[str], bool], on_error: WalkErrors | None = None) -> Iterator[str]:
    """Paths (as str) of the files below `root` whose name passes `keep`, following directory
    symlinks once.

    os.scandir and plain strings instead of Path.rglob: on 27,000 files that is about 10x
    faster, and a symlink loop is cut by remembering each directory's (device, inode). A folder
    that vanished meanwhile is skipped quietly; one that cannot be read goes to `on_error`.
    """
    seen: set[tuple[int, int]] = set()
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            info = os.stat(folder)
            if (info.st_dev, info.st_ino) in seen:
                continue
            seen.add((info.st_dev, info.st_ino))
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        except OSError as error:
            if on_error is not None:
                on_error(folder, error)
            continue
        for entry in entries:
            try:
                if entry.is_dir():
                    stack.append(entry.path)
                elif keep(entry.name):
                    yield entry.path
            except OSError:
                continue


class NotRegularFile(OSError):
    """A path named like a session file that is a FIFO, a device, a socket or a folder."""


def file_kind(mode: int) -> str:
    """Plain words for what a non-regular file is."""
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    ):
        if test(mode):
            return name
    return "a special file"


def open_regular(path: Path | str) -> BinaryIO:
    """Open a regular file for reading, or raise `NotRegularFile` (an OSError).

    Opened with O_NONBLOCK and checked on the open descriptor, so a FIFO put where a session
    file belongs never blocks the open, and a symlink to /dev/zero is refused before a read.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(errno.EINVAL, f"{file_kind(mode)}, not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def relative_parts(root: Path, path: str) -> tuple[str, ...] | None:
    """The parts of `path` below `root`, or None when it is not below it."""
    prefix = str(root).rstrip(os.sep) + os.sep
    if not path.startswith(prefix):
        return None
    return tuple(path[len(prefix) :].split(os.sep))


_SURROGATE = re.compile("[\ud800-\udfff]")


def _mend_surrogates(value: Any) -> Any:
    """The same value with every lone UTF-16 surrogate in its strings made U+FFFD."""
    if isinstance(value, str):
        if _SURROGATE.search(value) is None:
            return value
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_mend_surrogates(key): _mend_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mend_surrogates(item) for item in value]
    return value


def loads(raw: bytes) -> Any:
    """Parse JSON with orjson, and also the two kinds of line it refuses that are whole.

    - A lone UTF-16 surrogate escape (`\\ud83d` alone): valid JSON, which Node's
      `JSON.stringify` writes for a string cut inside an emoji. Claude Code and Gemini CLI
      histories hold such strings (anthropics/claude-code#1832).
    - Bytes that are not UTF-8 inside a string (a damaged file; read lossily, as tokscale does).

    orjson rejects both, and the line's billed usage, or a whole legacy Gemini session, would
    be lost as "invalid JSON". Such documents (rare) are parsed by the standard library from
    the text decoded with U+FFFD for bad bytes, and lone surrogates become U+FFFD too, so no
    unencodable string reaches the store. Anything else malformed raises orjson's error.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if "surrogate" not in str(error) and "UTF-8" not in str(error):
            raise
        try:
            return _mend_surrogates(json.loads(raw.decode("utf-8", "replace")))
        except ValueError:
            raise error from None


def load_line(raw: bytes, offset: int, ctx: FileContext) -> dict[str, Any] | None:
    """Decode one JSON line; a malformed one is counted in `ctx.stats` and gives None."""
    try:
        obj = loads(raw)
    except orjson.JSONDecodeError as error:
        ctx.stats.bad(f"byte {offset}", f"invalid JSON ({str(error).split(':')[0]})")
        return None
    if not isinstance(obj, dict):
        ctx.stats.bad(f"byte {offset}", "not a JSON object")
        return None
    return obj


def load_document(lines: Lines, ctx: FileContext) -> dict[str, Any] | None:
    """A file that is one JSON document (a legacy Gemini session, an OpenCode message, Droid's
    settings, an Amp thread) as an object. An empty file (being rewritten) is None quietly; one
    that is not a JSON object is None and counted in `ctx.stats`."""
    document = b"".join(raw for _, raw in lines)
    if not document.strip():
        return None
    try:
        value = loads(document)
    except orjson.JSONDecodeError as error:
        ctx.stats.bad("document", f"invalid JSON ({str(error).split(':')[0]})")
        return None
    if not isinstance(value, dict):
        ctx.stats.bad("document", "not a JSON object")
        return None
    return value


def mapping(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one (a missing or odd field reads as no fields)."""
    return value if isinstance(value, dict) else {}


def check_skipped_line(raw: bytes, offset: int, ctx: FileContext) -> None:
    """Count a line the prefilter skipped if it is visibly not a whole JSON object."""
    stripped = raw.strip()
    if stripped and not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        ctx.stats.bad(f"byte {offset}", "truncated or not a JSON object")


def count(value: Any) -> int:
    """A token count from JSON: null, strings, floats and negatives become a sane int >= 0."""
    if value is None or isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if value > 0 else 0
    if isinstance(value, float):
        return int(value) if value > 0 and value == value and value != float("inf") else 0
    if isinstance(value, str):
        try:
            return max(int(value), 0)
        except ValueError:
            return 0
    return 0


MAX_TOKENS_PER_REQUEST = 100_000_000
"""Above this a single request's count is absurd (corrupt data), so the line is skipped."""


def parse_ts(value: Any) -> datetime | None:
    """Parse an ISO-8601 timestamp (or epoch ms) into a naive UTC datetime."""
    try:
        if isinstance(value, str):
            if value.endswith("Z") and value[10:11] in ("T", " "):
                # the common case, UTC with a time: the naive datetime is the answer as it
                # stands (a third of the cost of converting); an offset before the Z is invalid
                parsed = datetime.fromisoformat(value[:-1])
                return parsed if parsed.tzinfo is None else None
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is not None:
                parsed = parsed.astimezone(UTC).replace(tzinfo=None)
            return parsed
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def project_name(cwd: str | None) -> str | None:
    """Display name of a project: the last component of its working directory."""
    if not cwd:
        return None
    name = cwd.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1]
    return name or cwd


def repository(url: str | None) -> str | None:
    """A git remote as `host/owner/repo`: no scheme, no user or token, no `.git`, and the
    `host:path` of scp-style addresses as `host/path`. None for anything else."""
    if not url:
        return None
    rest = url.strip()
    if "://" in rest:
        rest = rest.split("://", 1)[1]
        host, _, path = rest.partition("/")
    else:
        host, _, path = rest.partition(":")
    host = host.rsplit("@", 1)[-1].lower()
    path = path.strip("/").removesuffix(".git").strip("/")
    if not host or not path:
        return None
    return f"{host}/{path}"


PROVIDER_HOSTS = {
    "openrouter.ai": "openrouter",
    "api.openai.com": "openai",
    "api.anthropic.com": "anthropic",
    "generativelanguage.googleapis.com": "google",
    "api.deepseek.com": "deepseek",
    "api.moonshot.ai": "moonshotai",
    "api.moonshot.cn": "moonshotai",
}
"""Endpoints whose provider genai-prices prices, for harnesses that record a base URL only."""


def provider_of_url(base_url: str | None) -> str | None:
    """The provider an API base URL belongs to, if it is one of `PROVIDER_HOSTS` (or below it)."""
    host = (base_url or "").split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
    for known, provider in PROVIDER_HOSTS.items():
        if host == known or host.endswith("." + known):
            return provider
    return None


def text(value: Any) -> str | None:
    """A non-empty string field, or None."""
    return value if isinstance(value, str) and value else None
