"""The user's config file (`config.toml` in the config dir), read and validated in one place.

Every value is checked on load, and a bad one is a one-line `ConfigError` that names the
file and the key, so a typo never silently disables a budget.

    [budgets]                       # USD per calendar period, in the local time zone
    daily = 20
    monthly = 400
    warn_at = 0.8                   # warning from this share of the limit (default 0.8)
    start_of_week = "monday"

    [budgets.harness.claude-code]   # also budgets.project.<name>, budgets.model.<id>
    monthly = 250

    [concentration]
    warn_share = 0.7                # warn when one provider holds this share of spend

    [projects]                      # name folders: rename one, or merge several into one
    api = ["/work/a/api", "/work/b/api"]
    site = "~/src/www-*"            # a folder or a glob
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_usage.errors import ConfigError

SECTIONS = ("budgets", "concentration", "projects")
PERIODS = ("daily", "weekly", "monthly")
SCOPES = ("harness", "project", "model")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Budget:
    """A spend limit in USD for one calendar period, over all usage or one harness/project/model."""

    period: str
    limit_usd: float
    scope: str = "all"
    value: str | None = None

    @property
    def name(self) -> str:
        return self.period if self.scope == "all" else f"{self.period} {self.scope} {self.value}"


@dataclass(frozen=True, slots=True)
class Settings:
    """What the config file says; defaults when there is no file."""

    budgets: tuple[Budget, ...] = ()
    warn_at: float = 0.8
    start_of_week: str = "monday"
    concentration_warn_share: float = 0.7
    projects: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(name, folders or globs) from [projects]: those folders are one project of that name."""
    path: Path | None = None


def _limit(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"{path}: {key} must be a positive number of USD, got {value!r}")
    return float(value)


def _periods(path: Path, prefix: str, table: dict[str, Any], scope: str, value: str | None) -> list[Budget]:
    budgets = []
    for key, limit in table.items():
        if key not in PERIODS:
            raise ConfigError(f"{path}: unknown key {prefix}{key}; expected one of {', '.join(PERIODS)}")
        budgets.append(Budget(key, _limit(path, f"{prefix}{key}", limit), scope, value))
    return budgets


def _budgets(path: Path, table: Any) -> tuple[tuple[Budget, ...], float, str]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [budgets] must be a table")
    budgets: list[Budget] = []
    warn_at = table.get("warn_at", 0.8)
    if isinstance(warn_at, bool) or not isinstance(warn_at, int | float) or not 0 < warn_at <= 1:
        raise ConfigError(f"{path}: budgets.warn_at must be a share between 0 and 1, got {warn_at!r}")
    start = table.get("start_of_week", "monday")
    if not isinstance(start, str) or start.lower() not in WEEKDAYS:
        raise ConfigError(f"{path}: budgets.start_of_week must be a weekday name, got {start!r}")
    overall = {k: v for k, v in table.items() if k not in ("warn_at", "start_of_week", *SCOPES)}
    budgets.extend(_periods(path, "budgets.", overall, "all", None))
    for scope in SCOPES:
        entries = table.get(scope, {})
        if not isinstance(entries, dict):
            raise ConfigError(f"{path}: budgets.{scope} must be a table of names")
        for name, periods in entries.items():
            if not isinstance(periods, dict):
                raise ConfigError(f"{path}: budgets.{scope}.{name} must be a table like {{ monthly = 100 }}")
            budgets.extend(_periods(path, f"budgets.{scope}.{name}.", periods, scope, name))
    return tuple(budgets), float(warn_at), start.lower()


def load(path: Path) -> Settings:
    """Read `path`; a missing file means defaults, an unreadable or invalid one a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from error
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"{path}: unknown section [{unknown[0]}]; known sections: {', '.join(SECTIONS)}")
    budgets, warn_at, start = _budgets(path, data.get("budgets", {}))
    return Settings(
        budgets=budgets,
        warn_at=warn_at,
        start_of_week=start,
        concentration_warn_share=_concentration(path, data.get("concentration", {})),
        projects=_projects(path, data.get("projects", {})),
        path=path,
    )


def _projects(path: Path, table: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [projects] must be a table of names")
    projects = []
    for name, folders in table.items():
        listed = [folders] if isinstance(folders, str) else folders
        if not isinstance(listed, list) or not listed or not all(isinstance(f, str) and f for f in listed):
            raise ConfigError(
                f"{path}: projects.{name} must be a folder or a list of folders, got {folders!r}"
            )
        projects.append((name, tuple(str(Path(folder).expanduser()) for folder in listed)))
    return tuple(projects)


def _concentration(path: Path, table: Any) -> float:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [concentration] must be a table")
    unknown = sorted(set(table) - {"warn_share"})
    if unknown:
        raise ConfigError(f"{path}: unknown key concentration.{unknown[0]}; expected warn_share")
    share = table.get("warn_share", 0.7)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise ConfigError(f"{path}: concentration.warn_share must be a share between 0 and 1, got {share!r}")
    return float(share)
