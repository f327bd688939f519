"""What a user types for a harness, project or model, turned into the names the store holds.

A harness has its full name and the short one people type (`claude`, `gemini`); an unknown
harness is an error that lists the valid ones. A project or model matches case-insensitively:
exactly, else as a glob (`claude-*`), else as a part of the name (`opus`); a project by its
label (`api`, `b/api`) or by its folder. A pattern that
matches nothing is said on stderr with the closest names, so a typo never reads as a period
without use.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import duckdb

from agent_usage.errors import UsageError
from agent_usage.queries import Filters, distinct_values, project_labels

HARNESS_ALIASES = {
    "claude": "claude-code",
    "gemini": "gemini-cli",
    "qwen": "qwen-code",
    "kimi": "kimi-cli",
    "copilot": "copilot-cli",
    "factory": "droid",
}
"""Short names people type, beside every harness's full name."""
GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Resolved:
    """The filters with the store's own names, and a note for each pattern that matched nothing."""

    filters: Filters
    notes: list[str]


def known_harnesses(stored: Iterable[str] = ()) -> list[str]:
    """Every harness name: the parsers', the import formats', and any the store holds."""
    from agent_usage.importers import FORMATS
    from agent_usage.parsers import PARSERS

    return sorted({*PARSERS, *(f.harness for f in FORMATS), *stored})


def harness_names(given: Sequence[str], stored: Iterable[str] = ()) -> tuple[str, ...]:
    """The full names of the harnesses given (aliases and any case); a UsageError for one
    that does not exist."""
    known = known_harnesses(stored)
    names: list[str] = []
    for text in given:
        name = HARNESS_ALIASES.get(text.lower(), text.lower())
        if name not in known:
            aliases = ", ".join(f"{alias} ({full})" for alias, full in HARNESS_ALIASES.items())
            raise UsageError(
                f"--harness: no harness {text!r}; choose from {', '.join(known)} (short: {aliases})"
            )
        names.append(name)
    return tuple(dict.fromkeys(names))


def matches(pattern: str, values: Sequence[str]) -> list[str]:
    """The values a pattern names: the one equal to it (any case), else those it matches as a
    glob (when it has `*`, `?` or `[`), else those that contain it (any case)."""
    lowered = pattern.lower()
    exact = [value for value in values if value.lower() == lowered]
    if exact:
        return exact
    if GLOB_CHARS & set(pattern):
        return [value for value in values if fnmatch.fnmatchcase(value.lower(), lowered)]
    return [value for value in values if lowered in value.lower()]


def match_projects(pattern: str, labels: dict[str, str]) -> list[str]:
    """The project folders a pattern names: by label (`api`, `b/api`) or by folder, exactly
    (any case), else as a glob, else as a part; for a project the label names, all its folder."""
    by_label = matches(pattern, list(labels.values()))
    if by_label:
        return [folder for folder, label in labels.items() if label in by_label]
    return matches(pattern, list(labels))


def closest(pattern: str, values: Sequence[str], count: int = 3) -> list[str]:
    """The names most like a pattern that matched nothing (for the hint)."""
    by_lower = {value.lower(): value for value in values}
    found = difflib.get_close_matches(pattern.lower(), list(by_lower), n=count, cutoff=0.5)
    return [by_lower[name] for name in found]


def project_aliases(
    con: duckdb.DuckDBPyConnection, projects: Sequence[tuple[str, Sequence[str]]]
) -> tuple[tuple[str, str], ...]:
    """(folder, name) for every folder in the store that a `[projects]` entry names, by its
    path or a glob; the first entry that names a folder wins."""
    if not projects:
        return ()
    folders = [
        row[0] for row in con.execute("SELECT DISTINCT cwd FROM events WHERE cwd IS NOT NULL").fetchall()
    ]
    pairs: dict[str, str] = {}
    for name, patterns in projects:
        for folder in folders:
            if folder not in pairs and any(fnmatch.fnmatchcase(folder, pattern) for pattern in patterns):
                pairs[folder] = name
    return tuple(sorted(pairs.items()))


def resolve(con: duckdb.DuckDBPyConnection, filters: Filters) -> Resolved:
    """`filters` with harness aliases, project and model patterns replaced by stored names."""
    notes: list[str] = []
    changes: dict[str, tuple[str, ...]] = {}
    if filters.harnesses:
        changes["harnesses"] = harness_names(filters.harnesses, distinct_values(con, "harness"))
    for option, field, column in (("--project", "projects", "project"), ("--model", "models", "model")):
        patterns: tuple[str, ...] = getattr(filters, field)
        if not patterns:
            continue
        labels = project_labels(con, filters) if column == "project" else {}
        values = list(labels.values()) if column == "project" else distinct_values(con, column)
        chosen: list[str] = []
        for pattern in patterns:
            found = match_projects(pattern, labels) if column == "project" else matches(pattern, values)
            if not found:
                near = closest(pattern, values)
                hint = f"; closest: {', '.join(near)}" if near else ""
                notes.append(f"{option} {pattern!r} matches no {column} in the store{hint}")
                found = [pattern]  # kept as given: the report shows nothing for it, as asked
            chosen.extend(found)
        changes[field] = tuple(dict.fromkeys(chosen))
    return Resolved(replace(filters, **changes) if changes else filters, notes)  # type: ignore[arg-type]
