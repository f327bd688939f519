"""The OTLP exporter against a real receiver on 127.0.0.1 (HTTP protobuf/JSON and gRPC).

The oracle is `fixtures/reports/expected.json` (hand-worked tokens and cost per event): the
decoded metrics must equal its totals per series, and the spans must be its events, once.
Most tests run the real CLI (`watch --once`, `watch`) in a subprocess.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trustme

from agent_usage import heartbeat
from agent_usage.export_loop import ExportLoop, WatchOptions, run_forever
from agent_usage.exporters.identity import short_hash
from agent_usage.exporters.otlp_config import CliOverrides
from tests.conftest import FIXTURES, clean_env, reports_env, run_cli
from tests.exporter.otlp_receiver import OtlpReceiver, start_watch

CORPUS = FIXTURES / "reports"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
EVENTS = EXPECTED["events"]
MACHINE = "5b0f6a8e-1d1c-4c53-9d7e-3f2b8f0c2a11"
TOKEN_METRICS = {
    "gen_ai.client.inference.usage.input_tokens": lambda e: e["input"] + e["cache_read"] + e["cache_write"],
    "gen_ai.client.inference.usage.output_tokens": lambda e: e["output"],
    "gen_ai.client.inference.usage.cache_read.input_tokens": lambda e: e["cache_read"],
    "gen_ai.client.inference.usage.cache_write.input_tokens": lambda e: e["cache_write"],
    "agent.requests": lambda e: 1,
    "agent.cost.usage": lambda e: e["reported"] if e["reported"] else e["calculated"],
}


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture
def corpus_env(tmp_path: Path) -> dict[str, str]:
    """A writable copy of the reports corpus, its prices, a fixed user and machine id."""
    return {**reports_env(tmp_path), "AGENT_USAGE_MACHINE_ID": MACHINE, "AGENT_USAGE_USER": "dev@example.com"}


def once(env: dict[str, str], receiver: OtlpReceiver, *args: str, protocol: str = "http/protobuf"):
    endpoint = receiver.grpc_endpoint if protocol == "grpc" else receiver.http_endpoint
    return run_cli("watch", "--once", "--endpoint", endpoint, "--protocol", protocol, *args, env=env)


def ns(ts: str) -> int:
    return int(datetime.fromisoformat(ts).replace(tzinfo=UTC).timestamp()) * 1_000_000_000


def expected_series() -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """Per (metric, harness, model, project): the value and the first event's time."""
    series: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for event in EVENTS:
        for metric, value in TOKEN_METRICS.items():
            if value(event) is None:  # an unpriced model has no cost series (never $0)
                continue
            key = (metric, event["harness"], event["model"], event["project"])
            entry = series.setdefault(key, {"value": 0, "start": ns(event["ts"])})
            entry["value"] += value(event)
            entry["start"] = min(entry["start"], ns(event["ts"]))
    return series


def received_series(points: dict) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    result: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for (metric, attributes), point in points.items():
        if metric not in TOKEN_METRICS:
            continue
        attrs = dict(attributes)
        key = (
            metric,
            attrs["agent.harness.name"],
            attrs["gen_ai.request.model"],
            attrs["agent.project.name"],
        )
        assert key not in result, f"two series for {key}"
        result[key] = point
    return result


