"""Typed errors and the exit codes they map to; the only place exit codes are defined."""

from __future__ import annotations

import os
import sys
from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the `agent-usage` CLI."""

    OK = 0
    ERROR = 1
    USAGE = 2
    DATABASE_BUSY = 3
    INTERRUPTED = 130


class AgentUsageError(Exception):
    """Base class for errors shown to the user as one line, with an optional hint."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(AgentUsageError):
    """A config or price-override file is unreadable or holds an invalid value."""

    exit_code = ExitCode.USAGE


class UsageError(AgentUsageError):
    """A command-line value that cannot be used (unknown zone, bad date, conflicting options)."""

    exit_code = ExitCode.USAGE


class StoreError(AgentUsageError):
    """The DuckDB store cannot be opened or written (permissions, corruption)."""


class ForeignFileError(StoreError):
    """The file named as the store is not one agent-usage made (not DuckDB, another program's
    database, a FIFO): it is left as it is, and neither migrated nor rebuilt over."""


class DamagedStoreError(StoreError):
    """A store DuckDB cannot read, or one missing a table: `agent-usage rebuild` re-creates it."""


class ExportError(AgentUsageError):
    """A one-shot export (`watch --once`) that the endpoint did not accept."""


class DatabaseBusyError(StoreError):
    """Another process held the store's write lock for longer than the bounded wait."""

    exit_code = ExitCode.DATABASE_BUSY


def exit_code_for(error: BaseException) -> ExitCode:
    """Map any exception to the exit code the CLI should return."""
    if isinstance(error, AgentUsageError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.ERROR


def exit_interrupted() -> None:
    """Say `interrupted` and end with `ExitCode.INTERRUPTED` at once.

    `os._exit`, not `sys.exit`: CPython marks a KeyboardInterrupt that passed through code it
    evaluated for an import, and then ends the process by SIGINT (-2) whatever was caught.
    """
    sys.stdout.flush()
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(ExitCode.INTERRUPTED)
