"""The `agent-usage` command line: thin commands over ingest, queries and render.

Data goes to stdout, progress and warnings to stderr. Errors are one line on stderr and
an exit code from `errors.ExitCode`; textual and opentelemetry are never imported here.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.main

from agent_usage import errors
from agent_usage.paths import AppPaths, resolve_paths

if TYPE_CHECKING:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from duckdb import DuckDBPyConnection
    from rich.console import Console

    from agent_usage.budgets import BudgetStatus
    from agent_usage.export_loop import ExportLoop
    from agent_usage.ingest import IngestSummary
    from agent_usage.queries import Filters
    from agent_usage.reports import BlockOptions, Report
    from agent_usage.scope import Scope
    from agent_usage.settings import Settings

app = typer.Typer(
    name="agent-usage",
    help="Usage and spend of your coding agents: Claude Code, Codex, Gemini, OpenCode, Copilot, pi...",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


@dataclass(frozen=True, slots=True)
class Terminal:
    """Where a command's output goes, when that is not this process's own streams: a keeper
    answering a forwarded command prints for its client's terminal."""

    stdout_tty: bool
    columns: int | None
    """The terminal's width when stdout is one (COLUMNS in `env` still wins)."""
    env: Mapping[str, str]
    """The client's environment: NO_COLOR, FORCE_COLOR, TERM, COLUMNS decide colour and width."""


def make_consoles(color: bool | None = None, terminal: Terminal | None = None) -> tuple[Console, Console]:
    """The data console (stdout) and the progress and error console (stderr).

    Markup is off: every string printed is data (a project named [wip], a path); styles come
    as Text. Piped output without COLUMNS is 120 wide. `color` True colours a pipe too, False
    never colours; None leaves it to the terminal and NO_COLOR. `terminal` describes another
    process's output (else this process's streams and environment decide).
    """
    from rich.console import Console

    env = os.environ if terminal is None else terminal.env
    tty = sys.stdout.isatty() if terminal is None else terminal.stdout_tty
    width = None if tty or env.get("COLUMNS") else 120
    look: dict[str, Any] = {} if color is None else {"force_terminal": True} if color else {"no_color": True}
    errors_look: dict[str, Any] = {}
    if terminal is not None:  # the client's terminal: nothing of this process's may decide
        width = terminal.columns if tty and not env.get("COLUMNS") else width
        look = {"force_terminal": tty, **look, "_environ": env}
        errors_look = {"force_terminal": False, "_environ": env}
    return Console(soft_wrap=False, markup=False, width=width, **look), Console(
        stderr=True, soft_wrap=True, markup=False, **errors_look
    )


_terminal: Terminal | None = None
"""The terminal of the command being run, when it is not this process's (see `run_arguments`)."""
_consoles: tuple[Console, Console] | None = None
"""Made on first use: `report --json` and `--csv` never import rich.console (40 ms)."""


def stdout_console() -> Console:
    """The data console (stdout)."""
    global _consoles
    _consoles = _consoles or make_consoles(terminal=_terminal)
    return _consoles[0]


def stderr_console() -> Console:
    """The progress, warning and error console (stderr)."""
    global _consoles
    _consoles = _consoles or make_consoles(terminal=_terminal)
    return _consoles[1]


MAX_WARNINGS = 20
"""Ingest warnings printed in full; the rest are counted."""
DbOption = Annotated[
    Path | None, typer.Option("--db", metavar="PATH", help="Store file (default: the user data dir).")
]
# the period and scope options, declared once for every command that takes them
SinceOption = Annotated[
    str | None,
    typer.Option(
        metavar="WHEN", help="From this date or datetime (in --tz), or today, yesterday, monday, 7d."
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(metavar="WHEN", help="Up to this date (the whole day) or datetime, or yesterday…"),
]
LastOption = Annotated[
    str | None,
    typer.Option(
        metavar="N<d|w|m|y>", help="The N latest calendar days, weeks, months or years, this one so far."
    ),
]
TzOption = Annotated[
    str | None,
    typer.Option(metavar="ZONE", help="IANA time zone of the calendar periods, or local (the default)."),
]
StartOfWeekOption = Annotated[
    str, typer.Option(metavar="DAY", help="First day of a week (weekly views, week budgets).")
]
HarnessOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME",
        help="Only this harness: claude-code (claude), gemini-cli (gemini), codex, pi… (repeatable).",
    ),
]
ProjectOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME", help="Only this project: a name, a glob or a part of one, any case (repeatable)."
    ),
]
ModelOption = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME",
        help="Only this model: a name, a glob (claude-*) or a part (opus), any case (repeatable).",
    ),
]
NoIngestOption = Annotated[bool, typer.Option("--no-ingest", metavar="", help="Use the store as it is.")]
JsonOption = Annotated[bool, typer.Option("--json", metavar="", help="One JSON document on stdout.")]


def _note(text: str) -> None:
    """One line of progress or warning on stderr, printed as it is (the console reads no
    markup; no highlighting of numbers and paths either)."""
    stderr_console().print(text, highlight=False)


