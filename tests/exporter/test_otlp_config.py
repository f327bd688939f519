"""OTLP settings from the standard environment variables, identity, and the series pinning rules."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import duckdb
import pytest

from agent_usage import export_queries, store
from agent_usage.errors import ConfigError
from agent_usage.export_queries import exported_project_sql
from agent_usage.exporters import metrics
from agent_usage.exporters.identity import Identity, Privacy, identity, machine_id, session_uuid, short_hash
from agent_usage.exporters.otlp_config import CliOverrides, export_interval_s, resolve_target
from agent_usage.store import export_state


def test_defaults_are_http_protobuf_on_localhost() -> None:
    target = resolve_target("metrics", {})
    assert (target.protocol, target.url, target.timeout_s, target.compression) == (
        "http/protobuf",
        "http://localhost:4318/v1/metrics",
        10.0,
        "none",
    )
    assert resolve_target("traces", {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}).grpc_target == "localhost:4317"


def test_generic_endpoint_gets_the_signal_path_and_specific_is_verbatim() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318/base/",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://spans.example.com/ingest",
    }
    assert resolve_target("metrics", env).url == "https://otel.example.com:4318/base/v1/metrics"
    assert resolve_target("traces", env).url == "https://spans.example.com/ingest"
    flagged = resolve_target("traces", env, CliOverrides(endpoint="http://127.0.0.1:9999"))
    assert flagged.url == "http://127.0.0.1:9999/v1/traces"


def test_protocol_precedence_flag_then_signal_then_generic() -> None:
    env = {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"}
    assert resolve_target("metrics", env).protocol == "http/json"
    assert resolve_target("traces", env).protocol == "grpc"
    assert resolve_target("traces", env, CliOverrides(protocol="http/protobuf")).protocol == "http/protobuf"
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: unknown OTLP protocol 'udp'"):
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "udp"})


def test_headers_signal_replaces_generic_and_values_are_decoded() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20abc,x-tenant=a",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-only=traces",
    }
    assert resolve_target("metrics", env).headers == {"authorization": "Bearer abc", "x-tenant": "a"}
    assert resolve_target("traces", env).headers == {"x-only": "traces"}
    added = resolve_target("metrics", env, CliOverrides(headers=("x-tenant=b",)))
    assert added.headers == {"authorization": "Bearer abc", "x-tenant": "b"}
    assert "abc" not in added.describe() and "authorization" in added.describe()
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_HEADERS: item 1 is not in the form"):
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_HEADERS": "oops"})


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("authorization: Bearer SECRET", "header 'authorization'"),
        ("Authorization: Bearer SECRET==", "header 'authorization'"),
        ("x-tenant=a,SECRET", "item 2"),
        ("x-tenant=a, Bearer SECRET", "item 2"),
    ],
)
def test_a_malformed_header_is_named_and_its_secret_never_shown(value: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_target("traces", {"OTEL_EXPORTER_OTLP_HEADERS": value})
    message = caught.value.message
    assert f"OTEL_EXPORTER_OTLP_HEADERS: {named} is not in the form key=value" in message
    assert "SECRET" not in message


def test_timeout_is_milliseconds_as_the_spec_says() -> None:
    assert resolve_target("metrics", {"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}).timeout_s == 2.5
    assert resolve_target("metrics", {}, CliOverrides(timeout_s=3)).timeout_s == 3
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' is not a positive number"):
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"})


def test_compression_certificates_and_urls_are_checked(tmp_path: Path) -> None:
    assert resolve_target("metrics", {"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP"}).compression == "gzip"
    with pytest.raises(ConfigError, match="unknown compression 'zstd'"):
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"})
    with pytest.raises(
        ConfigError, match=r"OTEL_EXPORTER_OTLP_CERTIFICATE: .*missing.pem is not a readable file"
    ):
        resolve_target("metrics", {"OTEL_EXPORTER_OTLP_CERTIFICATE": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match="--endpoint: 'ftp://x' is not an http:// or https:// URL"):
        resolve_target("metrics", {}, CliOverrides(endpoint="ftp://x"))


def test_interval_from_flag_or_environment_in_milliseconds() -> None:
    assert export_interval_s({}, None) == 60
    assert export_interval_s({"OTEL_METRIC_EXPORT_INTERVAL": "15000"}, None) == 15
    assert export_interval_s({"OTEL_METRIC_EXPORT_INTERVAL": "15000"}, 5) == 5
    with pytest.raises(ConfigError, match="OTEL_METRIC_EXPORT_INTERVAL"):
        export_interval_s({"OTEL_METRIC_EXPORT_INTERVAL": "-1"}, None)


def test_machine_id_is_stable_and_not_the_raw_os_id(tmp_path: Path) -> None:
    first = machine_id(tmp_path, {})
    assert first == machine_id(tmp_path, {})
    os_id = Path("/etc/machine-id")
    raw = os_id.read_text().strip() if os_id.exists() else ""
    assert not raw or raw not in first.replace("-", "")
    assert machine_id(tmp_path, {"AGENT_USAGE_MACHINE_ID": "laptop-7"}) == machine_id(
        tmp_path / "other", {"AGENT_USAGE_MACHINE_ID": "laptop-7"}
    )


def test_resource_environment_overrides_our_defaults(tmp_path: Path) -> None:
    env = {
        "AGENT_USAGE_MACHINE_ID": "m",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=dev,team=a%20b",
        "OTEL_SERVICE_NAME": "usage-laptops",
    }
    resource = identity(tmp_path, env).resource_attributes
    assert resource["service.name"] == "usage-laptops"
    assert resource["team"] == "a b" and resource["deployment.environment"] == "dev"
    assert resource["service.instance.id"] == resource["agent.machine.id"]


def test_session_ids_become_uuids_for_the_dashboard() -> None:
    claude = "aaaaaaaa-0000-4000-8000-00000000000a"
    assert session_uuid("claude-code", claude) == claude
    gemini = session_uuid("gemini-cli", "2026-11-16-web-session")
    assert uuid.UUID(gemini).version == 5
    assert gemini == session_uuid("gemini-cli", "2026-11-16-web-session")
    assert gemini != session_uuid("pi", "2026-11-16-web-session")


def test_project_hash_in_sql_equals_python() -> None:
    privacy = Privacy(projects="hash")
    con = duckdb.connect()
    value = con.execute(f"SELECT {exported_project_sql('p', 'hash')} FROM (SELECT 'shop' AS p)").fetchone()[0]
    assert value == privacy.project("shop") == short_hash("shop")
    assert Privacy(projects="drop").project("shop") is None
    with pytest.raises(ConfigError, match="--paths: 'blur' is not one of keep, hash, drop"):
        Privacy(paths="blur")


def _point(value: float, project: str = "shop", start: int = 100) -> metrics.Point:
    return metrics.Point(
        "agent.requests", {"agent.harness.name": "pi", "agent.project.name": project}, start, value
    )


def test_series_never_go_down_and_keep_their_start(tmp_path: Path) -> None:
    with store.connect(tmp_path / "s.duckdb") as con:
        export_state.record_series(con, metrics.accepted_rows([_point(10, start=100)], "p1"))
        accepted = export_queries.accepted_series(con)
    # a lower recomputed total (a price change, a lost file) and a later first event
    (point,) = metrics.pinned(accepted, [_point(7, start=500)], "p1")
    assert (point.value, point.start_ns) == (10, 100)
    (point,) = metrics.pinned(accepted, [_point(12, start=500)], "p1")
    assert (point.value, point.start_ns) == (12, 100)


def test_lost_series_carry_on_only_under_the_same_profile(tmp_path: Path) -> None:
    ident = Identity(user="u", machine="m", resource_attributes={})
    keep, hashed = metrics.profile(ident, Privacy()), metrics.profile(ident, Privacy(projects="hash"))
    with store.connect(tmp_path / "s.duckdb") as con:
        export_state.record_series(con, metrics.accepted_rows([_point(10, "shop"), _point(3, "api")], keep))
        accepted = export_queries.accepted_series(con)
    carried = metrics.pinned(accepted, [_point(10, "shop")], keep)
    assert sorted(p.value for p in carried) == [3, 10]
    switched = metrics.pinned(accepted, [_point(10, short_hash("shop"))], hashed)
    assert [p.attributes["agent.project.name"] for p in switched] == [short_hash("shop")]


def _prometheus_name(spec: metrics.MetricSpec) -> str:
    """Prometheus' default OTLP translation: dots to underscores, unit suffix, `_total`."""
    unit = "" if spec.unit.startswith("{") else f"_{spec.unit}"
    return spec.name.replace(".", "_") + unit + "_total"


