"""The exporter loop behind `agent-usage watch`: keep the store current, feed an OTLP endpoint.

A folder watcher (inotify, or polling where that is unavailable) triggers an incremental
ingest when a session file changes. Every interval a tick ingests, sends the metrics (all-time
totals) and the spans not yet accepted. A failed send is logged once per change of state,
retried with backoff and never fatal: the totals and the pending spans are still in the
store, so the next accepted tick carries everything. No store connection stays open between
units of work, so the TUI and `report` keep working beside the loop.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import orjson

from agent_usage import export_queries, heartbeat, periods, settings, store
from agent_usage.errors import AgentUsageError, DatabaseBusyError, StoreError
from agent_usage.exporters import metrics, otlp_json, traces
from agent_usage.exporters.delivery import Delivery
from agent_usage.exporters.identity import Identity, Privacy, identity
from agent_usage.exporters.otlp_config import CliOverrides, SignalTarget, export_interval_s, resolve_target
from agent_usage.exporters.transport import ExportFailed, open_transport
from agent_usage.ingest_plan import IngestSummary
from agent_usage.store import export_state

if TYPE_CHECKING:
    from agent_usage.keeper.server import KeeperServer

log = logging.getLogger("agent_usage.export_loop")

MAX_SPANS_PER_TICK = 20_000
"""A first export of a long history goes out in slices of this many spans, one per tick."""


@dataclass(frozen=True, slots=True)
class WatchOptions:
    """Everything `watch` needs, resolved from flags and environment by the CLI."""

    db_path: Path
    data_dir: Path
    prices_file: Path
    env: Mapping[str, str]
    cli: CliOverrides = field(default_factory=CliOverrides)
    interval_s: float | None = None
    send_metrics: bool = True
    send_traces: bool = True
    privacy: Privacy = field(default_factory=Privacy)
    user: str | None = None
    batch_spans: int = traces.BATCH_SPANS
    ingest: bool = True
    one_shot: bool = False
    config_file: Path | None = None


class Health:
    """One signal's endpoint state; logs only when it changes (ok -> failing, new reason, recovered)."""

    def __init__(self, target: SignalTarget) -> None:
        self.target = target
        self.failures = 0
        self.reason: str | None = None

    def failed(self, reason: str, next_attempt: str) -> None:
        self.failures += 1
        if reason != self.reason:
            log.warning(
                "%s export to %s failing: %s (%s; nothing is lost)",
                self.target.signal,
                self.target.display_url,
                reason,
                next_attempt,
            )
        self.reason = reason

    def succeeded(self) -> None:
        if self.reason is not None:
            log.warning(
                "%s export to %s recovered after %d failed attempt%s",
                self.target.signal,
                self.target.display_url,
                self.failures,
                "" if self.failures == 1 else "s",
            )
        self.failures, self.reason = 0, None


@dataclass(slots=True)
class TickResult:
    """What one tick did; `ok` is False when any enabled export failed."""

    new_events: int = 0
    series: int = 0
    spans: int = 0
    spans_pending: int = 0
    ok: bool = True
    errors: list[str] = field(default_factory=list)


