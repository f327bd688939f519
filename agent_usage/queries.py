"""The read API over the store: filters pushed into SQL, typed rows out.

Renderers, the TUI and the exporters call these functions; nothing here imports rich or
textual. Cost is computed in SQL from the `prices` table (see `cost_sql`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from agent_usage.cost_sql import PRICE_JOIN_SQL, cost_for_mode
from agent_usage.errors import UsageError
from agent_usage.periods import UTC_ZONE, offset_segments

FOLDER_SQL = "coalesce(e.cwd, e.project, '(unknown)')"
"""An event's project folder (the working directory the harness recorded); without one, the
name the harness gave the project. `project_sql` builds the project's identity on it."""


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


FOLDER_REMOTE_SQL = (
    "(SELECT max(r.git_remote) FROM events r WHERE r.cwd = e.cwd AND r.git_remote IS NOT NULL)"
)
"""The repository a folder's sessions recorded (Codex does), so a Claude session in the same
folder, which records none, belongs to the same project."""


def project_sql(filters: Filters | None = None) -> str:
    """A project's identity in SQL: the name `[projects]` gives its folder, else the git
    remote recorded in its folder, else the folder (with `instances`: always the folder), so
    `/work/a/api` and `/work/b/api` are two projects unless one repository or one name joins
    them. Reports show each by its shortest unique suffix (`project_labels`)."""
    if filters is not None and filters.instances:
        return FOLDER_SQL
    identity = f"coalesce({FOLDER_REMOTE_SQL}, e.git_remote, {FOLDER_SQL})"
    aliases = filters.project_aliases if filters is not None else ()
    if not aliases:
        return identity
    cases = " ".join(f"WHEN {_quoted(folder)} THEN {_quoted(name)}" for folder, name in aliases)
    return f"(CASE e.cwd {cases} ELSE {identity} END)"


