"""Sending one OTLP request over HTTP (protobuf or JSON) or gRPC, with a plain-words failure reason.

The SDK's exporter classes only say SUCCESS or FAILURE and retry inside `export()` for up to
their timeout. The exporter loop needs more: the reason (connection refused, DNS, timeout,
HTTP status) to log once per state change, and one attempt per call so it owns the backoff.
So requests are encoded with the SDK's encoders and sent here: urllib for HTTP, grpcio's
generated OTLP stubs for gRPC.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message

from agent_usage.exporters import otlp_json
from agent_usage.exporters.otlp_config import SignalTarget

USER_AGENT = "agent-usage-otlp"
RETRYABLE_HTTP = frozenset({408, 429, 502, 503, 504})


class ExportFailed(Exception):
    """The endpoint did not accept a request; `reason` is short and safe to log.

    `timed_out`: no answer in time, so the endpoint may still have kept the data.
    `too_large`: the endpoint refused the request for its size (HTTP 413), so a smaller one may pass.
    """

    def __init__(
        self, reason: str, retryable: bool = True, timed_out: bool = False, too_large: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.timed_out = timed_out
        self.too_large = too_large


@dataclass(frozen=True, slots=True)
class Accepted:
    """The endpoint took the request; `rejected` items were refused by it (OTLP partial success)."""

    rejected: int = 0
    message: str = ""


class Transport(Protocol):
    def encode(self, request: Message) -> bytes:
        """The request body as this protocol sends it (before compression)."""
        ...

    def post(self, body: bytes, timeout_s: float | None = None) -> Accepted:
        """Send one encoded request; `timeout_s` overrides the target's timeout."""
        ...

    def close(self) -> None: ...


def send(transport: Transport, request: Message, timeout_s: float | None = None) -> Accepted:
    """Encode and send one request."""
    return transport.post(transport.encode(request), timeout_s)


def _response_for(signal: str) -> Message:
    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
            ExportMetricsServiceResponse,
        )

        return ExportMetricsServiceResponse()
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

    return ExportTraceServiceResponse()


def _accepted(response: Message) -> Accepted:
    if not response.HasField("partial_success"):
        return Accepted()
    partial = response.partial_success
    rejected = getattr(partial, "rejected_data_points", 0) or getattr(partial, "rejected_spans", 0)
    return Accepted(rejected=int(rejected), message=partial.error_message)


def _network_failure(error: BaseException, host: str, timeout_s: float) -> ExportFailed:
    timed_out = isinstance(error, TimeoutError | socket.timeout)
    return ExportFailed(describe_os_error(error, host, timeout_s), timed_out=timed_out)


