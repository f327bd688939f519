"""Where and how to send OTLP: the standard `OTEL_EXPORTER_OTLP_*` variables, resolved per signal.

We resolve them ourselves instead of leaving it to the SDK exporter classes, which ignore
`OTEL_EXPORTER_OTLP_PROTOCOL`, read the timeout as seconds (the spec says milliseconds) and
have no http/json. Precedence: CLI flag, then the per-signal variable, then the generic one.
Header values are secrets (bearer tokens): `describe()` shows their names only, and an error
about a malformed header never echoes its text. Credentials in an endpoint URL are secrets too:
`user:password@` becomes a Basic authorization header and query values are shown as `***`.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

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

    @property
    def destination(self) -> str:
        """The key under which accepted spans are recorded: the URL without its secrets."""
        return self.display_url

    @property
    def display_url(self) -> str:
        """The URL safe for logs and for the store: query values (`?api_key=`) as `***`."""
        return redact_url(self.url)

    def describe(self) -> str:
        """A one-line description safe for logs: header names, never their values."""
        text = f"{self.signal} -> {self.display_url} ({self.protocol}"
        if self.compression != "none":
            text += f", {self.compression}"
        if self.headers:
            text += ", headers: " + ", ".join(sorted(self.headers))
        return text + ")"


def redact_url(url: str) -> str:
    """`url` without user info and with every query value replaced by `***`."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = urlencode([(key, "***") for key, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _header_name(item: str) -> str | None:
    """What looks like a header name at the start of a malformed item (`authorization: ...`)."""
    name = item.strip().split(":", 1)[0].split(" ", 1)[0].strip()
    looks_like_name = name and len(name) <= 64 and ":" in item and all(c.isalnum() or c in "-_" for c in name)
    return name.lower() if looks_like_name else None


def parse_headers(text: str, source: str) -> dict[str, str]:
    """Parse `k=v,k2=v2` (values URL-encoded, keys lower-cased) as the OTLP spec defines it.

    A malformed item is named by its position (and its header name where it has one), never
    by its text: that text is usually a token.
    """
    headers: dict[str, str] = {}
    for position, item in enumerate(text.split(","), start=1):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or any(c.isspace() or c == ":" for c in key.strip()):
            name = _header_name(item)
            what = f"header {name!r}" if name else f"item {position}"
            raise ConfigError(
                f"{source}: {what} is not in the form key=value (use e.g. authorization=Bearer%20TOKEN;"
                " the value is not shown)"
            )
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
    if protocol == "grpc":
        return url
    parts = urlsplit(url)  # the signal's path goes before any query, never after it
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/v1/{signal}"))


def _split(url: str, source: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as error:
        raise ConfigError(f"{source}: {redact_url_safely(url)!r} is not a valid URL ({error})") from None
    return parts


def redact_url_safely(url: str) -> str:
    """`redact_url`, or a placeholder for text too broken to parse (it may hold a password)."""
    try:
        return redact_url(url)
    except ValueError:
        return "<unparsable URL>" if "@" in url or "?" in url else url


def _checked_url(url: str, source: str, protocol: str) -> str:
    if protocol == "grpc" and "://" not in url:
        url = f"http://{url}"
    parts = _split(url, source)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{source}: {redact_url_safely(url)!r} is not an http:// or https:// URL")
    return url


def _credentials(url: str) -> tuple[str, dict[str, str]]:
    """(`url` without `user:password@`, the Basic authorization header it stood for)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, {}
    userinfo, _, host = parts.netloc.rpartition("@")
    token = base64.b64encode(unquote(userinfo).encode()).decode()
    return urlunsplit(parts._replace(netloc=host)), {"authorization": f"Basic {token}"}


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
    url, basic_auth = _credentials(_endpoint(env, signal, protocol, cli))
    insecure_var = _pick(env, signal, "INSECURE")
    insecure = cli.insecure if cli.insecure is not None else bool(insecure_var and insecure_var[1] == "true")
    return SignalTarget(
        signal=signal,
        protocol=protocol,
        url=url,
        headers={**basic_auth, **_headers(env, signal, cli)},
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


def sdk_disabled(env: Mapping[str, str]) -> bool:
    """`OTEL_SDK_DISABLED=true`: the standard switch that turns every export off."""
    return env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def temporality_warning(env: Mapping[str, str]) -> str | None:
    """Why a delta temporality preference is ignored, when one is set."""
    temporality = env.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "").strip().lower()
    if temporality not in ("delta", "lowmemory"):
        return None
    return (
        f"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE={temporality} is ignored: totals stay"
        " cumulative so restarts never double count; convert to delta in a Collector if needed"
    )