def _run_ingest(
    paths: AppPaths, env: dict[str, str] | None = None, quiet: bool = False, since: datetime | None = None
) -> IngestSummary:
    """Ingest into `paths.db_path` from the roots in `env`, with a progress bar on a terminal;
    with `since`, only the files a period starting then can need."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from agent_usage.ingest import ingest

    show = stderr_console().is_terminal and not quiet
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=True,
        disable=not show,
    ) as progress:
        task = progress.add_task("ingest", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return ingest(paths.db_path, env=env, progress=advance, prices_file=paths.prices_file, since=since)


def _print_summary(summary: IngestSummary) -> None:
    from agent_usage.render.format import count

    stderr_console().print(
        f"{count(summary.files_read, 'file')} read ({summary.files_unchanged} unchanged of"
        f" {summary.files_found}), {count(summary.events_new, 'new event')},"
        f" {count(summary.duplicates, 'duplicate')} skipped,"
        f" {count(summary.bad_lines, 'bad line')} skipped in {summary.seconds:.2f} s",
        highlight=False,
    )
    for problem in summary.problems[:MAX_WARNINGS]:
        stderr_console().print(f"warning: {problem}", highlight=False, markup=False)
    more = len(summary.problems) - MAX_WARNINGS
    if more > 0:
        from agent_usage.render.format import count

        _note(f"warning: {count(more, 'more warning')} not shown")


def _print_version(asked: bool) -> None:
    if asked:
        from agent_usage import __version__

        sys.stdout.write(f"agent-usage {__version__}\n")
        raise typer.Exit()


@app.callback()
def default(
    ctx: typer.Context,
    db: DbOption = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            metavar="",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
) -> None:
    """With no command: the TUI on a terminal, else this help."""
    if ctx.invoked_subcommand is not None:
        return
    if sys.stdin.isatty() and sys.stdout.isatty():
        tui(db=db, tz=None, no_watch=False, no_ingest=False)
        return
    stdout_console().print(ctx.get_help(), markup=False, highlight=False)
    raise typer.Exit(errors.ExitCode.USAGE)


@app.command()
def tui(
    db: DbOption = None,
    tz: Annotated[
        str | None, typer.Option(metavar="ZONE", help="IANA time zone, or local (the default).")
    ] = None,
    no_watch: Annotated[
        bool, typer.Option("--no-watch", metavar="", help="Do not follow new usage live.")
    ] = False,
    no_ingest: Annotated[
        bool,
        typer.Option("--no-ingest", metavar="", help="Show the store as it is (no reading, no watching)."),
    ] = False,
) -> None:
    """The interactive dashboard (also what `agent-usage` alone opens on a terminal)."""
    from agent_usage import periods

    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise errors.UsageError(
            "the dashboard needs a terminal (stdin and stdout); for scripts use `agent-usage report`"
        )
    from agent_usage.tui.app import AgentUsageApp

    zone = periods.resolve_zone(tz)
    AgentUsageApp(
        resolve_paths(db).db_path, tz=zone, live=not (no_watch or no_ingest), ingest_on_start=not no_ingest
    ).run()


@app.command()
def ingest(
    db: DbOption = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="No progress bar and no summary.")
    ] = False,
) -> None:
    """Read new usage from the agents' session files into the store."""
    from agent_usage import keeper

    paths = resolve_paths(db)
    caught_up = keeper.catch_up(paths.db_path)
    if caught_up is not None and not quiet:
        from agent_usage.render.format import count

        _note(
            f"{count(caught_up.files_read, 'changed file')} read, {count(caught_up.events_new, 'new event')}"
            f" (`agent-usage watch`, process {os.getpid()}, keeps the store current)"
        )
    elif caught_up is None:
        summary = _run_ingest(paths, quiet=quiet)
        if not quiet:
            _print_summary(summary)
    _warn_unpriced(paths)


def _ingest_unless(no_ingest: bool, paths: AppPaths, since: datetime | None = None) -> IngestSummary | None:
    """Bring the store up to date before a read, quietly, unless `--no-ingest` was given.

    `since` (naive UTC) is the earliest instant the command shows: files last written before
    it are left for a later ingest (None: read everything). While a live `watch` or TUI keeps
    the store current (its heartbeat says so), nothing is walked at all."""
    if no_ingest:
        from agent_usage.pricing import load_overrides

        load_overrides(paths.prices_file)  # a broken prices.toml is the same error as on an ingest
        return None
    from agent_usage import heartbeat, keeper
    from agent_usage.ingest_plan import IngestSummary

    if keeper.catch_up(paths.db_path) is not None:  # answered by the keeper, now current
        return IngestSummary()
    if heartbeat.live_keeper(paths.db_path, os.environ) is not None:
        return IngestSummary()  # the keeper has read every file and follows every change
    return _run_ingest(paths, quiet=True, since=since)


@contextmanager
def _read_store(
    no_ingest: bool, paths: AppPaths, since: datetime | None = None
) -> Iterator[tuple[DuckDBPyConnection, IngestSummary | None]]:
    """The store brought up to date (`_ingest_unless`) and opened read-only, with the ingest's
    summary. Without an ingest it is still priced with today's prices.toml and genai-prices
    data: checked on the same connection, so the common case opens the store once."""
    from agent_usage import pricing, store
    from agent_usage.store.meta import get_meta

    summary = _ingest_unless(no_ingest, paths, since)
    with store.connect(paths.db_path, read_only=True) as con:
        if summary is not None or get_meta(con, "prices_version") == pricing.prices_version(
            paths.prices_file
        ):
            yield con, summary
            return
    with store.connect(paths.db_path) as con:  # the prices changed since the store was priced
        pricing.refresh(con, paths.prices_file)
    with store.connect(paths.db_path, read_only=True) as con:
        yield con, summary