def assert_matches_corpus(receiver: OtlpReceiver) -> None:
    """Decoded metrics equal the corpus per series; spans are its events, each exactly once."""
    points = receiver.latest_metrics()
    got = received_series(points)
    want = expected_series()
    assert set(got) == set(want)
    for key, truth in want.items():
        assert got[key]["value"] == pytest.approx(truth["value"], abs=1e-12), key
        assert got[key]["start"] == truth["start"], key
    for (metric, attributes), point in points.items():
        assert point["temporality"] == 2 and point["monotonic"], metric  # cumulative, monotonic
        names = {name for name, _ in attributes}
        assert not names & {"session.id", "agent.session.id", "gen_ai.conversation.id", "date"}
        assert dict(attributes)["agent.machine.id"] == MACHINE
        assert dict(attributes)["agent.user.id"] == "dev@example.com"
    totals = EXPECTED["totals"]
    by_metric: Counter[str] = Counter()
    for (metric, _), point in points.items():
        by_metric[metric] += point["value"]
    assert by_metric["gen_ai.client.inference.usage.input_tokens"] == (
        totals["input"] + totals["cache_read"] + totals["cache_write"]
    )
    assert by_metric["gen_ai.client.inference.usage.output_tokens"] == totals["output"]
    assert by_metric["agent.requests"] == totals["events"]
    assert by_metric["agent.cost.usage"] == pytest.approx(totals["cost_auto"], abs=1e-12)
    assert by_metric["agent.sessions"] == len({(e["harness"], e["session"]) for e in EVENTS})

    spans = receiver.spans()
    assert len(spans) == len(EVENTS)
    assert len({s["span_id"] for s in spans}) == len(EVENTS)
    by_start = sorted(spans, key=lambda s: (s["start"], s["attributes"]["gen_ai.usage.output_tokens"]))
    truth = sorted(EVENTS, key=lambda e: (ns(e["ts"]), e["output"]))
    for span, event in zip(by_start, truth, strict=True):
        attrs = span["attributes"]
        assert span["name"] == f"chat {event['model']}"
        assert span["start"] == span["end"] == ns(event["ts"])
        assert attrs["agent.harness.name"] == event["harness"]
        assert attrs["gen_ai.conversation.id"] == event["session"]
        assert uuid.UUID(attrs["agent.session.id"]) and uuid.UUID(attrs["agent.machine.id"])
        # the dashboard's semantics: input without cache; cache reads and writes on their own
        assert attrs["gen_ai.usage.input_tokens"] == event["input"]
        assert attrs["gen_ai.usage.cache_read.input_tokens"] == event["cache_read"]
        assert attrs["gen_ai.usage.cache_creation.input_tokens"] == event["cache_write"]
        assert attrs["gen_ai.usage.output_tokens"] == event["output"]
        cost = event["reported"] if event["reported"] else event["calculated"]
        if cost is None:
            assert "agent.cost.total.usd" not in attrs and attrs["agent.cost.estimation"] == "unreported"
        else:
            assert attrs["agent.cost.total.usd"] == pytest.approx(cost, abs=1e-12)
    resource = receiver.resource("traces")
    assert resource["service.name"] == "agent-usage"
    assert resource["service.instance.id"] == MACHINE


@pytest.mark.parametrize(
    ("protocol", "extra"),
    [("http/protobuf", ()), ("http/json", ()), ("grpc", ()), ("http/protobuf", ("--compression", "gzip"))],
)
def test_export_equals_the_store(
    receiver: OtlpReceiver, corpus_env: dict[str, str], protocol: str, extra: tuple[str, ...]
) -> None:
    result = once(corpus_env, receiver, *extra, protocol=protocol)
    assert result.returncode == 0, result.stderr
    assert "10 spans sent, 0 pending" in result.stderr
    assert_matches_corpus(receiver)
    assert {r.transport for r in receiver.received} == {"grpc" if protocol == "grpc" else "http"}
    if protocol != "grpc":
        content_type = "application/json" if protocol == "http/json" else "application/x-protobuf"
        assert {r.content_type for r in receiver.received} == {content_type}
    if extra:
        assert {r.content_encoding for r in receiver.received} == {"gzip"}