@dataclass(frozen=True, slots=True)
class Filters:
    """Which events a query covers; times are naive UTC, `tz` and `week_start` decide calendars."""

    since: datetime | None = None
    until: datetime | None = None
    harnesses: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    tz: ZoneInfo = UTC_ZONE
    mode: str = "auto"
    week_start: int = 0  # 0 = monday ... 6 = sunday
    session_ids: tuple[str, ...] = ()
    project_aliases: tuple[tuple[str, str], ...] = ()
    """(folder, project name) pairs from `[projects]`, the globs already matched to folders."""
    instances: bool = False
    """Every folder on its own, by its full path: `[projects]` names none (`--instances`)."""

    def where(self) -> tuple[str, list[Any]]:
        """SQL conditions on `e` and their parameters."""
        clauses: list[str] = ["TRUE"]
        params: list[Any] = []
        if self.since is not None:
            clauses.append("e.ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("e.ts < ?")
            params.append(self.until)
        for column, values in (
            ("e.harness", self.harnesses),
            (project_sql(self), self.projects),
            ("e.model", self.models),
            ("e.session_id", self.session_ids),
        ):
            if values:
                clauses.append(f"{column} IN (SELECT unnest(?))")
                params.append(list(values))
        return " AND ".join(clauses), params


def local_ts_sql(con: duckdb.DuckDBPyConnection, tz: ZoneInfo) -> str:
    """SQL for `e.ts` as wall-clock time in `tz`: UTC plus the offset in force at that instant.

    The offsets over the store's span come from zoneinfo, so DST changes are exact, and the
    shift is a CASE over a few constants (far cheaper per row than ICU conversion).
    """
    first, last = con.execute("SELECT min(ts), max(ts) FROM events").fetchone() or (None, None)
    if first is None or last is None:
        return "e.ts"
    segments = offset_segments(tz, first, last)
    if len(segments) == 1:
        return f"(e.ts + INTERVAL ({segments[0][1]}) SECOND)"
    cases = " ".join(
        f"WHEN e.ts < TIMESTAMP '{until.isoformat(sep=' ')}' THEN INTERVAL ({offset}) SECOND"
        for (_, offset), (until, _) in zip(segments, segments[1:], strict=False)
    )
    return f"(e.ts + CASE {cases} ELSE INTERVAL ({segments[-1][1]}) SECOND END)"


def group_key(con: duckdb.DuckDBPyConnection, group: str | None, filters: Filters) -> str:
    """The SQL expression that names an event's group."""
    if group is None:
        return "'total'"
    calendar = {"day": "'%Y-%m-%d'", "month": "'%Y-%m'", "hour": "'%Y-%m-%d %H:00'"}
    if group in calendar:
        return f"strftime({local_ts_sql(con, filters.tz)}, {calendar[group]})"
    if group == "week":
        shift = f"INTERVAL {int(filters.week_start)} DAY"
        local = local_ts_sql(con, filters.tz)
        return f"strftime(date_trunc('week', {local} - {shift}) + {shift}, '%Y-%m-%d')"
    columns = {
        "session": "e.session_id",
        "project": project_sql(filters),
        "model": "e.model",
        "harness": "e.harness",
        "provider": "coalesce(e.provider, 'unknown')",
    }
    if group not in columns:
        raise ValueError(f"unknown grouping {group!r}")
    return columns[group]


@dataclass(slots=True)
class UsageRow:
    """Token and cost totals of one group (a day, a model, a session, ... or everything)."""

    key: str
    events: int = 0
    sessions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost_usd: float | None = None
    unpriced_events: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    harnesses: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    model: str | None = None  # set on per-model breakdown rows

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


_AGGREGATES = """
    count(*), count(DISTINCT session_id),
    sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
    sum(cache_write_5m_tokens + cache_write_1h_tokens), sum(reasoning_tokens),
    sum(cost), count(*) FILTER (WHERE cost IS NULL),
    list(DISTINCT model ORDER BY model) FILTER (WHERE cost IS NULL),
    list(DISTINCT model ORDER BY model), list(DISTINCT harness ORDER BY harness),
    list(DISTINCT coalesce(project, '(unknown)') ORDER BY coalesce(project, '(unknown)')),
    min(ts), max(ts)
"""


def _row(key: Any, values: tuple[Any, ...], model: str | None = None) -> UsageRow:
    return UsageRow(
        key=str(key),
        events=values[0],
        sessions=values[1],
        input_tokens=int(values[2]),
        output_tokens=int(values[3]),
        cache_read_tokens=int(values[4]),
        cache_write_tokens=int(values[5]),
        reasoning_tokens=int(values[6]),
        cost_usd=float(values[7]) if values[7] is not None else None,
        unpriced_events=values[8],
        unpriced_models=list(values[9] or []),
        models=list(values[10] or []),
        harnesses=list(values[11] or []),
        projects=list(values[12] or []),
        first_ts=values[13],
        last_ts=values[14],
        model=model,
    )


def _priced(filters: Filters, key_sql: str, with_project: bool = False) -> str:
    """The events the filters select, with their group key, cost and (`with_project`) project."""
    where, _ = filters.where()
    project = f"{project_sql(filters)} AS project_key," if with_project else ""
    return f"""
        WITH priced AS (
            SELECT {key_sql} AS k, e.*, {project}
                   {cost_for_mode(filters.mode)} AS cost
            FROM events e {PRICE_JOIN_SQL}
            WHERE {where})"""


def _aggregate(con: duckdb.DuckDBPyConnection, group: str | None, filters: Filters) -> list[UsageRow]:
    """One row per group key (a single 'total' row when `group` is None), ordered by key;
    projects by their labels."""
    _, params = filters.where()
    key_sql = group_key(con, group, filters)
    sql = f"{_priced(filters, key_sql)} SELECT k, {_AGGREGATES} FROM priced GROUP BY k ORDER BY k"
    rows = [_row(r[0], r[1:]) for r in con.execute(sql, params).fetchall()]
    if group == "project":
        labels = project_labels(con, filters)
        for row in rows:
            row.key = labels.get(row.key, row.key)
        rows.sort(key=lambda row: row.key)
    return rows


def project_labels(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> dict[str, str]:
    """Each project's shortest unique path suffix among the store's projects: `api`, or
    `a/api` and `b/api` when two folders are called `api`; a `[projects]` name as it is; with
    `instances`, each folder whole."""
    sql = f"SELECT DISTINCT {project_sql(filters)} FROM events e"
    projects = [row[0] for row in con.execute(sql).fetchall()]
    if filters is not None and filters.instances:
        return {project: project for project in projects}
    return shortest_suffixes(projects)


def shortest_suffixes(paths: list[str]) -> dict[str, str]:
    """The fewest trailing path parts that tell each path from every other one."""
    parts = {path: [part for part in path.split("/") if part] or [path] for path in paths}
    labels: dict[str, str] = {}
    for path, own in parts.items():
        for count in range(1, len(own) + 1):
            suffix = own[-count:]
            if all(other[-count:] != suffix for other_path, other in parts.items() if other_path != path):
                break
        labels[path] = "/".join(suffix) if "/" in path else path
    return labels


def usage_report(
    con: duckdb.DuckDBPyConnection, group: str, filters: Filters
) -> tuple[list[UsageRow], UsageRow]:
    """Totals per group, ordered by key, and the grand total.

    Two plain aggregations: measured faster than one GROUPING SETS query, because DuckDB
    computes the DISTINCT aggregates once per grouping set either way.
    """
    return _aggregate(con, group, filters), totals(con, filters)


def usage_rows(con: duckdb.DuckDBPyConnection, group: str | None, filters: Filters) -> list[UsageRow]:
    """Totals per group (or one row for everything when `group` is None), ordered by key."""
    return _aggregate(con, group, filters)


BREAKDOWNS = ("model", "harness", "project")


def breakdown(
    con: duckdb.DuckDBPyConnection, group: str, filters: Filters, by: str = "model"
) -> dict[str, list[UsageRow]]:
    """Per group key, one row per model, harness or project (most expensive first), for
    `--breakdown`; each row's `model` holds that name."""
    if by not in BREAKDOWNS:
        raise UsageError(f"--breakdown: choose one of {', '.join(BREAKDOWNS)}")
    _, params = filters.where()
    name = "project_key" if by == "project" else by
    sql = f"""{_priced(filters, group_key(con, group, filters), with_project=by == "project")}
        SELECT k, {name}, {_AGGREGATES} FROM priced GROUP BY k, {name}
        ORDER BY k, sum(cost) DESC NULLS LAST, {name}"""
    labels = project_labels(con, filters) if "project" in (by, group) else {}
    breakdown: dict[str, list[UsageRow]] = {}
    for r in con.execute(sql, params).fetchall():
        name = labels.get(r[1], r[1]) if by == "project" else r[1]
        key = labels.get(r[0], r[0]) if group == "project" else r[0]
        breakdown.setdefault(str(key), []).append(_row(name, r[2:], model=name))
    return breakdown


def totals(con: duckdb.DuckDBPyConnection, filters: Filters) -> UsageRow:
    """One row with the totals of everything the filters select."""
    rows = _aggregate(con, None, filters)
    return rows[0] if rows else UsageRow(key="total")


@dataclass(slots=True)
class Turn:
    """One usage event of a session, for the turn-by-turn detail."""

    ts: datetime
    harness: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    reasoning_tokens: int
    cost_usd: float | None
    agent_id: str | None
    source_path: str

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(slots=True)
class SessionInfo:
    """Where a session ran and where its usage came from."""

    session_id: str
    harness: str
    project: str | None
    cwd: str | None
    git_branch: str | None
    parent_session_id: str | None
    source_paths: list[str]


def resolve_session(con: duckdb.DuckDBPyConnection, text: str) -> str:
    """The full session id for an id or a unique prefix of one."""
    matches = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT session_id FROM events WHERE starts_with(session_id, ?) ORDER BY 1 LIMIT 6",
            [text],
        ).fetchall()
    ]
    if text in matches:
        return text
    if not matches:
        raise UsageError(f"--id: no session matches {text!r}; `agent-usage report session` lists them")
    if len(matches) > 1:
        raise UsageError(f"--id: {text!r} matches several sessions ({', '.join(matches[:5])}); give more")
    return matches[0]