def _first_needed(since: datetime | None, config: Settings, now: datetime, zone: ZoneInfo) -> datetime | None:
    """The earliest instant a command shows: its period's start, or a budget period's."""
    if since is None or not config.budgets:
        return since
    from agent_usage.budgets import earliest_start

    return min(since, earliest_start(config, now, zone) or since)


def _warn_unpriced(paths: AppPaths) -> None:
    from agent_usage import store
    from agent_usage.queries import unpriced_models

    with store.connect(paths.db_path, read_only=True) as con:
        rows = unpriced_models(con)
    if rows:
        from agent_usage.render.format import count

        listed = ", ".join(f"{model} ({count(n, 'event')})" for model, n in rows)
        stderr_console().print(
            f"unpriced models: {listed}; add rates in {paths.prices_file}",
            highlight=False,
            markup=False,
        )


ViewArgument = Annotated[
    str,
    typer.Argument(
        metavar="VIEW", help="daily, weekly, monthly, hourly, session, project, model, harness or blocks"
    ),
]


@app.command()
def report(
    view: ViewArgument = "daily",
    db: DbOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    today: Annotated[bool, typer.Option("--today", metavar="", help="Only today (in --tz).")] = False,
    tz: TzOption = None,
    start_of_week: StartOfWeekOption = "monday",
    harness: HarnessOption = None,
    project: ProjectOption = None,
    model: ModelOption = None,
    mode: Annotated[
        str, typer.Option(metavar="MODE", help="Cost mode: auto, calculate or display.")
    ] = "auto",
    breakdown: Annotated[
        bool,
        typer.Option(
            "--breakdown",
            metavar="[model|harness|project]",
            help="Per-model (or harness, project) rows under each row.",
        ),
    ] = False,
    breakdown_by: Annotated[
        str | None, typer.Option("--breakdown-by", hidden=True, help="What `--breakdown VALUE` is read as.")
    ] = None,
    session_id: Annotated[
        str | None,
        typer.Option("--id", metavar="ID", help="With `session`: one session's turns (id or prefix)."),
    ] = None,
    active: Annotated[
        bool, typer.Option("--active", metavar="", help="With `blocks`: the running block alone.")
    ] = False,
    token_limit: Annotated[
        str | None,
        typer.Option(
            metavar="N|max", help="With `blocks`: tokens a block may use; max = the most an ended one used."
        ),
    ] = None,
    session_length: Annotated[
        float, typer.Option(metavar="HOURS", help="With `blocks`: the length of a block.")
    ] = 5.0,
    sort: Annotated[
        str | None, typer.Option(metavar="cost|tokens|name", help="Sort the rows by cost, tokens or name.")
    ] = None,
    order: Annotated[
        str | None,
        typer.Option(
            metavar="asc|desc", help="Row order (default: names and dates up, cost and tokens down)."
        ),
    ] = None,
    instances: Annotated[
        bool,
        typer.Option("--instances", metavar="", help="Each project folder on its own, by its full path."),
    ] = False,
    no_cost: Annotated[
        bool, typer.Option("--no-cost", metavar="", help="No cost column in the table.")
    ] = False,
    compact: Annotated[
        bool, typer.Option("--compact", metavar="", help="The narrow table at any width (short numbers).")
    ] = False,
    no_budgets: Annotated[
        bool, typer.Option("--no-budgets", metavar="", help="No budget table under the report.")
    ] = False,
    color: Annotated[
        bool | None,
        typer.Option(
            "--color/--no-color", metavar="", help="Colour even when piped, or never (else NO_COLOR decides)."
        ),
    ] = None,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", metavar="", help="CSV on stdout.")] = False,
    no_ingest: NoIngestOption = False,
) -> None:
    """Usage and cost per day, week, month, hour, session, project, model, harness or 5-hour block.

    \b
    Views:
      daily, weekly, monthly, hourly  one row per calendar period in --tz (the current one "so far")
      session                         one row per session, by last activity; --id ID: its turns
      project, model, harness         one row per name
      blocks                          Claude Code's 5-hour blocks: a block starts at its first
                                      request (floored to the hour) and lasts 5 hours; the running
                                      one has a burn rate and a projection to its end. --active
                                      shows it alone, --token-limit N|max adds the limit's shares,
                                      --session-length changes the 5 hours.
    """
    from agent_usage import periods
    from agent_usage.reports import build, sort_rows

    _check_report_options(view, session_id, json_output, csv_output)
    _use_color(color)
    block_options = _block_options(view, active, token_limit, session_length)
    zone, now = periods.resolve_zone(tz), periods.now_utc()
    filters = _scope(since, until, last, today, harness, project, model, mode, start_of_week).filters(
        zone, now
    )
    paths = resolve_paths(db)
    config = _settings(paths)
    since_needed = None if session_id else _first_needed(filters.since, config, now, zone)
    with _read_store(no_ingest, paths, since_needed) as (con, summary):
        filters = _store_names(con, replace(filters, instances=instances), config)
        result = build(con, view, filters, now, breakdown_by or breakdown, session_id, block_options)
        current = filters.until is None or filters.until > now  # budgets are about now, not history
        statuses = _budget_statuses(con, config, now, zone) if current and not no_budgets else []
    sort_rows(result, sort, order)
    if summary is not None:
        result.unread_files, result.complete_from = summary.files_unread, summary.complete_from
    form = "json" if json_output else "csv" if csv_output else "table"
    _print_report(result, statuses, form, compact, show_cost=not no_cost)


