"""Tuning knobs read from the environment, checked when they are used.

Read at call time, not at import: a bad value (`AGENT_USAGE_BATCH=abc`) is then one
`ConfigError` naming the variable, instead of a traceback before the CLI could say anything.
"""

from __future__ import annotations

import math
import os
import re

from agent_usage.errors import ConfigError

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KIB|MIB|GIB)\s*$", re.IGNORECASE)


def _raw(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


def positive_float(name: str, default: float) -> float:
    """A positive, finite number of the variable `name`, or `default` when it is unset."""
    raw = _raw(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={raw!r}: expected a positive number")
    return value


def positive_int(name: str, default: int) -> int:
    """A whole number of at least 1 of the variable `name`, or `default` when it is unset."""
    raw = _raw(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r}: expected a whole number of at least 1")
    return int(raw)


def memory_size(name: str, default: str) -> str:
    """A DuckDB memory size such as `96MB` of the variable `name` (checked, so never SQL)."""
    raw = _raw(name)
    if raw is None:
        return default
    match = _MEMORY.match(raw)
    if match is None:
        raise ConfigError(f"{name}={raw!r}: expected a size such as 96MB or 1GB")
    return f"{match.group(1)}{match.group(2).upper()}"


def busy_timeout_s() -> float:
    """How long to wait for another process's lock on the store (`AGENT_USAGE_BUSY_TIMEOUT`)."""
    return positive_float("AGENT_USAGE_BUSY_TIMEOUT", 10.0)


def batch_events() -> int:
    """Events per write transaction (`AGENT_USAGE_BATCH`)."""
    return positive_int("AGENT_USAGE_BATCH", 10_000)


def ingest_memory_limit() -> str:
    """DuckDB's cache while merging (`AGENT_USAGE_INGEST_MEMORY`)."""
    return memory_size("AGENT_USAGE_INGEST_MEMORY", "96MB")


def workers() -> int | None:
    """Parser processes forced by `AGENT_USAGE_WORKERS`, or None to decide by size."""
    return None if _raw("AGENT_USAGE_WORKERS") is None else positive_int("AGENT_USAGE_WORKERS", 1)
