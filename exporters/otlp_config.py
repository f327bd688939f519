"""Where and how to send OTLP: the standard `OTEL_EXPORTER_OTLP_*` variables, resolved per signal.

We resolve them ourselves instead of leaving it to the SDK exporter classes, which ignore
`OTEL_EXPORTER_OTLP_PROTOCOL`, read the timeout as seconds (the spec says milliseconds) and
have no http/json. Precedence: CLI flag, then the per-signal variable, then the generic one.
Header values are secrets (bearer tokens): `describe()` shows their names only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from agent_usage.errors import ConfigError

PROTOCOLS = ("http/protobuf", "http/json", "grpc")
COMPRESSIONS = ("none", "gzip", "deflate")
SIGNALS = ("metrics", "traces")
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_INTERVAL_MS = 60_000


@dataclass(frozen=True, slots=True)
class CliOverrides:
    """The exporter's command-line flags; None means "not given, use the environment"."""

    endpoint: str | None = None
    protocol: str | None = None
    headers: Sequence[str] = ()
    compression: str | None = None
    timeout_s: float | None = None
    insecure: bool | None = None


@dataclass(frozen=True, slots=True)
class SignalTarget:
    """One signal's destination: the URL (HTTP) or host:port (gRPC) and how to talk to it."""

    signal: str
    protocol: str
    url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    compression: str = "none"
    timeout_s: float = DEFAULT_TIMEOUT_MS / 1000
    certificate: str | None = None
    client_key: str | None = None
    client_certificate: str | None = None
    insecure: bool = False

    @property
    def grpc_target(self) -> str:
        """host:port for a gRPC channel (the path of the endpoint is meaningless there)."""
        parts = urlsplit(self.url if "://" in self.url else f"http://{self.url}")
        port = parts.port or (443 if parts.scheme == "https" else 4317)
        return f"{parts.hostname}:{port}"

    def describe(self) -> str:
        """A one-line description safe for logs: header names, never their values."""
        text = f"{self.signal} -> {self.url} ({self.protocol}"
        if self.compression != "none":
            text += f", {self.compression}"
        if self.headers:
            text += ", headers: " + ", ".join(sorted(self.headers))
        return text + ")"