def test_grafana_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads(
        (Path(__file__).parent.parent.parent / "docs" / "exporter" / "grafana-dashboard.json").read_text()
    )
    exported = {_prometheus_name(spec) for spec in metrics.METRICS}
    queried = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            queried |= set(re.findall(r"[A-Za-z_]+_total", target["expr"]))
    for variable in dashboard["templating"]["list"]:
        queried |= set(re.findall(r"[A-Za-z_]+_total", variable.get("definition", "")))
    assert queried and queried <= exported, queried - exported
    labels = set()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            labels |= set(re.findall(r"by \(([a-z_]+)\)", target["expr"]))
    assert labels <= {
        "gen_ai_request_model",
        "agent_user_id",
        "agent_harness_name",
        "agent_project_name",
        "gen_ai_provider_name",
    }


def test_exported_totals_do_not_depend_on_the_order_rows_were_summed(tmp_path: Path) -> None:
    """0.1 + 0.2 + 0.3 is 0.6000000000000001 one way and 0.6 the other, and DuckDB does not
    promise an order; a store rebuilt from the same events must never send a cumulative counter
    that drops by 1e-17 (a reset to Prometheus). Ten costs of 0.1 sum to 0.9999999999999999 in
    any order, which pins that the exported value is rounded and not the raw float sum."""
    from datetime import datetime

    from agent_usage.records import UsageEvent

    def events(costs: list[float]) -> list[UsageEvent]:
        return [
            UsageEvent(
                f"cc:{i}",
                datetime(2026, 3, 1, 9, i),
                "claude-code",
                "s",
                "claude-sonnet-4-5",
                input_tokens=1,
                cost_reported_usd=cost,
                provider="anthropic",
                source_path="/a",
            )
            for i, cost in enumerate(costs)
        ]

    ident = Identity(user="u", machine="m", resource_attributes={})
    raw_sums: dict[str, float] = {}
    exported: dict[str, list[float]] = {}
    stores = {"forward": [0.1, 0.2, 0.3], "backward": [0.3, 0.2, 0.1], "tenths": [0.1] * 10}
    for name, costs in stores.items():
        with store.connect(tmp_path / f"{name}.duckdb") as con:
            store.write_batch(con, [store.encode_events(events(costs))], [], [])
            raw_sums[name] = con.execute("SELECT sum(cost_reported_usd) FROM events").fetchone()[0]
            models, projects = export_queries.model_totals(con), export_queries.project_totals(con)
        points = metrics.current_points(models, projects, ident)
        exported[name] = [p.value for p in points if p.metric == "agent.cost.usage"]
    assert raw_sums["tenths"] != 1.0  # the raw float sum really is off
    assert exported["tenths"] == [1.0]
    assert exported["forward"] == exported["backward"] == [0.6]


