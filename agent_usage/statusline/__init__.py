"""`agent-usage statusline`: one line for Claude Code's status bar, from the store.

The process entry point sends `statusline` here before the CLI loads (Typer, Rich and
DuckDB cost about half a second; a status line that answers from its cache needs none of
them). `agent-usage statusline --help` still goes through the CLI, which documents it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from agent_usage.statusline import cache, line
from agent_usage.statusline.facts import Facts, compute, transcript_stamp
from agent_usage.statusline.payload import Payload, read_payload


@dataclass(slots=True)
class Options:
    """`--format TEMPLATE`, `--json`, `--db PATH`, and `--refresh` (the detached refresher's)."""

    template: str = line.DEFAULT_FORMAT
    json_output: bool = False
    db: Path | None = None
    refresh: bool = False


def parse(argv: list[str]) -> Options:
    """The options (`agent_usage.cli.statusline` declares the same ones for `--help`); read by
    hand, since argparse's import is a tenth of a cached call. A ValueError names a bad one."""
    options = Options()
    words = iter(argv)
    for word in words:
        name, _, value = word.partition("=")
        if name in ("--format", "--db"):
            value = value or next(words, "")
            if not value:
                raise ValueError(f"{name} needs a value")
            if name == "--format":
                options.template = value
            else:
                options.db = Path(value)
        elif word == "--json":
            options.json_output = True
        elif word == "--refresh":
            options.refresh = True
        else:
            raise ValueError(f"unknown option {word}")
    return options


def main(argv: list[str]) -> int:
    """Run the status line: never a traceback, never an empty line (an empty line blanks the bar)."""
    try:
        try:
            args = parse(argv)
        except ValueError as error:
            print(f"agent-usage statusline: {error}")
            return 0
        line.check_format(args.template)
        if args.refresh:
            refresh(read_payload(), _db_path(args.db), only_one=True)
            return 0
        print(run(read_payload(), _db_path(args.db), args.template, args.json_output))
    except line.FormatError as error:
        print(f"agent-usage statusline: {error}")
    except Exception as error:  # noqa: BLE001 - a status bar shows one line, whatever failed
        print(f"agent-usage statusline: {type(error).__name__}: {error}")
    return 0


def _db_path(db: Path | None) -> Path:
    from agent_usage.paths import resolve_paths

    return resolve_paths(db).db_path


def run(payload: Payload, db_path: Path, template: str, json_output: bool) -> str:
    """The line (or JSON document) for this call, from the cache when it can."""
    now = _now()
    facts = current_facts(payload, db_path, now)
    if json_output:
        return json.dumps(line.document(facts, payload, now), separators=(",", ":"))
    colour = not os.environ.get("NO_COLOR")  # no-color.org: set and not empty
    text = line.render(template, line.segments(facts, payload, now, colour))
    return text or "agent-usage: no usage recorded yet"


def _now() -> float:
    """Seconds since the epoch; `AGENT_USAGE_NOW` pins it as everywhere (periods, loaded only
    then: its zone support is a tenth of a cached call)."""
    if not os.environ.get("AGENT_USAGE_NOW"):
        return time.time()
    from agent_usage import periods

    return periods.now_utc().replace(tzinfo=UTC).timestamp()


def current_facts(payload: Payload, db_path: Path, now: float) -> Facts:
    """Fresh cached facts as they are; stale ones at once, with a refresher started for the
    next call; none yet (a session's first call): worked out now."""
    cached = cache.load(db_path, payload.session_id)
    if cached is not None:
        fresh = now - cached.at < cache.FRESH_S
        if not (fresh and cached.stamp == transcript_stamp(payload.transcript_path)):
            cache.start_refresh(payload.raw, db_path)
        return cached
    facts = refresh(payload, db_path)
    assert facts is not None
    return facts


def refresh(payload: Payload, db_path: Path, only_one: bool = False) -> Facts | None:
    """Work the facts out from the store and cache them. The cache is written by one refresher
    at a time; with `only_one` (a detached refresher) nothing is done while another works."""
    with cache.refresh_lock(db_path) as mine:
        if only_one and not mine:
            return None
        facts = _compute(payload, db_path)
        if mine:
            cache.save(db_path, payload.session_id, facts)
    return facts


def _compute(payload: Payload, db_path: Path) -> Facts:
    from agent_usage import periods
    from agent_usage.paths import resolve_paths

    paths = resolve_paths(db_path)
    now = periods.now_utc()
    return compute(
        payload.session_id,
        payload.transcript_path,
        db_path,
        paths.prices_file,
        paths.config_file,
        os.environ,
        now,
    )


__all__ = ["main", "parse", "run"]
