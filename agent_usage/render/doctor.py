"""`agent-usage doctor` as Rich output: a row per harness source, then the store's state."""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from agent_usage.doctor import DoctorFacts
from agent_usage.render.format import count, utc_iso


def doctor_view(facts: DoctorFacts) -> RenderableType:
    """The sources table and one line about the store (what is wrong with it, and the fix),
    then how many session files it has not read yet and the live process that keeps it
    current, if any."""
    reports, db_path, last_ingest, problem, unread, keeper = (
        facts.reports, facts.db_path, facts.last_ingest, facts.problem, facts.unread, facts.keeper
    )  # fmt: skip
    table = Table(title="agent-usage doctor", header_style="bold")
    for column in ("Harness", "Root", "Found", "Files", "Events", "Last event", "Retention"):
        table.add_column(column, overflow="fold")  # a path or a note is never cut, only folded
    for r in reports:
        table.add_row(
            Text(r.harness),
            Text(str(r.root.absolute())),
            "yes" if r.exists else "no",
            str(r.files_on_disk),
            str(r.events),
            r.last_event.strftime("%Y-%m-%d %H:%M") if r.last_event else "-",
            Text(r.retention),
        )
    if problem is not None:
        lines = [Text(f"store: {problem.message}")]
        if problem.hint:
            lines.append(Text(f"hint: {problem.hint}"))
        return Group(table, *lines)
    state = f"last ingest {last_ingest}" if last_ingest else "no ingest yet"
    lines = [Text(f"store: {db_path} ({state})")]
    if unread is not None:
        files, complete_from = unread
        if files == 0:
            lines.append(Text("unread: none; every session file is in the store"))
        else:
            since = complete_from.strftime("%Y-%m-%d %H:%M UTC") if complete_from else "-"
            lines.append(
                Text(
                    f"unread: {count(files, 'session file')} new or changed since the last"
                    f" read; the store is complete from {since} (`agent-usage ingest` reads them)"
                )
            )
    if keeper is not None:
        lines.append(
            Text(
                f"live: process {keeper.pid} (agent-usage watch or the TUI) keeps the store current;"
                " reports skip reading the session files"
            )
        )
    return Group(table, *lines)


def doctor_document(facts: DoctorFacts) -> dict[str, Any]:
    """The same facts as `doctor_view`, for scripts (`doctor --json`)."""
    unread_files, complete_from = facts.unread if facts.unread is not None else (None, None)
    problem, keeper = facts.problem, facts.keeper
    return {
        "schema_version": 1,
        "sources": [
            {
                "harness": r.harness,
                "root": str(r.root.absolute()),
                "found": r.exists,
                "files": r.files_on_disk,
                "events": r.events,
                "last_event": utc_iso(r.last_event),
                "retention": r.retention,
            }
            for r in facts.reports
        ],
        "store": {
            "path": str(facts.db_path.absolute()),
            "last_ingest": facts.last_ingest,
            "problem": problem.message if problem is not None else None,
            "unread_files": unread_files,
            "complete_from": utc_iso(complete_from),
            "live_keeper": {"pid": keeper.pid, "host": keeper.host} if keeper is not None else None,
        },
    }
