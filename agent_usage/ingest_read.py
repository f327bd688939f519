"""Reading one planned file: its parser over its complete lines, the events into a sink (the
writer's batch, or a worker's result), and its new read position, fingerprint and state."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

import orjson

from agent_usage import store
from agent_usage.ingest_plan import FINGERPRINT_BYTES, IngestSummary, SourceFile, fingerprint
from agent_usage.lines import LineReader
from agent_usage.parsers import PARSERS
from agent_usage.parsers.base import MAX_TOKENS_PER_REQUEST, FileContext, open_regular
from agent_usage.records import UsageEvent

LONG_TAIL_BYTES = 1024 * 1024
"""An unterminated last line this long is named once: it is read again on every change."""


def _open_source(path: Path, start: int) -> tuple[BinaryIO, bool]:
    """A binary handle positioned at `start`; `.zst` files are decompressed whole."""
    if path.name.endswith(".zst"):
        import zstandard

        with open_regular(path) as compressed:
            data = zstandard.ZstdDecompressor().stream_reader(compressed).read()
        return io.BytesIO(data), True
    handle = open_regular(path)
    handle.seek(start)
    return handle, False


def _sane(event: UsageEvent, ctx: FileContext) -> bool:
    if event.total_tokens > MAX_TOKENS_PER_REQUEST:
        ctx.stats.bad(f"byte {event.source_offset}", f"absurd token count {event.total_tokens}")
        return False
    return True


class Sink(Protocol):
    """Where `read_file` puts what it found: the store's batch, or a worker's result."""

    summary: IngestSummary

    def replace(self, path: str) -> None: ...

    def add(self, event: UsageEvent) -> None: ...

    def file(self, record: store.FileRecord) -> None: ...


@dataclass(slots=True)
class GroupResult:
    """What a worker process parsed from a group of files, sent back to the writer."""

    summary: IngestSummary = field(default_factory=IngestSummary)
    events: list[UsageEvent] = field(default_factory=list)
    events_json: bytes = b"[]"
    files: list[store.FileRecord] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    bytes_read: int = 0
    rows: int = 0

    def replace(self, path: str) -> None:
        self.replaced.append(path)

    def add(self, event: UsageEvent) -> None:
        self.events.append(event)

    def file(self, record: store.FileRecord) -> None:
        self.files.append(record)


def read_file(source: SourceFile, sink: Sink) -> int:
    """Parse one file into `sink`; return the bytes consumed."""
    parser = PARSERS[source.harness]
    summary = sink.summary
    ctx = FileContext(path=source.path, state=dict(source.state))
    try:
        handle, whole = _open_source(source.path, source.start)
    except OSError as error:
        summary.problems.append(f"{source.path}: cannot read: {error.strerror}")
        return 0
    if source.replace:
        sink.replace(source.name)
    with handle:
        whole = whole or not parser.appendable(source.path)
        reader = LineReader(handle, 0 if whole else source.start, whole, parser.NEEDLES)
        try:
            for event in parser.parse(reader, ctx):
                if _sane(event, ctx):
                    sink.add(event)
                    summary.events_parsed += 1
        except OSError as error:
            summary.problems.append(f"{source.path}: read failed: {error.strerror}")
            return 0
        head = fingerprint(handle, min(reader.end, FINGERPRINT_BYTES)) if not whole else "0:"
    end = source.size if whole else reader.end
    _note_skipped(source, ctx, end, summary)
    # the stamp is the file's as found, also when its last line is unfinished: an agent that
    # finishes it changes size and mtime, so an unchanged file is not read again for nothing
    sink.file(
        store.FileRecord(
            path=source.name,
            harness=source.harness,
            size=source.size,
            mtime_ns=source.mtime_ns,
            read_offset=end,
            fingerprint=head,
            parser_state=orjson.dumps(ctx.state).decode(),
            bad_lines=source.bad_lines + ctx.stats.bad_lines,
        )
    )
    summary.files_read += 1
    return max(end - source.start, 0)


def _note_skipped(source: SourceFile, ctx: FileContext, end: int, summary: IngestSummary) -> None:
    """Count and name the bad lines of this read, and a long unfinished last line."""
    stats = ctx.stats
    summary.bad_lines += stats.bad_lines
    summary.problems.extend(f"{source.path}: skipped {note}" for note in stats.bad_line_notes)
    more = stats.bad_lines - len(stats.bad_line_notes)
    if more > 0:
        summary.problems.append(f"{source.path}: skipped {more} more bad line{'' if more == 1 else 's'}")
    tail = source.size - end
    if tail >= LONG_TAIL_BYTES:
        summary.problems.append(
            f"{source.path}: the last line ({tail / 1e6:.1f} MB) has no newline yet;"
            " it is read when the agent finishes it"
        )


def parse_group(sources: list[SourceFile]) -> GroupResult:
    """Worker-process entry: parse a group of whole files; events come back encoded."""
    result = GroupResult()
    for source in sources:
        result.bytes_read += read_file(source, result)
    rows, result.summary.duplicates = store.keep_best_copies(result.events)
    result.events_json, result.rows, result.events = store.encode_events(rows), len(rows), []
    return result