def session_info(con: duckdb.DuckDBPyConnection, session_id: str) -> SessionInfo:
    """The session's harness, project, folder, branch, parent and source files."""
    row = con.execute(
        """SELECT any_value(harness), any_value(project), arg_max(cwd, ts), arg_max(git_branch, ts),
                  any_value(parent_session_id), list(DISTINCT source_path ORDER BY source_path)
           FROM events WHERE session_id = ?""",
        [session_id],
    ).fetchone()
    assert row is not None
    return SessionInfo(session_id, row[0], row[1], row[2], row[3], row[4], list(row[5] or []))


def session_turns(con: duckdb.DuckDBPyConnection, session_id: str, filters: Filters) -> list[Turn]:
    """Every usage event of one session in time order, with its cost under the filters' mode."""
    where, params = filters.where()
    rows = con.execute(
        f"""SELECT e.ts, e.harness, e.model, e.input_tokens, e.output_tokens,
                   e.cache_write_5m_tokens + e.cache_write_1h_tokens, e.cache_read_tokens,
                   e.reasoning_tokens, {cost_for_mode(filters.mode)}, e.agent_id, e.source_path
            FROM events e {PRICE_JOIN_SQL}
            WHERE e.session_id = ? AND {where} ORDER BY e.ts, e.event_key""",
        [session_id, *params],
    ).fetchall()
    return [Turn(*r) for r in rows]