class ExportLoop:
    """Ingest, metrics and spans for one store and one set of endpoints."""

    def __init__(self, options: WatchOptions) -> None:
        self.options = options
        self.identity: Identity = identity(options.data_dir, options.env, options.user)
        self.profile = metrics.profile(self.identity, options.privacy)
        self.targets: dict[str, SignalTarget] = {}
        if options.send_metrics:
            self.targets["metrics"] = resolve_target("metrics", options.env, options.cli)
        if options.send_traces:
            self.targets["traces"] = resolve_target("traces", options.env, options.cli)
        self.health = {signal: Health(target) for signal, target in self.targets.items()}
        self._deliveries: dict[str, Delivery] = {}
        self.spans_sent = 0
        self.stopping = threading.Event()
        """Set by SIGTERM: the tick in progress ends after the batch in flight."""
        self.interval_s = export_interval_s(options.env, options.interval_s)
        self.settings = settings.load(options.config_file) if options.config_file else settings.Settings()
        self.tz = periods.resolve_zone()

    def _delivery(self, signal_name: str) -> Delivery:
        """The signal's transport and what was learned of its endpoint (slow, size-limited)."""
        if signal_name not in self._deliveries:
            target = self.targets[signal_name]
            self._deliveries[signal_name] = Delivery(
                open_transport(target), signal_name, target.timeout_s, self.options.batch_spans
            )
        return self._deliveries[signal_name]

    def close(self) -> None:
        for delivery in self._deliveries.values():
            delivery.transport.close()
        self._deliveries.clear()

    def ingest(self, only: set[str] | None = None) -> IngestSummary:
        """Incremental ingest (of every file, or of the `only` files a watcher saw)."""
        from agent_usage.ingest import ingest

        summary = ingest(
            self.options.db_path, env=self.options.env, prices_file=self.options.prices_file, only=only
        )
        for problem in summary.problems[:5]:
            log.warning("ingest: %s", problem)
        if summary.events_new:
            log.info("ingested %d new events from %d files", summary.events_new, summary.files_read)
        return summary

    def metric_points(self) -> list[metrics.Point]:
        """Every series as it stands now, pinned to what endpoints accepted before."""
        with store.connect(self.options.db_path) as con:
            models = export_queries.model_totals(con, self.options.privacy.projects)
            projects = export_queries.project_totals(con, self.options.privacy.projects)
            accepted = export_queries.accepted_series(con)
        current = metrics.current_points(models, projects, self.identity)
        return metrics.pinned(accepted, current, self.profile)

    def budget_points(self) -> list[metrics.Point]:
        """Limit and current-period spend of every budget in config.toml (gauges)."""
        if not self.settings.budgets:
            return []
        from agent_usage.budgets import evaluate

        with store.connect(self.options.db_path) as con:
            statuses = evaluate(con, self.settings, periods.now_utc(), self.tz)
        return metrics.budget_points(statuses, self.identity)

    def export_metrics(self) -> int:
        """Send all series; remember them only once the endpoint accepted. Returns the series count."""
        points = self.metric_points()
        if not points:
            return 0
        request = metrics.build_request(points, self.identity, gauges=self.budget_points())
        accepted = self._delivery("metrics").send_one(request)
        if accepted.rejected:
            log.warning("metrics: rejected %d points: %s", accepted.rejected, accepted.message)
        with store.connect(self.options.db_path) as con:
            export_state.record_series(con, metrics.accepted_rows(points, self.profile))
        return len(points)

    def export_spans(self, max_spans: int = MAX_SPANS_PER_TICK) -> tuple[int, int]:
        """Send up to `max_spans` pending spans, marking each batch once accepted.

        Returns (spans sent, spans still pending). Pending events are read once per tick:
        finding them scans the store, sending them does not. A SIGTERM ends the loop after
        the batch in flight.
        """
        destination = self.targets["traces"].destination
        with store.connect(self.options.db_path) as con:
            events = export_queries.pending_spans(con, destination, max_spans)
        self.spans_sent = 0  # counted as batches are accepted, so a failure mid-way keeps them

        def accepted(batch: Sequence[export_queries.PendingEvent]) -> None:
            with store.connect(self.options.db_path) as con:
                export_state.record_spans(con, destination, [event.event_key for event in batch])
            self.spans_sent += len(batch)

        self._delivery("traces").deliver(
            events,
            lambda batch: traces.build_request(batch, self.identity, self.options.privacy),
            accepted,
            self.stopping.is_set,
        )
        if len(events) < max_spans and self.spans_sent == len(events):
            return self.spans_sent, 0
        return self.spans_sent, self.pending_spans()

    def pending_spans(self) -> int:
        """Spans the traces endpoint has not accepted yet."""
        with store.connect(self.options.db_path) as con:
            return export_queries.pending_span_count(con, self.targets["traces"].destination)

    def tick(self) -> TickResult:
        """One cycle: ingest, then each enabled signal; failures are recorded, never raised."""
        result = TickResult()
        if self.options.ingest:
            try:
                result.new_events = self.ingest().events_new
            except AgentUsageError as error:
                if (
                    self.options.one_shot
                    and isinstance(error, StoreError)
                    and not isinstance(error, DatabaseBusyError)
                ):
                    raise  # `--once` on a store it cannot use: that one line is the answer
                result.errors.append(f"ingest: {error.message}")
                log.warning("ingest skipped this tick: %s", error.message)
        retry_in = self.retry_delay(extra_failure=True)
        next_attempt = "the next run sends it" if self.options.one_shot else f"retrying in {retry_in:.3g} s"
        for signal_name in self.targets:
            try:
                if signal_name == "metrics":
                    result.series = self.export_metrics()
                else:
                    result.spans, result.spans_pending = self.export_spans()
            except ExportFailed as error:
                result.ok = False
                result.errors.append(f"{signal_name}: {error.reason}")
                self.health[signal_name].failed(error.reason, next_attempt)
                if signal_name == "traces":
                    result.spans, result.spans_pending = self._spans_after_failure()
                continue
            except AgentUsageError as error:
                result.ok = False
                result.errors.append(f"{signal_name}: {error.message}")
                log.warning("%s export skipped this tick: %s", signal_name, error.message)
                continue
            self.health[signal_name].succeeded()
        if result.spans:
            log.info("sent %d spans (%d still pending)", result.spans, result.spans_pending)
        return result

    def _spans_after_failure(self) -> tuple[int, int]:
        """(sent, pending) after a failed span export: the batches before the failure stay sent."""
        try:
            return self.spans_sent, self.pending_spans()
        except AgentUsageError:
            return self.spans_sent, 0

    def retry_delay(self, extra_failure: bool = False) -> float:
        """Exponential backoff from 1 s, capped at the interval; the interval when all is well."""
        failures = max((h.failures for h in self.health.values()), default=0) + (1 if extra_failure else 0)
        if failures == 0:
            return self.interval_s
        return min(self.interval_s, 2.0 ** (failures - 1))

    def dry_run(self, out: IO[str]) -> TickResult:
        """Print the requests a tick would send (OTLP/JSON, the first span batch) without sending."""
        result = TickResult()
        if self.options.ingest:
            result.new_events = self.ingest().events_new
        if "metrics" in self.targets:
            points = self.metric_points()
            result.series = len(points)
            request = metrics.build_request(points, self.identity, gauges=self.budget_points())
            self._print(out, self.targets["metrics"], otlp_json.to_dict(request))
        if "traces" in self.targets:
            destination = self.targets["traces"].destination
            with store.connect(self.options.db_path) as con:
                events = export_queries.pending_spans(con, destination, self.options.batch_spans)
                result.spans_pending = export_queries.pending_span_count(con, destination)
            if events:
                request = traces.build_request(events, self.identity, self.options.privacy)
                self._print(out, self.targets["traces"], otlp_json.to_dict(request))
                result.spans = len(events)
        return result

    @staticmethod
    def _print(out: IO[str], target: SignalTarget, request: dict) -> None:
        document = {
            "signal": target.signal,
            "endpoint": target.display_url,
            "protocol": target.protocol,
            "request": request,
        }
        out.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
        out.flush()