def describe_os_error(error: BaseException, host: str, timeout_s: float) -> str:
    """Plain words for a network failure: refused, DNS, timeout, TLS, reset."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return f"DNS lookup of {host} failed"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"no answer within {timeout_s:g} s"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected):
        return "connection closed by the endpoint"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


class HttpTransport:
    """OTLP/HTTP with protobuf or JSON bodies, optional gzip/deflate, TLS from the target."""

    def __init__(self, target: SignalTarget) -> None:
        self.target = target
        self._json = target.protocol == "http/json"
        self._context = self._tls_context(target) if target.url.startswith("https:") else None
        self._host = urllib.parse.urlsplit(target.url).hostname or target.url

    @staticmethod
    def _tls_context(target: SignalTarget) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=target.certificate)
        if target.client_certificate:
            context.load_cert_chain(target.client_certificate, target.client_key)
        return context

    def encode(self, request: Message) -> bytes:
        return otlp_json.encode(request) if self._json else request.SerializeToString()

    def _compressed(self, body: bytes) -> tuple[bytes, dict[str, str]]:
        headers = {
            **self.target.headers,
            "Content-Type": "application/json" if self._json else "application/x-protobuf",
            "User-Agent": USER_AGENT,
        }
        if self.target.compression == "gzip":
            body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=6), "gzip"
        elif self.target.compression == "deflate":
            body, headers["Content-Encoding"] = zlib.compress(body), "deflate"
        return body, headers

    def post(self, body: bytes, timeout_s: float | None = None) -> Accepted:
        timeout = timeout_s or self.target.timeout_s
        body, headers = self._compressed(body)
        http_request = urllib.request.Request(self.target.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(http_request, timeout=timeout, context=self._context) as response:
                payload = response.read()
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raise ExportFailed(
                f"HTTP {error.code} {error.reason}".rstrip(),
                retryable=error.code in RETRYABLE_HTTP,
                too_large=error.code == 413,
            ) from None
        except urllib.error.URLError as error:
            reason = error.reason if isinstance(error.reason, BaseException) else OSError(str(error.reason))
            raise _network_failure(reason, self._host, timeout) from None
        except (OSError, http.client.HTTPException) as error:
            raise _network_failure(error, self._host, timeout) from None
        return _accepted(self._parse(payload, content_type))

    def _parse(self, payload: bytes, content_type: str) -> Message:
        response = _response_for(self.target.signal)
        if not payload:
            return response
        try:
            if "json" in content_type:
                return otlp_json.decode(payload, response)
            response.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - an unreadable 2xx body still means accepted
            return _response_for(self.target.signal)
        return response

    def close(self) -> None:
        return None


class GrpcTransport:
    """OTLP/gRPC through the generated service stubs; one channel reused across sends."""

    def __init__(self, target: SignalTarget) -> None:
        import grpc

        self._grpc = grpc
        self.target = target
        if target.insecure:
            self._channel = grpc.insecure_channel(target.grpc_target)
        else:
            self._channel = grpc.secure_channel(target.grpc_target, self._credentials(target))
        self._compression = {
            "gzip": grpc.Compression.Gzip,
            "deflate": grpc.Compression.Deflate,
        }.get(target.compression, grpc.Compression.NoCompression)
        self._call = self._raw_method(target.signal)

    def _credentials(self, target: SignalTarget):  # noqa: ANN202 - grpc.ChannelCredentials
        def read(path: str | None) -> bytes | None:
            if path is None:
                return None
            with open(path, "rb") as handle:
                return handle.read()

        return self._grpc.ssl_channel_credentials(
            root_certificates=read(target.certificate),
            private_key=read(target.client_key),
            certificate_chain=read(target.client_certificate),
        )

    def _raw_method(self, signal: str):  # noqa: ANN202 - a grpc unary callable
        """The service's Export method taking an encoded request (no serializer: bytes as they are)."""
        service = (
            "opentelemetry.proto.collector.metrics.v1.MetricsService"
            if signal == "metrics"
            else "opentelemetry.proto.collector.trace.v1.TraceService"
        )
        return self._channel.unary_unary(
            f"/{service}/Export",
            request_serializer=None,
            response_deserializer=_response_for(signal).FromString,
        )

    def encode(self, request: Message) -> bytes:
        return request.SerializeToString()

    def post(self, body: bytes, timeout_s: float | None = None) -> Accepted:
        timeout = timeout_s or self.target.timeout_s
        try:
            response = self._call(
                body,
                timeout=timeout,
                metadata=tuple(self.target.headers.items()),
                compression=self._compression,
            )
        except self._grpc.RpcError as error:
            code = error.code()
            details = (error.details() or "").splitlines()[0] if error.details() else ""
            reason = _grpc_reason(code.name, details, timeout)
            retryable = code.name in {"UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED"}
            raise ExportFailed(
                reason,
                retryable=retryable,
                timed_out=code.name == "DEADLINE_EXCEEDED",
                too_large=code.name == "RESOURCE_EXHAUSTED" and "larger than max" in details.lower(),
            ) from None
        return _accepted(response)

    def close(self) -> None:
        self._channel.close()


def _grpc_reason(code: str, details: str, timeout_s: float) -> str:
    lowered = details.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "dns resolution failed" in lowered or "name or service not known" in lowered:
        return "DNS lookup failed"
    if "certificate_verify_failed" in lowered:
        return "TLS error: CERTIFICATE_VERIFY_FAILED"
    if "handshake failed" in lowered:
        return "TLS handshake failed"
    if code == "DEADLINE_EXCEEDED":
        return f"no answer within {timeout_s:g} s"
    return f"gRPC {code}" + (f": {details}" if details else "")


def open_transport(target: SignalTarget) -> Transport:
    """The transport for a target's protocol."""
    return GrpcTransport(target) if target.protocol == "grpc" else HttpTransport(target)