def _check_report_options(view: str, session_id: str | None, json_output: bool, csv_output: bool) -> None:
    """Refuse combinations of report options that cannot mean anything."""
    from agent_usage.reports import VIEWS

    if view not in VIEWS:
        raise errors.UsageError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    if session_id is not None and view != "session":
        raise errors.UsageError("--id works with the `session` view: agent-usage report session --id ID")
    if json_output and csv_output:
        raise errors.UsageError("use only one of --json and --csv")


def _block_options(view: str, active: bool, token_limit: str | None, session_length: float) -> BlockOptions:
    """The `blocks` options, checked: they mean nothing for another view."""
    from datetime import timedelta

    from agent_usage.reports import BlockOptions

    if view != "blocks" and (active or token_limit is not None or session_length != 5.0):
        raise errors.UsageError("--active, --token-limit and --session-length work with `report blocks`")
    if token_limit is not None and token_limit != "max" and not (token_limit.isdigit() and int(token_limit)):
        raise errors.UsageError(f"--token-limit: {token_limit!r} is not a positive number of tokens or max")
    if not 0 < session_length <= 24 * 7:
        raise errors.UsageError("--session-length: give the hours of a block, more than 0 and up to 168")
    return BlockOptions(timedelta(hours=session_length), active, token_limit)


def _use_color(color: bool | None) -> None:
    """--color / --no-color: colour on a pipe too, or never; without either NO_COLOR and the
    terminal decide."""
    global _consoles
    if color is not None:
        _consoles = make_consoles(color, _terminal)


def _print_report(
    result: Report, statuses: list[BudgetStatus], form: str, compact: bool = False, show_cost: bool = True
) -> None:
    """The report on stdout as `json`, `csv` or a `table` (with the budgets under it); a
    compact table is the narrow layout at any width."""
    if form != "table":
        import orjson

        from agent_usage.render.document import report_csv, report_document

        if form == "csv":
            sys.stdout.write(report_csv(result))
        else:
            sys.stdout.write(orjson.dumps(report_document(result, statuses)).decode() + "\n")
        return
    from agent_usage.render.tables import COMPACT_BELOW, budgets_table, render_report

    width = min(stdout_console().width, COMPACT_BELOW - 1) if compact else stdout_console().width
    stdout_console().print(render_report(result, width, show_cost))
    if statuses:
        stdout_console().print(budgets_table(statuses, result.filters.tz, stdout_console().width))
    if result.unread_files:
        from agent_usage.render.format import count, local_time

        _note(
            f"{count(result.unread_files, 'older session file')} not read:"
            " this period does not need them (the store is complete from"
            f" {local_time(result.complete_from, result.filters.tz)}; `agent-usage ingest` reads them)"
        )


def _scope(
    since: str | None,
    until: str | None,
    last: str | None,
    today: bool,
    harness: list[str] | None,
    project: list[str] | None,
    model: list[str] | None,
    mode: str = "auto",
    start_of_week: str = "monday",
) -> Scope:
    """The period and scope options as given; `Scope.filters` reads them (query side). An
    unknown harness is an error here, before any file is read."""
    from agent_usage.names import harness_names
    from agent_usage.scope import Scope

    harness_names(harness or ())
    return Scope(
        since, until, last, today, tuple(harness or ()), tuple(project or ()), tuple(model or ()),
        mode, start_of_week,
    )  # fmt: skip


def _store_names(con: DuckDBPyConnection, filters: Filters, config: Settings) -> Filters:
    """Harness aliases and project and model patterns as the store's names, with the folders
    `[projects]` names; a pattern that matches nothing is said on stderr with the closest names."""
    from agent_usage.names import project_aliases, resolve

    filters = replace(filters, project_aliases=project_aliases(con, config.projects))
    resolved = resolve(con, filters)
    for note in resolved.notes:
        _note(f"warning: {note}")
    return resolved.filters


def _settings(paths: AppPaths) -> Settings:
    from agent_usage import settings

    return settings.load(paths.config_file)


def _budget_statuses(
    con: DuckDBPyConnection, config: Settings, now: datetime, tz: ZoneInfo
) -> list[BudgetStatus]:
    if not config.budgets:
        return []
    from agent_usage.budgets import evaluate

    return evaluate(con, config, now, tz)