def run_forever(exporter: ExportLoop, stop: threading.Event | None = None, debounce_s: float = 2.0) -> None:
    """Tick every interval (sooner after a failure), ingest when a watched file changes, and,
    once the first tick has read every file, answer forwarded commands (`agent_usage.keeper`)."""
    from agent_usage.folder_watcher import FolderWatcher

    stop = stop or threading.Event()
    changed = threading.Event()
    wake = threading.Event()
    changed_paths: set[str] = set()
    paths_lock = threading.Lock()

    def on_change(paths: set[str]) -> None:
        with paths_lock:
            changed_paths.update(paths)
        changed.set()
        wake.set()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        exporter.stopping.set()
        wake.set()

    def read_changes() -> IngestSummary:
        """Ingest the files the watcher saw change and nobody has read yet, debounced or not:
        the loop calls it, and so does a command the keeper answers, so it sees every change."""
        with paths_lock:
            only = changed_paths | watcher.take_pending()
            changed_paths.clear()
        return exporter.ingest(only) if only else IngestSummary()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
    watcher = FolderWatcher(exporter.options.env, on_change, debounce=debounce_s)
    if exporter.options.ingest:
        watcher.start()
    log.info(
        "watching %d folders (%s); exporting every %g s: %s",
        len(watcher.roots),
        watcher.mode,
        exporter.interval_s,
        "; ".join(target.describe() for target in exporter.targets.values()) or "nothing (ingest only)",
    )
    next_tick = time.monotonic()
    keeping = False  # the store is kept current once the first tick has read every file
    answering: KeeperServer | None = None
    tried_answering = False
    try:
        while not stop.is_set():
            if keeping:
                if not tried_answering:
                    tried_answering, answering = True, _answer_commands(exporter, read_changes)
                try:
                    heartbeat.beat(
                        exporter.options.db_path,
                        exporter.options.env,
                        answering.path.as_posix() if answering else None,
                    )
                except OSError as error:  # reports then walk the files themselves: slower, never wrong
                    log.warning("heartbeat not written: %s", error)
            wait = next_tick - time.monotonic()
            if wait > 0:
                wake.wait(min(wait, heartbeat.BEAT_EVERY_S))
                wake.clear()
            if stop.is_set():
                break
            if time.monotonic() >= next_tick:
                changed.clear()
                with paths_lock:
                    changed_paths.clear()  # the tick checks every file anyway
                result = exporter.tick()
                next_tick = time.monotonic() + (exporter.interval_s if result.ok else exporter.retry_delay())
                keeping = exporter.options.ingest
            elif changed.is_set():
                changed.clear()
                try:
                    read_changes()
                except AgentUsageError as error:
                    log.warning("ingest skipped: %s", error.message)
    finally:
        watcher.stop()
        heartbeat.stop(exporter.options.db_path)
        if answering is not None:
            answering.close()
        exporter.close()


def _answer_commands(exporter: ExportLoop, read_changes: Callable[[], IngestSummary]) -> KeeperServer | None:
    """Start answering forwarded commands; None (reports then walk the files) when the socket
    cannot be made."""
    from agent_usage.keeper.server import KeeperServer

    server = KeeperServer(exporter.options.db_path, exporter.options.env, read_changes)
    try:
        server.start()
    except OSError as error:
        log.warning("commands are not answered here (%s): reports read the files themselves", error)
        return None
    log.info("answering report and ingest on %s", server.path)
    return server


def configure_logging(verbose: bool) -> None:
    """Timestamped lines on stderr; the loop is meant to run as a service."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger("agent_usage")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