def parse_headers(text: str, source: str) -> dict[str, str]:
    """Parse `k=v,k2=v2` (values URL-encoded, keys lower-cased) as the OTLP spec defines it."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source}: header {item.split('=')[0].strip()!r} is not in the form key=value")
        headers[unquote(key.strip()).lower()] = unquote(value.strip())
    return headers


def _pick(env: Mapping[str, str], signal: str, name: str) -> tuple[str, str] | None:
    """The per-signal variable if set, else the generic one, as (variable name, value)."""
    for var in (f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}", f"OTEL_EXPORTER_OTLP_{name}"):
        value = env.get(var, "").strip()
        if value:
            return var, value
    return None


def _protocol(env: Mapping[str, str], signal: str, cli: CliOverrides) -> str:
    picked = ("--protocol", cli.protocol) if cli.protocol else _pick(env, signal, "PROTOCOL")
    if picked is None:
        return "http/protobuf"
    source, value = picked
    if value not in PROTOCOLS:
        raise ConfigError(f"{source}: unknown OTLP protocol {value!r}; choose one of {', '.join(PROTOCOLS)}")
    return value


def _endpoint(env: Mapping[str, str], signal: str, protocol: str, cli: CliOverrides) -> str:
    """Per-signal endpoints are used as given; a generic base gets `/v1/<signal>` on HTTP."""
    specific = env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", "").strip()
    if cli.endpoint:
        base = cli.endpoint.strip()
    elif specific:
        return _checked_url(specific, f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT", protocol)
    else:
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        base = base or (DEFAULT_GRPC_ENDPOINT if protocol == "grpc" else DEFAULT_HTTP_ENDPOINT)
    source = "--endpoint" if cli.endpoint else "OTEL_EXPORTER_OTLP_ENDPOINT"
    url = _checked_url(base, source, protocol)
    return url if protocol == "grpc" else f"{url.rstrip('/')}/v1/{signal}"


def _checked_url(url: str, source: str, protocol: str) -> str:
    if protocol == "grpc" and "://" not in url:
        url = f"http://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: {url!r} is not an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise ConfigError(f"{source}: {url!r} has an invalid port") from error
    return url


def _seconds(flag: str, flag_seconds: float | None, picked: tuple[str, str] | None, default_ms: int) -> float:
    """A duration from a flag (seconds), else a variable (milliseconds, per the spec), else the default."""
    if flag_seconds is not None:
        if flag_seconds <= 0:
            raise ConfigError(f"{flag}: must be more than 0 seconds")
        return flag_seconds
    if picked is None:
        return default_ms / 1000
    source, value = picked
    try:
        millis = float(value)
    except ValueError:
        millis = -1
    if millis <= 0:
        raise ConfigError(f"{source}: {value!r} is not a positive number of milliseconds")
    return millis / 1000


def _timeout_s(env: Mapping[str, str], signal: str, cli: CliOverrides) -> float:
    picked = _pick(env, signal, "TIMEOUT")
    return _seconds("--timeout", cli.timeout_s, picked, DEFAULT_TIMEOUT_MS)


def _compression(env: Mapping[str, str], signal: str, cli: CliOverrides) -> str:
    picked = ("--compression", cli.compression) if cli.compression else _pick(env, signal, "COMPRESSION")
    if picked is None:
        return "none"
    source, value = picked
    if value.lower() not in COMPRESSIONS:
        raise ConfigError(f"{source}: unknown compression {value!r}; choose one of {', '.join(COMPRESSIONS)}")
    return value.lower()


def _headers(env: Mapping[str, str], signal: str, cli: CliOverrides) -> dict[str, str]:
    """The per-signal variable replaces the generic one (spec); `--header` flags add to either."""
    picked = _pick(env, signal, "HEADERS")
    headers = parse_headers(picked[1], picked[0]) if picked else {}
    for flag in cli.headers:
        headers.update(parse_headers(flag, "--header"))
    return headers


def _file(env: Mapping[str, str], signal: str, name: str) -> str | None:
    picked = _pick(env, signal, name)
    if picked is None:
        return None
    source, value = picked
    if not os.path.isfile(value):
        raise ConfigError(f"{source}: {value} is not a readable file")
    return value


def resolve_target(signal: str, env: Mapping[str, str], cli: CliOverrides | None = None) -> SignalTarget:
    """Resolve one signal's destination from the flags and the environment."""
    cli = cli or CliOverrides()
    protocol = _protocol(env, signal, cli)
    url = _endpoint(env, signal, protocol, cli)
    insecure_var = _pick(env, signal, "INSECURE")
    insecure = cli.insecure if cli.insecure is not None else bool(insecure_var and insecure_var[1] == "true")
    return SignalTarget(
        signal=signal,
        protocol=protocol,
        url=url,
        headers=_headers(env, signal, cli),
        compression=_compression(env, signal, cli),
        timeout_s=_timeout_s(env, signal, cli),
        certificate=_file(env, signal, "CERTIFICATE"),
        client_key=_file(env, signal, "CLIENT_KEY"),
        client_certificate=_file(env, signal, "CLIENT_CERTIFICATE"),
        insecure=insecure or urlsplit(url).scheme == "http",
    )


def export_interval_s(env: Mapping[str, str], cli_interval_s: float | None) -> float:
    """`--interval` (seconds), else `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds), else 60 s."""
    value = env.get("OTEL_METRIC_EXPORT_INTERVAL", "").strip()
    picked = ("OTEL_METRIC_EXPORT_INTERVAL", value) if value else None
    return _seconds("--interval", cli_interval_s, picked, DEFAULT_INTERVAL_MS)