@app.command()
def statusline(
    template: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="TEMPLATE",
            help="Segments in your order: {model} {session} {today} {block} {left} {burn} {budget}"
            " {limits} {context} {problem}.",
        ),
    ] = None,
    json_output: JsonOption = False,
    db: DbOption = None,
) -> None:
    """One line for Claude Code's status bar: session, today, 5-hour block, burn rate, budget.

    Reads the JSON Claude Code passes on stdin: the model, this session's and today's cost,
    the running 5-hour block's cost and time left, the burn rate and the most used budget.

    Set it in ~/.claude/settings.json (docs/statusline.md has the snippet).
    """
    from agent_usage.statusline import main as run_statusline

    arguments = ["--json"] if json_output else []
    arguments += ["--format", template] if template is not None else []
    arguments += ["--db", str(db)] if db is not None else []
    run_statusline(arguments)


budget_app = typer.Typer(
    help="Spend limits from config.toml and where they stand (`budget check` for scripts).",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(budget_app, name="budget")


def _evaluate_budgets(
    db: Path | None, tz: str | None, no_ingest: bool
) -> tuple[list[BudgetStatus], datetime, ZoneInfo]:
    from agent_usage import periods

    paths = resolve_paths(db)
    config = _settings(paths)
    if not config.budgets:
        raise errors.ConfigError(
            f"{paths.config_file}: no budgets configured",
            hint="add e.g. [budgets] monthly = 300 (see `agent-usage budget --help` and docs/budgets.md)",
        )
    from agent_usage.budgets import earliest_start

    zone, now = periods.resolve_zone(tz), periods.now_utc()
    with _read_store(no_ingest, paths, earliest_start(config, now, zone)) as (con, _):
        return _budget_statuses(con, config, now, zone), now, zone


@budget_app.callback()
def budget(
    ctx: typer.Context,
    db: DbOption = None,
    tz: TzOption = None,
    json_output: JsonOption = False,
    no_ingest: NoIngestOption = False,
) -> None:
    """List every budget: spend in the current period, limit, share used and status."""
    if ctx.invoked_subcommand is not None:
        return
    statuses, now, zone = _evaluate_budgets(db, tz, no_ingest)
    if json_output:
        import orjson

        from agent_usage.render.document import budgets_document

        sys.stdout.write(orjson.dumps(budgets_document(statuses, now)).decode() + "\n")
        return
    from agent_usage.render.tables import budgets_table

    stdout_console().print(budgets_table(statuses, zone, stdout_console().width))


@budget_app.command("check")
def budget_check(
    db: DbOption = None,
    tz: TzOption = None,
    no_ingest: NoIngestOption = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", metavar="", help="Print nothing; only the exit code.")
    ] = False,
) -> None:
    """Exit 1 when any budget is exceeded (warnings print but exit 0): for scripts, statuslines, CI."""
    from agent_usage.render.format import count, money

    statuses, _, _ = _evaluate_budgets(db, tz, no_ingest)
    exceeded = [s for s in statuses if s.status == "exceeded"]
    if not quiet:
        for status in statuses:
            if status.status != "ok":
                stderr_console().print(
                    f"{status.status}: {status.budget.name} budget at {money(status.spend_usd)} of"
                    f" {money(status.budget.limit_usd)} ({status.share:.0%})",
                    highlight=False,
                )
        if all(status.status == "ok" for status in statuses):
            stderr_console().print(
                f"ok: {count(len(statuses), 'budget')} within limits",
                highlight=False,
            )
    if exceeded:
        raise typer.Exit(errors.ExitCode.ERROR)