def timeline(
    con: duckdb.DuckDBPyConnection, filters: Filters
) -> list[tuple[datetime, int, float | None, str]]:
    """(ts, total tokens, cost, model) per event in time order: the input of the 5-hour blocks."""
    where, params = filters.where()
    return con.execute(
        f"""SELECT e.ts,
                   e.input_tokens + e.output_tokens + e.cache_read_tokens
                     + e.cache_write_5m_tokens + e.cache_write_1h_tokens,
                   {cost_for_mode(filters.mode)}, e.model
            FROM events e {PRICE_JOIN_SQL} WHERE {where} ORDER BY e.ts""",
        params,
    ).fetchall()


def block_chain_start(con: duckdb.DuckDBPyConnection, filters: Filters, length: timedelta) -> datetime | None:
    """The latest event that follows a silence longer than `length` (or the first event): the
    blocks built from there on are the last ones a full timeline gives (`blocks.build_blocks`)."""
    where, params = filters.where()
    row = con.execute(
        f"""SELECT max(ts) FROM (
                SELECT e.ts, lag(e.ts) OVER (ORDER BY e.ts) AS previous FROM events e WHERE {where})
            WHERE previous IS NULL OR ts - previous > ?""",
        [*params, length],
    ).fetchone()
    return row[0] if row else None


def session_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Events per session id (used by doctor and tests)."""
    return dict(con.execute("SELECT session_id, count(*) FROM events GROUP BY 1").fetchall())


def unpriced_models(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Models with no known price, with their event counts, most used first."""
    return con.execute(
        """SELECT e.model, count(*) FROM events e
           WHERE EXISTS (SELECT 1 FROM prices p WHERE p.model = e.model
                         AND p.provider IS NOT DISTINCT FROM e.provider AND p.input IS NULL)
           GROUP BY 1 ORDER BY 2 DESC, 1"""
    ).fetchall()


DISTINCT_COLUMNS = ("harness", "model")
"""Projects have `project_labels` instead: their names depend on one another."""


def distinct_values(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    """The distinct non-null values of one of `DISTINCT_COLUMNS`, sorted (the filter choices)."""
    if column not in DISTINCT_COLUMNS:
        raise ValueError(f"no distinct values of {column!r}")
    sql = f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL ORDER BY 1"
    return [row[0] for row in con.execute(sql).fetchall()]