def test_restart_and_rebuild_send_no_duplicate_and_no_reset(
    receiver: OtlpReceiver, corpus_env: dict[str, str]
) -> None:
    assert once(corpus_env, receiver).returncode == 0
    first = receiver.latest_metrics()
    restarted = once(corpus_env, receiver)
    assert restarted.returncode == 0, restarted.stderr
    assert "0 spans sent, 0 pending" in restarted.stderr
    second = receiver.latest_metrics()
    assert {k: (v["start"], v["value"]) for k, v in second.items()} == {
        k: (v["start"], v["value"]) for k, v in first.items()
    }
    assert all(second[k]["time"] >= first[k]["time"] for k in first)
    # a store rebuilt from the same files: same series, same start times, same totals
    (Path(corpus_env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb").unlink()
    rebuilt = once(corpus_env, receiver, "--no-traces")
    assert rebuilt.returncode == 0, rebuilt.stderr
    third = receiver.latest_metrics()
    assert {k: (v["start"], v["value"]) for k, v in third.items()} == {
        k: (v["start"], v["value"]) for k, v in first.items()
    }
    assert len(receiver.spans()) == len(EVENTS)


def test_endpoint_down_then_back_loses_nothing(receiver: OtlpReceiver, corpus_env: dict[str, str]) -> None:
    receiver.stop()
    down = once(corpus_env, receiver)
    assert down.returncode == 1
    assert "metrics export to" in down.stderr and "connection refused" in down.stderr
    assert "error: export failed: metrics: connection refused; traces: connection refused" in down.stderr
    receiver.start()  # the same ports again
    back = once(corpus_env, receiver)
    assert back.returncode == 0, back.stderr
    assert_matches_corpus(receiver)


def test_http_error_status_is_named_and_retried(receiver: OtlpReceiver, corpus_env: dict[str, str]) -> None:
    receiver.fail_with = 503
    failed = once(corpus_env, receiver)
    assert failed.returncode == 1
    assert "HTTP 503 Service Unavailable" in failed.stderr
    receiver.fail_with = None
    assert once(corpus_env, receiver).returncode == 0
    assert_matches_corpus(receiver)


def test_timeout_is_named(corpus_env: dict[str, str]) -> None:
    """An endpoint that accepts the connection and never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        result = run_cli(
            "watch", "--once", "--endpoint", f"http://127.0.0.1:{port}", "--timeout", "0.5",
            env=corpus_env,
        )  # fmt: skip
    assert result.returncode == 1
    assert "no answer within 0.5 s" in result.stderr


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_tls_with_the_configured_ca(tmp_path: Path, corpus_env: dict[str, str], protocol: str) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    receiver = OtlpReceiver().start(tls=ca)
    try:
        untrusted = once(corpus_env, receiver, "--timeout", "5", protocol=protocol)
        assert untrusted.returncode == 1
        assert "failing: TLS error: CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
        trusted = once(
            {**corpus_env, "OTEL_EXPORTER_OTLP_CERTIFICATE": str(tmp_path / "ca.pem")},
            receiver,
            protocol=protocol,
        )
        assert trusted.returncode == 0, trusted.stderr
        assert_matches_corpus(receiver)
    finally:
        receiver.stop()


def test_headers_reach_the_endpoint_and_never_the_log(
    receiver: OtlpReceiver, corpus_env: dict[str, str]
) -> None:
    env = {**corpus_env, "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20s3cr3t-token,x-tenant=team-a"}
    receiver.fail_with = 401
    failed = once(env, receiver, "--verbose")
    assert "HTTP 401" in failed.stderr
    receiver.fail_with = None
    result = once(env, receiver, "--verbose")
    assert result.returncode == 0
    for request in receiver.received:
        assert request.headers["authorization"] == "Bearer s3cr3t-token"
        assert request.headers["x-tenant"] == "team-a"
    assert "s3cr3t" not in failed.stderr + failed.stdout + result.stderr + result.stdout
    grpc_result = once(env, receiver, protocol="grpc")
    assert grpc_result.returncode == 0
    assert receiver.of("traces")[-1].headers["authorization"] == "Bearer s3cr3t-token"


def test_privacy_switches_apply_on_the_wire(receiver: OtlpReceiver, corpus_env: dict[str, str]) -> None:
    result = once(corpus_env, receiver, "--project-names", "hash", "--paths", "drop")
    assert result.returncode == 0, result.stderr
    projects = {e["project"] for e in EVENTS}
    wire = b"".join(r.message.SerializeToString() for r in receiver.received)
    for project in projects:
        assert project.encode() not in wire.replace(b"/work", b"")
    assert b"/home/" not in wire
    exported = {dict(a).get("agent.project.name") for (_, a) in receiver.latest_metrics()}
    assert {short_hash(p) for p in projects} <= exported
    assert all("agent.workspace.cwd" not in s["attributes"] for s in receiver.spans())
    dropped = once(corpus_env, receiver, "--project-names", "drop", "--no-traces")
    assert dropped.returncode == 0
    points = receiver.latest_metrics()
    assert all("agent.project.name" not in dict(a) for (_, a) in points)
    requests = sum(p["value"] for (m, _), p in points.items() if m == "agent.requests")
    assert requests == len(EVENTS)


def test_budgets_are_exported_as_limit_and_spend_gauges(
    receiver: OtlpReceiver, corpus_env: dict[str, str]
) -> None:
    config = Path(corpus_env["AGENT_USAGE_HOME"]) / "config" / "config.toml"
    config.write_text("[budgets]\nmonthly = 0.2\n[budgets.harness.codex]\nweekly = 1\n")
    result = once({**corpus_env, "AGENT_USAGE_NOW": EXPECTED["now"]}, receiver, "--no-traces")
    assert result.returncode == 0, result.stderr
    gauges = {(name, dict(attrs)["agent.budget.name"]): (value, dict(attrs)) for (name, attrs), value in
              receiver.latest_gauges().items()}  # fmt: skip
    assert gauges[("agent.budget.limit", "monthly")][0] == 0.2
    spend, attrs = gauges[("agent.budget.spend", "monthly")]
    assert spend == pytest.approx(EXPECTED["totals"]["cost_auto"], abs=1e-9)
    assert attrs["agent.budget.status"] == "exceeded" and attrs["agent.user.id"] == "dev@example.com"
    codex = sum(e["calculated"] for e in EVENTS if e["harness"] == "codex" and e["ts"] >= "2026-11-16")
    assert gauges[("agent.budget.spend", "weekly harness codex")][0] == pytest.approx(codex, abs=1e-9)
    assert gauges[("agent.budget.spend", "weekly harness codex")][1]["agent.budget.scope.value"] == "codex"
    assert received_series(receiver.latest_metrics())  # the counters still go out beside the gauges


def test_dry_run_prints_otlp_json_and_sends_nothing(
    receiver: OtlpReceiver, corpus_env: dict[str, str]
) -> None:
    result = run_cli("watch", "--dry-run", "--endpoint", receiver.http_endpoint, env=corpus_env)
    assert result.returncode == 0, result.stderr
    documents = [json.loads(chunk) for chunk in result.stdout.replace("}\n{", "}\n\x00{").split("\x00")]
    assert [d["signal"] for d in documents] == ["metrics", "traces"]
    span = documents[1]["request"]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(span["traceId"]) == 32 and len(span["spanId"]) == 16  # hex, as OTLP/JSON requires
    assert span["kind"] == 3  # enums as integers
    assert receiver.received == []
    assert once(corpus_env, receiver).returncode == 0  # nothing was marked as sent
    assert len(receiver.spans()) == len(EVENTS)


def test_bad_configuration_is_one_clear_line(corpus_env: dict[str, str]) -> None:
    result = run_cli("watch", "--once", env={**corpus_env, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/xml"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: OTEL_EXPORTER_OTLP_PROTOCOL: unknown OTLP protocol 'http/xml'; "
        "choose one of http/protobuf, http/json, grpc"
    )


def _options(env: dict[str, str], endpoint: str, **overrides: Any) -> WatchOptions:
    home = Path(env["AGENT_USAGE_HOME"])
    return WatchOptions(
        db_path=home / "data" / "usage.duckdb",
        data_dir=home / "data",
        prices_file=home / "config" / "prices.toml",
        env=env,
        cli=CliOverrides(endpoint=endpoint),
        **overrides,
    )


def test_spans_advance_batch_by_batch(receiver: OtlpReceiver, corpus_env: dict[str, str]) -> None:
    """A batch is marked sent only once accepted: an outage mid-way neither loses nor repeats."""
    exporter = ExportLoop(_options(corpus_env, receiver.http_endpoint, batch_spans=3, send_metrics=False))
    exporter.ingest()
    assert exporter.export_spans(max_spans=6) == (6, 4)
    assert [len(r.message.resource_spans[0].scope_spans[0].spans) for r in receiver.of("traces")] == [3, 3]
    receiver.stop()
    failed = exporter.tick()
    assert not failed.ok and failed.errors == ["traces: connection refused"]
    receiver.start()
    assert exporter.tick().ok
    exporter.close()
    spans = receiver.spans()
    assert len(spans) == len(EVENTS) and len({s["span_id"] for s in spans}) == len(EVENTS)


def test_partial_success_counts_as_accepted(
    receiver: OtlpReceiver, corpus_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    receiver.reject_spans = 2
    exporter = ExportLoop(_options(corpus_env, receiver.http_endpoint, send_metrics=False))
    with caplog.at_level(logging.WARNING, logger="agent_usage"):
        assert exporter.tick().ok
    assert "traces: rejected 2 spans: rejected by the test receiver" in caplog.text
    assert exporter.tick().spans == 0  # not re-sent: the endpoint said it will never take them


def test_loop_logs_state_changes_once_and_catches_up(
    receiver: OtlpReceiver, corpus_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    receiver.fail_with = 503
    exporter = ExportLoop(_options(corpus_env, receiver.http_endpoint, interval_s=0.3))
    stop = threading.Event()
    with caplog.at_level(logging.INFO, logger="agent_usage"):
        loop = threading.Thread(target=run_forever, args=(exporter, stop), daemon=True)
        loop.start()
        deadline = time.monotonic() + 20
        while exporter.health["metrics"].failures < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert exporter.health["metrics"].failures >= 3
        receiver.fail_with = None
        while time.monotonic() < deadline + 20 and (
            len(receiver.spans()) < len(EVENTS) or any(h.failures for h in exporter.health.values())
        ):
            time.sleep(0.05)
        stop.set()
        loop.join(timeout=10)
    failing = [r for r in caplog.records if "failing: HTTP 503" in r.getMessage()]
    assert len(failing) == 2  # one per signal, not one per attempt
    recovered = [r.getMessage() for r in caplog.records if "recovered after" in r.getMessage()]
    assert len(recovered) == 2 and all("failed attempts" in m for m in recovered)
    assert_matches_corpus(receiver)


def _append_claude_turn(env: dict[str, str], output_tokens: int) -> None:
    session = next(Path(env["CLAUDE_CONFIG_DIR"]).rglob("*.jsonl"))
    line = json.loads(session.read_text().splitlines()[-1])
    line["uuid"] = str(uuid.uuid4())
    line["timestamp"] = "2026-11-16T00:30:00.000Z"
    line["message"]["id"] = "msg_live_turn"
    line["requestId"] = "req_live_turn"
    line["message"]["usage"] = {"input_tokens": 7, "output_tokens": output_tokens}
    with session.open("a") as handle:
        handle.write(json.dumps(line) + "\n")


def test_watch_service_follows_new_turns_and_stops_on_sigterm(
    receiver: OtlpReceiver, corpus_env: dict[str, str]
) -> None:
    process = start_watch(clean_env(corpus_env), receiver.http_endpoint, 0.5)
    try:
        deadline = time.monotonic() + 30
        while len(receiver.spans()) < len(EVENTS) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(receiver.spans()) == len(EVENTS)
        store_path = Path(corpus_env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb"
        beat_deadline = time.monotonic() + 20  # written once the first tick has returned
        while heartbeat.read(store_path) is None and time.monotonic() < beat_deadline:
            time.sleep(0.1)
        beat = heartbeat.read(store_path)
        assert (
            beat is not None and beat.pid == process.pid
        )  # it keeps the store current: reports may skip the walk
        # the loop holds no store connection between units of work: reports run beside it
        for _ in range(3):
            beside = run_cli("report", "daily", "--json", "--no-ingest", env=corpus_env)
            assert beside.returncode == 0, beside.stderr
            assert json.loads(beside.stdout)["totals"]["events"] >= len(EVENTS)
        _append_claude_turn(corpus_env, output_tokens=4321)
        while time.monotonic() < deadline + 30:
            if any(s["attributes"]["gen_ai.usage.output_tokens"] == 4321 for s in receiver.spans()):
                break
            time.sleep(0.1)
        outputs = defaultdict(int)
        for (metric, _), point in receiver.latest_metrics().items():
            outputs[metric] += point["value"]
        assert len(receiver.spans()) == len(EVENTS) + 1
        deadline = time.monotonic() + 10
        while outputs["gen_ai.client.inference.usage.output_tokens"] != EXPECTED["totals"]["output"] + 4321:
            assert time.monotonic() < deadline, outputs
            time.sleep(0.1)
            outputs = defaultdict(int)
            for (metric, _), point in receiver.latest_metrics().items():
                outputs[metric] += point["value"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "watching 4 folders" in stderr
    assert heartbeat.read(Path(corpus_env["AGENT_USAGE_HOME"]) / "data" / "usage.duckdb") is None