prices_app = typer.Typer(
    help="Where prices come from: `prices show MODEL`, and `prices update` for newer genai-prices data.",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(prices_app, name="prices")


@prices_app.command("update")
def prices_update(
    url: Annotated[
        str | None,
        typer.Option(metavar="URL", help="Where to download from (default: genai-prices' own URL)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Download the current genai-prices data into the data dir and price the store with it.

    The only network call besides the exporter, and only when you run it. A failed download
    keeps the data in use.
    """
    from agent_usage import price_data, pricing, store

    paths = resolve_paths(db)
    saved = price_data.update(paths.data_dir, url)
    _note(f"saved genai-prices data ({saved.providers} providers) from {saved.url} to {saved.path}")
    if paths.db_path.exists():
        with store.connect(paths.db_path) as con:
            pricing.refresh(con, paths.prices_file)
        _note(f"{paths.db_path}: every model priced again with it")


@prices_app.command("show")
def prices_show(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="A model id, e.g. claude-sonnet-4-5.")],
    provider: Annotated[
        str | None, typer.Option(metavar="NAME", help="The provider (default: as the store records it).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Which rates price MODEL, from where (prices.toml, bundled or downloaded genai-prices)."""
    from agent_usage import price_data, pricing, store
    from agent_usage.render.prices import price_table, source_text

    paths = resolve_paths(db)
    overrides = pricing.load_overrides(paths.prices_file)
    providers: list[str | None] = [provider]
    if provider is None and paths.db_path.exists():
        with store.connect(paths.db_path, read_only=True) as con:
            seen = con.execute(
                "SELECT DISTINCT provider FROM events WHERE model = ? ORDER BY 1", [model]
            ).fetchall()
        providers = [row[0] for row in seen] or [None]
    price_data.install()
    downloaded = price_data.in_use()
    for each in providers:
        rows = pricing.resolve(each, model, overrides)
        source = source_text(rows[0], price_data.package_version(), downloaded)
        stdout_console().print(price_table(model, each, rows, source))


@app.command("import")
def import_usage(
    file: Annotated[
        Path,
        typer.Argument(metavar="FILE", help="A CSV or JSON export of provider usage or LiteLLM spend logs."),
    ],
    db: DbOption = None,
    format_name: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="anthropic, openai, gemini, litellm or generic (default: by its columns).",
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="Provider for pricing when the file does not say (e.g. google)."),
    ] = None,
) -> None:
    """Import usage that did not come from a local agent; a re-import adds nothing twice."""
    from agent_usage.importers import import_file
    from agent_usage.render.format import count

    paths = resolve_paths(db)
    summary = import_file(paths.db_path, file, format_name, provider, paths.prices_file)
    if not summary.rows:
        stderr_console().print(f"{file}: no usage rows; nothing imported", highlight=False)
        return
    stderr_console().print(
        f"{file}: {count(summary.rows, 'row')} read as {summary.format}"
        f" (harness {summary.harness}): "
        f"{summary.new_events} new, {summary.duplicates} already stored, {summary.skipped} skipped",
        highlight=False,
    )
    for problem in summary.problems:
        stderr_console().print(f"warning: {problem}", highlight=False, markup=False)
    _warn_unpriced(paths)


@app.command()
def rebuild(db: DbOption = None) -> None:
    """Re-create the store from the session files on disk (a damaged store, or after a parser fix).

    The old file is kept beside the new one; what only it knows is carried over when it can
    still be read: usage whose files the agents have deleted, imports and the exporter's state.
    """
    from agent_usage.rebuild import KEEP_BACKUPS
    from agent_usage.rebuild import rebuild as run_rebuild

    paths = resolve_paths(db)
    summary = run_rebuild(paths.db_path, os.environ, paths.prices_file)
    _print_summary(summary.ingest)
    if summary.backup is None:
        _note(f"new store {paths.db_path}: {summary.events} events")
    elif summary.old_readable:
        _note(
            f"rebuilt {paths.db_path}: {summary.events} events ({summary.old_events} before);"
            f" {summary.kept_events} kept from the old store because their files are gone or were imported."
        )
    else:
        _note(
            "warning: the old store could not be read, so usage from session files no longer on disk"
            " (agents delete theirs after about 30 days) and imported usage exist only in an older copy,"
            f" if any. Rebuilt {paths.db_path} with {summary.events} events from the files still on disk."
        )
    if summary.carried_from is not None and summary.carried_from != summary.backup:
        _note(f"history carried over from the older copy {summary.carried_from}")
    if summary.backup is not None:
        _note(f"the store as it was is kept at {summary.backup}")
    if summary.removed_backups:
        count = len(summary.removed_backups)
        _note(f"removed {count} older cop{'y' if count == 1 else 'ies'} (the newest {KEEP_BACKUPS} are kept)")


@app.command()
def insights(
    db: DbOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    tz: TzOption = None,
    start_of_week: StartOfWeekOption = "monday",
    harness: HarnessOption = None,
    project: ProjectOption = None,
    json_output: JsonOption = False,
    no_ingest: NoIngestOption = False,
) -> None:
    """Adoption, habits and how concentrated your spend is on one provider.

    Active days, streaks, weekly-active weeks, variety, harness share per month.

    Spend share per provider and its HHI; a warning above `warn_share` in config.toml.
    """
    from agent_usage import periods
    from agent_usage.insights import adoption, concentration

    zone, now = periods.resolve_zone(tz), periods.now_utc()
    filters = _scope(since, until, last, False, harness, project, None, start_of_week=start_of_week).filters(
        zone, now
    )
    paths = resolve_paths(db)
    config = _settings(paths)
    today = periods.from_utc(now, zone).date()
    with _read_store(no_ingest, paths, filters.since) as (con, _):
        filters = _store_names(con, filters, config)
        habits = adoption(con, filters, today)
        providers = concentration(con, filters, config.concentration_warn_share)
    if providers.warning and providers.top is not None:
        stderr_console().print(
            f"warning: {providers.top.provider} holds {providers.top.share:.0%} of spend"
            f" (warn_share {providers.warn_share:.0%}, HHI {providers.hhi:,.0f})",
            highlight=False,
        )
    if json_output:
        import orjson

        from agent_usage.render.insights import insights_document

        sys.stdout.write(orjson.dumps(insights_document(filters, habits, providers)).decode() + "\n")
        return
    from agent_usage.render.insights import render_insights

    stdout_console().print(render_insights(habits, providers))


@app.command()
def doctor(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Each source: root, found or not, files, events, last event, the agent's retention."""
    from agent_usage import store
    from agent_usage.doctor import DoctorFacts, sources
    from agent_usage.render.doctor import doctor_document, doctor_view

    db_path = resolve_paths(db).db_path
    problem: errors.StoreError | None = None
    reports, last_ingest = None, None
    if db_path.exists():
        try:
            with store.connect(db_path, read_only=True) as con:
                reports = sources(con, os.environ)
                last_ingest = store.get_meta(con, "last_ingest")
        except errors.DatabaseBusyError:
            raise
        except errors.StoreError as error:  # the store is broken: still show every source
            problem = error
    if reports is None:  # no store yet, or a broken one: the sources without its counts
        reports = sources(None, os.environ)
    unread = None
    if problem is None:
        from agent_usage.ingest import unread_files

        unread = unread_files(db_path if db_path.exists() else None, os.environ)
    from agent_usage import heartbeat

    keeper = heartbeat.live_keeper(db_path, os.environ)
    facts = DoctorFacts(reports, db_path, last_ingest, problem, unread, keeper)
    if json_output:
        import orjson

        sys.stdout.write(orjson.dumps(doctor_document(facts)).decode() + "\n")
    else:
        stdout_console().print(doctor_view(facts))
    if problem is not None:
        raise typer.Exit(errors.ExitCode.ERROR)


def watch(
    db: DbOption = None,
    endpoint: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="OTLP base URL (default: OTEL_EXPORTER_OTLP_ENDPOINT or localhost)."
        ),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            metavar="PROTOCOL", help="http/protobuf (default), http/json or grpc.", show_default=False
        ),
    ] = None,
    header: Annotated[
        list[str] | None, typer.Option("--header", help="Extra header key=value (repeatable).")
    ] = None,
    interval: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS", help="Seconds between exports (default: OTEL_METRIC_EXPORT_INTERVAL or 60)."
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(metavar="SECONDS", help="Seconds to wait for the endpoint (default 10).")
    ] = None,
    compression: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="gzip, deflate or none (default: none).", show_default=False),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", metavar="", help="Ingest and export once, then exit (cron, CI).")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", metavar="", help="Print what would be sent as OTLP/JSON; send nothing."),
    ] = False,
    no_metrics: Annotated[
        bool, typer.Option("--no-metrics", metavar="", help="Do not send metrics.")
    ] = False,
    no_traces: Annotated[bool, typer.Option("--no-traces", metavar="", help="Do not send spans.")] = False,
    project_names: Annotated[
        str,
        typer.Option(
            "--project-names", help="Project names as they are, hashed or dropped.", metavar="keep|hash|drop"
        ),
    ] = "keep",
    paths: Annotated[
        str,
        typer.Option(
            "--paths",
            help="Working folders and git branches as they are, hashed or dropped.",
            metavar="keep|hash|drop",
        ),
    ] = "keep",
    user: Annotated[
        str | None, typer.Option(metavar="ID", help="agent.user.id (default: AGENT_USAGE_USER or login).")
    ] = None,
    no_ingest: Annotated[
        bool,
        typer.Option(
            "--no-ingest", metavar="", help="Export the store as it is; do not read or watch files."
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", metavar="", help="Log every tick.")] = False,
) -> None:
    """Keep the store current and send OTLP metrics (every interval) and spans (once per turn)."""
    from agent_usage.export_loop import ExportLoop, WatchOptions, configure_logging, run_forever
    from agent_usage.exporters.identity import Privacy
    from agent_usage.exporters.otlp_config import CliOverrides, sdk_disabled, temporality_warning

    configure_logging(verbose)
    paths_ = resolve_paths(db)
    disabled = sdk_disabled(os.environ)
    if disabled:
        _note("OTEL_SDK_DISABLED=true: nothing will be sent, the store is still kept current")
    warning = temporality_warning(os.environ)
    if warning:
        _note(f"warning: {warning}")
    options = WatchOptions(
        db_path=paths_.db_path,
        data_dir=paths_.data_dir,
        prices_file=paths_.prices_file,
        config_file=paths_.config_file,
        env=dict(os.environ),
        cli=CliOverrides(
            endpoint=endpoint,
            protocol=protocol,
            headers=tuple(header or ()),
            timeout_s=timeout,
            compression=compression,
        ),
        interval_s=interval,
        send_metrics=not (no_metrics or disabled),
        send_traces=not (no_traces or disabled),
        privacy=Privacy(projects=project_names, paths=paths),
        user=user,
        ingest=not no_ingest,
        one_shot=once or dry_run,
    )
    exporter = ExportLoop(options)
    if dry_run:
        _watch_dry_run(exporter)
    elif once:
        _watch_once(exporter)
    else:
        run_forever(exporter)


def _watch_dry_run(exporter: ExportLoop) -> None:
    """Print the requests one tick would send, as OTLP/JSON on stdout; send nothing."""
    result = exporter.dry_run(sys.stdout)
    printed = f" (printed the first {result.spans})" if result.spans else ""
    _note(f"dry run: {result.series} series, {result.spans_pending} spans pending{printed}")


def _watch_once(exporter: ExportLoop) -> None:
    from agent_usage.render.format import count

    """One tick for cron and CI: exit 1 when an endpoint did not accept."""
    try:
        result = exporter.tick()
    finally:
        exporter.close()
    _note(
        f"{count(result.new_events, 'new event')}; {result.series} series;"
        f" {count(result.spans, 'span')} sent,"
        f" {result.spans_pending} pending"
    )
    if not result.ok:
        raise errors.ExportError("export failed: " + "; ".join(result.errors))


app.command("watch")(watch)
app.command("export", help="Same as `watch` (the exporter loop).")(watch)


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Write the demo history and store here, and keep them (default: a temp dir, removed).",
        ),
    ] = None,
    days: Annotated[int, typer.Option(metavar="N", help="Days of history.")] = 28,
    seed: Annotated[int, typer.Option(metavar="N", help="Random seed.")] = 7,
) -> None:
    """Generate a realistic four-harness history, ingest it into a demo store and report on it.

    Without --out it all happens in a temporary folder that is removed afterwards.
    """
    if days < 1:
        raise errors.UsageError("--days: give at least 1 day of history")
    root = out or Path(tempfile.mkdtemp(prefix="agent-usage-demo-"))
    try:
        _demo(root, days, seed, keep=out is not None)
    finally:
        if out is None:
            import shutil

            shutil.rmtree(root, ignore_errors=True)


