"""Where agent-usage keeps its files: config dir, data dir and the DuckDB store.

`AGENT_USAGE_HOME` relocates everything (tests use it); otherwise platformdirs decides.
Nothing here creates a directory on its own: writers call `private_dirs` when they first write.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "agent-usage"
DB_FILENAME = "usage.duckdb"


@dataclass(frozen=True, slots=True)
class AppPaths:
    """The resolved locations of the config dir, the data dir and the store file."""

    config_dir: Path
    data_dir: Path
    db_path: Path

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def prices_file(self) -> Path:
        return self.config_dir / "prices.toml"


def resolve_paths(db: Path | None = None, env: Mapping[str, str] | None = None) -> AppPaths:
    """Resolve the app's paths from `--db`, `AGENT_USAGE_HOME`/`AGENT_USAGE_DB` or platformdirs."""
    env = os.environ if env is None else env
    home = env.get("AGENT_USAGE_HOME")
    if home:
        base = Path(home).expanduser()
        config_dir, data_dir = base / "config", base / "data"
    else:
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        config_dir, data_dir = Path(dirs.user_config_dir), Path(dirs.user_data_dir)
    if db is None and env.get("AGENT_USAGE_DB"):
        db = Path(env["AGENT_USAGE_DB"])
    db_path = db.expanduser() if db is not None else data_dir / DB_FILENAME
    return AppPaths(config_dir=config_dir, data_dir=data_dir, db_path=db_path)


def private_dirs(folder: Path) -> None:
    """Create `folder` and any missing parent as 0700 (whatever the umask): the store and the
    machine id are the user's own. Folders that already exist are left as they are."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is cut by the umask, never widened: make it exact
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))


def write_atomically(target: Path, data: bytes) -> None:
    """Replace `target` with `data` in one step: a reader sees the old file or the new one,
    never half of one (a temp file beside it, then a rename)."""
    import contextlib
    import tempfile  # not at the top: the status line's cached answer never writes

    handle, name = tempfile.mkstemp(prefix=target.name + ".", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
