"""Spans against difficult endpoints (real receiver on 127.0.0.1): slow, body-limited, stopped
mid-backlog, and credentials in the endpoint URL. Delivery is at least once: these tests pin
how rarely a span arrives twice, and that none is lost."""

from __future__ import annotations

import base64
import logging
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent_usage import store
from agent_usage.demo import generate
from agent_usage.export_loop import ExportLoop, WatchOptions
from agent_usage.exporters.delivery import MAX_BODY_BYTES
from agent_usage.exporters.otlp_config import CliOverrides
from tests.conftest import run_cli, start_cli
from tests.exporter.otlp_receiver import OtlpReceiver


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A generated history of a few thousand usage events."""
    root = tmp_path_factory.mktemp("history")
    return generate(root, days=6, sessions_per_day=6, seed=11).env


@pytest.fixture
def env(history: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {
        **history,
        "AGENT_USAGE_HOME": str(tmp_path / "au"),
        "AGENT_USAGE_MACHINE_ID": "5b0f6a8e-1d1c-4c53-9d7e-3f2b8f0c2a11",
    }


def options(env: dict[str, str], endpoint: str, **overrides: Any) -> WatchOptions:
    home = Path(env["AGENT_USAGE_HOME"])
    cli = overrides.pop("cli", CliOverrides(endpoint=endpoint))
    return WatchOptions(
        db_path=home / "data" / "usage.duckdb",
        data_dir=home / "data",
        prices_file=home / "config" / "prices.toml",
        env=env,
        cli=cli,
        send_metrics=False,
        **overrides,
    )


def span_counts(receiver: OtlpReceiver) -> Counter[bytes]:
    """How often each span id arrived."""
    counts: Counter[bytes] = Counter()
    for request in receiver.of("traces"):
        for resource in request.message.resource_spans:
            for scope in resource.scope_spans:
                counts.update(span.span_id for span in scope.spans)
    return counts


def stored_events(env: dict[str, str]) -> int:
    with store.connect(Path(env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb", read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def test_a_slow_endpoint_sees_each_span_at_most_twice(
    receiver: OtlpReceiver, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    receiver.delay_s = 0.6  # keeps every request, answers after the first timeout
    slow = CliOverrides(endpoint=receiver.http_endpoint, timeout_s=0.4)
    exporter = ExportLoop(options(env, receiver.http_endpoint, cli=slow, batch_spans=100))
    exporter.ingest()
    total = stored_events(env)
    with caplog.at_level(logging.WARNING, logger="agent_usage"):
        for _ in range(20):
            result = exporter.tick()
            if result.ok and result.spans_pending == 0:
                break
    assert result.ok and result.spans_pending == 0
    counts = span_counts(receiver)
    assert len(counts) == total
    assert total > 200 and max(counts.values()) == 2 and sum(counts.values()) == total + 100
    assert "may still have received" in caplog.text and "Retrying now with a 1.6 s timeout" in caplog.text


def test_a_body_limited_endpoint_gets_every_span_once_in_smaller_requests(
    receiver: OtlpReceiver, env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    receiver.max_body_bytes = 40_000
    exporter = ExportLoop(options(env, receiver.http_endpoint, batch_spans=500))
    exporter.ingest()
    with caplog.at_level(logging.WARNING, logger="agent_usage"):
        result = exporter.tick()
        again = exporter.tick()
    assert result.ok and again.ok and again.spans_pending == 0, result.errors
    counts = span_counts(receiver)
    assert len(counts) == stored_events(env) and set(counts.values()) == {1}
    assert all(r.body_bytes <= 40_000 for r in receiver.of("traces"))
    assert caplog.text.count("refused a request of") == 1 and receiver.refused_too_large > 0


def test_a_single_span_too_large_for_the_endpoint_is_an_error_not_a_loop(
    receiver: OtlpReceiver, env: dict[str, str]
) -> None:
    receiver.max_body_bytes = 100
    exporter = ExportLoop(options(env, receiver.http_endpoint))
    exporter.ingest()
    result = exporter.tick()
    assert not result.ok and "HTTP 413" in result.errors[0] and "even for a single span" in result.errors[0]
    assert result.spans_pending == stored_events(env)


@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json"])
def test_default_requests_stay_well_under_a_1_mib_body_limit(
    receiver: OtlpReceiver, env: dict[str, str], protocol: str
) -> None:
    result = run_cli(
        "watch",
        "--once",
        "--no-metrics",
        "--endpoint",
        receiver.http_endpoint,
        "--protocol",
        protocol,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    sizes = [r.body_bytes for r in receiver.of("traces")]
    assert len(sizes) > 1 and max(sizes) <= MAX_BODY_BYTES
    assert sum(span_counts(receiver).values()) == stored_events(env)


def test_sigterm_stops_after_the_batch_in_flight(receiver: OtlpReceiver, env: dict[str, str]) -> None:
    assert run_cli("ingest", env=env).returncode == 0
    receiver.delay_s = 1.0
    watch = start_cli("watch", "--no-metrics", "--endpoint", receiver.http_endpoint, env=env)
    deadline = time.monotonic() + 30
    while not receiver.of("traces") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.of("traces"), "no span request arrived"
    watch.send_signal(signal.SIGTERM)
    started = time.monotonic()
    watch.communicate(timeout=30)
    assert time.monotonic() - started < 4, "SIGTERM waited for the backlog"
    assert watch.returncode == 0
    sent = sum(span_counts(receiver).values())
    assert 0 < sent < stored_events(env)
    finished = run_cli("watch", "--once", "--no-metrics", "--endpoint", receiver.http_endpoint, env=env)
    assert finished.returncode == 0, finished.stderr
    assert len(span_counts(receiver)) == stored_events(env)


def test_watch_once_after_a_failed_export_says_what_is_pending(env: dict[str, str]) -> None:
    result = run_cli("watch", "--once", "--no-metrics", "--endpoint", "http://127.0.0.1:9", env=env)
    assert result.returncode == 1
    assert f"0 spans sent, {stored_events(env)} pending" in result.stderr


def test_credentials_in_the_endpoint_url_are_sent_as_auth_and_never_logged(
    receiver: OtlpReceiver, env: dict[str, str]
) -> None:
    endpoint = f"http://alice:pw-SECRET@127.0.0.1:{receiver.http_port}?api_key=KEY-SECRET"
    result = run_cli("watch", "--once", "--verbose", "--endpoint", endpoint, env=env)
    assert result.returncode == 0, result.stderr
    request = receiver.of("traces")[0]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"alice:pw-SECRET").decode()
    assert request.query == "api_key=KEY-SECRET"
    assert "SECRET" not in result.stderr and "SECRET" not in result.stdout
    receiver.stop()
    failed = run_cli("watch", "--once", "--verbose", "--endpoint", endpoint, env=env)
    assert failed.returncode == 1 and "connection refused" in failed.stderr
    assert "SECRET" not in failed.stderr


def test_a_broken_endpoint_url_is_one_line(env: dict[str, str]) -> None:
    result = run_cli("watch", "--once", env={**env, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://[::1"})
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "error: OTEL_EXPORTER_OTLP_ENDPOINT: 'http://[::1' is not a valid URL" in result.stderr