def _demo(root: Path, days: int, seed: int, keep: bool) -> None:
    """Write the demo history into `root`, ingest it into a store there and report on it."""
    from agent_usage.demo import generate
    from agent_usage.render.format import count

    corpus = generate(root, days=days, seed=seed)
    stderr_console().print(
        f"demo history: {count(corpus.files, 'file')}, {corpus.bytes_written / 1e6:.1f} MB in {root}",
        highlight=False,
    )
    paths = replace(resolve_paths(), db_path=root / "demo.duckdb")
    db_path = paths.db_path
    _print_summary(_run_ingest(paths, env=corpus.env))
    from agent_usage import periods, store
    from agent_usage.queries import Filters
    from agent_usage.render.tables import render_report
    from agent_usage.reports import build

    filters = Filters(tz=periods.resolve_zone())
    with store.connect(db_path, read_only=True) as con:
        for view in ("daily", "model", "harness"):
            stdout_console().print(
                render_report(build(con, view, filters, periods.now_utc()), stdout_console().width)
            )
    if keep:
        _note(
            f"try: agent-usage tui --db {db_path} --no-ingest\n"
            f" or: agent-usage report project --db {db_path} --no-ingest"
        )
    else:
        _note("the demo history was in a temporary folder, now removed; --out DIR keeps it to explore")


