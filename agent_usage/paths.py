"""Where agent-usage keeps its files: config dir, data dir and the DuckDB store.

`AGENT_USAGE_HOME` relocates everything (tests use it); otherwise platformdirs decides.
Nothing here creates a directory: writers do that when they first write.
"""

from __future__ import annotations

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
