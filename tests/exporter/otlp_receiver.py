"""A real OTLP receiver on 127.0.0.1 for the exporter tests: HTTP and gRPC, decoded with
opentelemetry-proto (no mock of the wire).

HTTP takes protobuf or JSON bodies, gzip or deflate, on /v1/metrics and /v1/traces and
answers with the matching Export*ServiceResponse; gRPC serves the generated Metrics and
Trace services. Every accepted request is kept, decoded, for assertions. `fail_with` makes
it answer an HTTP status (and UNAVAILABLE over gRPC) to test retries; `stop()` and a new
`start()` on the same ports simulate an endpoint that goes away and comes back. `delay_s`
makes it keep a request and answer late (a slow endpoint); `max_body_bytes` makes it refuse
larger bodies with 413, as nginx's `client_max_body_size` does.
"""

from __future__ import annotations

import gzip
import ssl
import subprocess
import sys
import threading
import time
import zlib
from concurrent import futures
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import trustme
from google.protobuf.message import Message
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from agent_usage.exporters import otlp_json

_REQUESTS = {
    "/v1/metrics": ("metrics", metrics_service_pb2.ExportMetricsServiceRequest),
    "/v1/traces": ("traces", trace_service_pb2.ExportTraceServiceRequest),
}
_RESPONSES = {
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "traces": trace_service_pb2.ExportTraceServiceResponse,
}


@dataclass(frozen=True)
class Received:
    """One accepted export request, decoded."""

    signal: str
    transport: str
    content_type: str
    content_encoding: str
    headers: dict[str, str]
    message: Message
    body_bytes: int = 0
    query: str = ""


def attributes(key_values: Any) -> dict[str, Any]:
    """OTLP KeyValue list to a plain dict."""
    result = {}
    for kv in key_values:
        kind = kv.value.WhichOneof("value")
        result[kv.key] = getattr(kv.value, kind) if kind else None
    return result


def start_watch(
    env: dict[str, str], endpoint: str, interval: float, stderr: int = subprocess.PIPE
) -> subprocess.Popen:
    """The real `agent-usage watch` loop in a child process, exporting to `endpoint`."""
    return subprocess.Popen(
        [sys.executable, "-m", "agent_usage", "watch", "--endpoint", endpoint, "--interval", str(interval)],
        env=env,
        stderr=stderr,
        text=True,
    )


class OtlpReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_with: int | None = None
        self.reject_spans = 0
        self.delay_s = 0.0
        self.max_body_bytes: int | None = None
        self.refused_too_large = 0
        self.http_port = 0
        self.grpc_port = 0
        self.scheme = "http"
        self._lock = threading.Lock()
        self._http: ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, tls: trustme.CA | None = None) -> OtlpReceiver:
        """Serve on the same ports as before (ephemeral the first time); HTTPS/TLS with `tls`'s cert."""
        self._http = ThreadingHTTPServer(("127.0.0.1", self.http_port), self._handler())
        self._http.daemon_threads = True
        server_cert = tls.issue_cert("127.0.0.1", "localhost") if tls is not None else None
        if server_cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_cert.configure_cert(context)
            self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.http_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._grpc = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(self._metrics_servicer(), self._grpc)
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(self._trace_servicer(), self._grpc)
        address = f"127.0.0.1:{self.grpc_port}"
        if server_cert is None:
            self.grpc_port = self._grpc.add_insecure_port(address)
        else:
            key_and_chain = (server_cert.private_key_pem.bytes(), server_cert.cert_chain_pems[0].bytes())
            self.grpc_port = self._grpc.add_secure_port(address, grpc.ssl_server_credentials([key_and_chain]))
        self.scheme = "http" if server_cert is None else "https"
        self._grpc.start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait()
            self._grpc = None

    @property
    def http_endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.grpc_port}"

    # -- what arrived ------------------------------------------------------------------
    def of(self, signal: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.signal == signal]

    def latest_metrics(self) -> dict[tuple[str, frozenset], dict[str, Any]]:
        """The points of the last metrics request: (name, attributes) -> start, time, value, flags."""
        requests = self.of("metrics")
        if not requests:
            return {}
        points = {}
        for resource_metrics in requests[-1].message.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.sum.data_points:
                        attrs = attributes(point.attributes)
                        points[(metric.name, frozenset(attrs.items()))] = {
                            "start": point.start_time_unix_nano,
                            "time": point.time_unix_nano,
                            "value": point.as_int
                            if point.WhichOneof("value") == "as_int"
                            else point.as_double,
                            "unit": metric.unit,
                            "temporality": metric.sum.aggregation_temporality,
                            "monotonic": metric.sum.is_monotonic,
                        }
        return points

    def latest_gauges(self) -> dict[tuple[str, frozenset], float]:
        """The gauge points of the last metrics request: (name, attributes) -> value."""
        requests = self.of("metrics")
        gauges = {}
        for resource_metrics in requests[-1].message.resource_metrics if requests else []:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.WhichOneof("data") != "gauge":
                        continue
                    for point in metric.gauge.data_points:
                        attrs = frozenset(attributes(point.attributes).items())
                        gauges[(metric.name, attrs)] = point.as_double
        return gauges

    def resource(self, signal: str) -> dict[str, Any]:
        message = self.of(signal)[-1].message
        container = message.resource_metrics if signal == "metrics" else message.resource_spans
        return attributes(container[0].resource.attributes)

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, in arrival order."""
        spans = []
        for request in self.of("traces"):
            for resource_spans in request.message.resource_spans:
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        spans.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "start": span.start_time_unix_nano,
                                "end": span.end_time_unix_nano,
                                "kind": span.kind,
                                "attributes": attributes(span.attributes),
                            }
                        )
        return spans

    # -- servers -----------------------------------------------------------------------
    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _response(self, signal: str) -> Message:
        response = _RESPONSES[signal]()
        if signal == "traces" and self.reject_spans:
            response.partial_success.rejected_spans = self.reject_spans
            response.partial_success.error_message = "rejected by the test receiver"
        return response

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                path, _, query = self.path.partition("?")
                route = _REQUESTS.get(path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if route is None:
                    self.send_error(404)
                    return
                status = receiver.fail_with
                if receiver.max_body_bytes is not None and len(body) > receiver.max_body_bytes:
                    receiver.refused_too_large += 1
                    status = 413
                if status is not None:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                signal, request_cls = route
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                content_type = self.headers.get("Content-Type", "")
                message = request_cls()
                if content_type == "application/json":
                    otlp_json.decode(body, message)
                else:
                    message.ParseFromString(body)
                receiver._record(
                    Received(
                        signal,
                        "http",
                        content_type,
                        encoding,
                        {k.lower(): v for k, v in self.headers.items()},
                        message,
                        len(body),
                        query,
                    )
                )
                if receiver.delay_s:  # kept already; the answer comes late
                    time.sleep(receiver.delay_s)
                response = receiver._response(signal)
                payload = (
                    otlp_json.encode(response)
                    if content_type == "application/json"
                    else (response.SerializeToString())
                )
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _grpc_export(self, signal: str, request: Message, context: grpc.ServicerContext) -> Message:
        if self.fail_with is not None:
            context.abort(grpc.StatusCode.UNAVAILABLE, f"test receiver failing with {self.fail_with}")
        headers = {k: v for k, v in context.invocation_metadata()}
        self._record(Received(signal, "grpc", "application/grpc", "", headers, request))
        return self._response(signal)

    def _metrics_servicer(self) -> metrics_service_pb2_grpc.MetricsServiceServicer:
        receiver = self

        class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
            def Export(self, request: Message, context: grpc.ServicerContext) -> Message:  # noqa: N802
                return receiver._grpc_export("metrics", request, context)

        return Metrics()

    def _trace_servicer(self) -> trace_service_pb2_grpc.TraceServiceServicer:
        receiver = self

        class Traces(trace_service_pb2_grpc.TraceServiceServicer):
            def Export(self, request: Message, context: grpc.ServicerContext) -> Message:  # noqa: N802
                return receiver._grpc_export("traces", request, context)

        return Traces()