def _interrupted(error: BaseException | None) -> bool:
    """Ctrl-C, however it surfaced: Python's KeyboardInterrupt, click's Abort, DuckDB's own
    error for a query it stopped (a RuntimeError in its Python binding), or any error that a
    Ctrl-C caused (one during a lazy import becomes "Error calling __set_name__ ...")."""
    seen: set[int] = set()
    duckdb = sys.modules.get("duckdb")
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, KeyboardInterrupt | typer.Abort):
            return True
        if isinstance(error, RuntimeError) and str(error) == "Query interrupted":
            return True
        if duckdb is not None and isinstance(error, duckdb.InterruptException):
            return True
        error = error.__cause__ or error.__context__
    return False


def main() -> None:
    """Entry point: run the app and turn errors into one line on stderr and an exit code.

    Files it creates (the store, its folder, temp files) are the user's alone (umask 077).
    """
    os.umask(0o077)
    try:
        _main()
    except BaseException as error:
        if not _interrupted(error):
            raise
        errors.exit_interrupted()


def breakdown_arguments(arguments: list[str]) -> list[str]:
    """`--breakdown harness` (or `=harness`) as the hidden `--breakdown-by harness`: Typer has
    no option whose value may be left out, and `--breakdown` alone still means per model."""
    out: list[str] = []
    words = iter(arguments)
    for word in words:
        if word.startswith("--breakdown="):
            out += ["--breakdown-by", word.split("=", 1)[1]]
        elif word == "--breakdown":
            following = next(words, None)
            if following in ("model", "harness", "project"):
                out += ["--breakdown-by", following]
            else:
                out.append(word)
                if following is not None:
                    out.append(following)
        else:
            out.append(word)
    return out


def _main() -> None:
    code = run_arguments(sys.argv[1:])
    if code:
        sys.exit(code)


@functools.cache
def _click_command() -> Any:
    """The app as a click command, built once: a keeper runs many commands (0.1 s each build)."""
    return typer.main.get_command(app)


def run_arguments(arguments: list[str], terminal: Terminal | None = None) -> int:
    """Run one command line and return its exit code; an error is one line on stderr.

    `terminal` is set by a keeper answering a forwarded command: the consoles are then made
    for the client's terminal. Exceptions that are not ours, Typer's or a closed pipe propagate.
    """
    global _consoles, _terminal
    _consoles, _terminal = None, terminal
    try:
        code = _click_command().main(
            args=breakdown_arguments(arguments), prog_name="agent-usage", standalone_mode=False
        )
        if code == errors.ExitCode.INTERRUPTED:  # click turned a Ctrl-C into this code
            raise KeyboardInterrupt
        return code if isinstance(code, int) else errors.ExitCode.OK
    except errors.AgentUsageError as error:
        stderr_console().print(f"error: {error.message}", highlight=False, markup=False)
        if error.hint:
            stderr_console().print(f"hint: {error.hint}", highlight=False, markup=False)
        return error.exit_code
    except BrokenPipeError:
        return errors.ExitCode.OK
    except typer.Exit as done:
        return done.exit_code
    except Exception as error:
        show, code = getattr(error, "show", None), getattr(error, "exit_code", None)
        if callable(show) and isinstance(code, int):  # Typer's usage errors (bad option, argument, ...)
            show()
            return code
        raise
    finally:
        if terminal is not None:
            _consoles, _terminal = None, None