def test_sdk_disabled_and_a_delta_preference_are_read_here() -> None:
    from agent_usage.exporters.otlp_config import sdk_disabled, temporality_warning

    assert sdk_disabled({"OTEL_SDK_DISABLED": " TRUE "}) and not sdk_disabled({"OTEL_SDK_DISABLED": "false"})
    assert temporality_warning({}) is None
    assert temporality_warning({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "cumulative"}) is None
    warning = temporality_warning({"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Delta"})
    assert warning is not None and "=delta is ignored: totals stay cumulative" in warning


def test_doctor_prints_a_long_root_whole() -> None:
    from pathlib import Path as P

    from rich.console import Console

    from agent_usage.doctor import DoctorFacts, SourceReport
    from agent_usage.render.doctor import doctor_view

    root = P("/very/long/checkout/path/that/does/not/fit/in/a/narrow/terminal/at/all/.claude/projects")
    report = SourceReport("claude-code", root, True, 3, 12, None, "deletes transcripts after 30 days")
    console = Console(width=80, record=True, markup=False)
    console.print(doctor_view(DoctorFacts([report], P("/s.duckdb"), None, None)))
    rows = [line.split("│") for line in console.export_text().splitlines() if line.startswith("│")]
    assert "".join(row[2].strip() for row in rows) == str(root)  # the Root column, folded, joined back
