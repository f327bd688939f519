"""How requests reach one endpoint: batches capped in bytes, split on HTTP 413, a longer
timeout after a timeout, and a stop between batches.

Spans are delivered at least once: a batch is recorded as sent only after the endpoint
accepted it, so a batch the endpoint kept but answered too late (or a process killed while
it was in flight) is sent again. This module keeps that "again" to once in the common cases:
- a timeout is retried at once, each half of the batch with a longer timeout (and later
  batches stay smaller and keep the longer timeout), so a slow endpoint sees a span at most
  twice as long as it answers within the longer timeout;
- a request the endpoint refuses for its size (HTTP 413) is split in halves, down to single
  spans, and later batches stay at the size that passed.
Span ids are derived from the event key, so a receiver can de-duplicate what arrives twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from google.protobuf.message import Message

from agent_usage.exporters.transport import Accepted, ExportFailed, Transport

log = logging.getLogger("agent_usage.export_loop")

T = TypeVar("T")

MAX_BODY_BYTES = 512 * 1024
"""A request body above this is split before it is sent: half of nginx's default 1 MiB limit."""
TIMEOUT_GROWTH = 4
"""After a timeout the next attempts wait this many times longer..."""
MAX_TIMEOUT_S = 60.0
"""...but never longer than this (the systemd unit's stop timeout allows for one such wait)."""


class Delivery(Generic[T]):
    """Sends spans (one per usage event) in batches to one endpoint, and remembers what it learned."""

    def __init__(
        self,
        transport: Transport,
        name: str,
        timeout_s: float,
        batch_size: int,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.transport = transport
        self.name = name
        self.timeout_s = timeout_s
        self.batch_size = max(1, batch_size)
        self.max_body_bytes = max_body_bytes
        self._said_too_large = False

    def deliver(
        self,
        spans: Sequence[T],
        build: Callable[[Sequence[T]], Message],
        accepted: Callable[[Sequence[T]], None],
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        """Send `spans` batch by batch, calling `accepted` with each batch the endpoint took.

        Stops before the next batch when `should_stop()` says so; an `ExportFailed` that splitting
        and the longer timeout could not cure propagates (what was accepted stays accepted).
        """
        start = 0
        while start < len(spans) and not should_stop():
            batch = spans[start : start + self.batch_size]
            self._send(batch, build, accepted, retried=False)
            start += len(batch)

    def send_one(self, request: Message) -> Accepted:
        """One request that cannot be split (the metrics), retried once after a timeout."""
        body = self.transport.encode(request)
        try:
            return self.transport.post(body, self.timeout_s)
        except ExportFailed as failure:
            if not failure.timed_out:
                raise
            self._slower(failure, None)
            return self.transport.post(body, self.timeout_s)

    def _send(
        self,
        batch: Sequence[T],
        build: Callable[[Sequence[T]], Message],
        accepted: Callable[[Sequence[T]], None],
        retried: bool,
    ) -> None:
        body = self.transport.encode(build(batch))
        if len(body) > self.max_body_bytes and len(batch) > 1:
            self.batch_size = min(self.batch_size, len(batch) // 2)
            self._halves(batch, build, accepted, retried)
            return
        try:
            result = self.transport.post(body, self.timeout_s)
        except ExportFailed as failure:
            if failure.too_large and len(batch) > 1:
                self._smaller(failure, len(batch))
                self._halves(batch, build, accepted, retried)
                return
            if failure.timed_out and not retried:
                self._slower(failure, len(batch))
                self._halves(batch, build, accepted, retried=True)
                return
            if failure.too_large:
                raise ExportFailed(f"{failure.reason} even for a single span", retryable=False) from None
            raise
        if result.rejected:
            log.warning("%s: rejected %d spans: %s", self.name, result.rejected, result.message)
        accepted(batch)

    def _halves(
        self,
        batch: Sequence[T],
        build: Callable[[Sequence[T]], Message],
        accepted: Callable[[Sequence[T]], None],
        retried: bool,
    ) -> None:
        middle = max(1, len(batch) // 2)
        for part in (batch[:middle], batch[middle:]):
            if part:
                self._send(part, build, accepted, retried)

    def _smaller(self, failure: ExportFailed, size: int) -> None:
        self.batch_size = max(1, min(self.batch_size, size // 2))
        if not self._said_too_large:
            self._said_too_large = True
            log.warning(
                "%s: the endpoint refused a request of %d spans as too large (%s);"
                " splitting it, down to single spans if need be",
                self.name,
                size,
                failure.reason,
            )

    def _slower(self, failure: ExportFailed, size: int | None) -> None:
        """Wait longer from now on and, for batches, send smaller ones; say why once per timeout."""
        previous = self.timeout_s
        self.timeout_s = max(previous, min(previous * TIMEOUT_GROWTH, MAX_TIMEOUT_S))
        what = "that request"
        if size is not None:
            self.batch_size = max(1, min(self.batch_size, size // 2))
            what = f"those {size} spans (span ids are stable, so a receiver can de-duplicate them)"
        log.warning(
            "%s: %s; the endpoint may still have received %s. Retrying now with a %g s timeout%s",
            self.name,
            failure.reason,
            what,
            self.timeout_s,
            f" and batches of at most {self.batch_size}" if size is not None else "",
        )
