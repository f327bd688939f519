"""Benchmark: the exporter's work per tick on a store of a million usage events.

Run: python tests/bench/bench_export.py [--events 1000000] [--spans 20000]
Uses the synthetic store of bench_report.py and the test receiver on 127.0.0.1. Measures:
collecting and pinning every metric series, a first export of `--spans` spans in batches,
the pending-span query once everything is sent (the steady-state cost of every tick) and
the size of a 500-span request in protobuf and JSON. Prints JSON; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent_usage import export_queries, store  # noqa: E402
from agent_usage.export_loop import ExportLoop, WatchOptions  # noqa: E402
from agent_usage.exporters import otlp_json, traces  # noqa: E402
from agent_usage.exporters.otlp_config import CliOverrides  # noqa: E402
from tests.bench.bench_report import fill  # noqa: E402
from tests.exporter.otlp_receiver import OtlpReceiver  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--spans", type=int, default=20_000, help="spans to send in the first-export figure")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="agent-usage-bench-export-"))
    db = base / "bench.duckdb"
    figures: dict[str, object] = {"events": args.events, "fill_seconds": round(fill(db, args.events), 2)}
    receiver = OtlpReceiver().start()
    env = {"AGENT_USAGE_MACHINE_ID": "bench", "AGENT_USAGE_USER": "bench"}
    options = WatchOptions(
        db_path=db,
        data_dir=base,
        prices_file=base / "prices.toml",
        env=env,
        cli=CliOverrides(endpoint=receiver.http_endpoint),
        ingest=False,
    )
    exporter = ExportLoop(options)

    started = time.perf_counter()
    points = exporter.metric_points()
    figures["metric_series"] = len(points)
    figures["collect_metrics_seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    exporter.export_metrics()
    figures["collect_and_send_metrics_seconds"] = round(time.perf_counter() - started, 3)

    started = time.perf_counter()
    sent, _ = exporter.export_spans(max_spans=args.spans)
    elapsed = time.perf_counter() - started
    figures["first_export_spans"] = sent
    figures["first_export_spans_per_second"] = round(sent / elapsed)

    destination = exporter.targets["traces"].destination
    with store.connect(db) as con:  # mark the rest as sent, as after a long first export
        con.execute(
            "INSERT INTO exported_spans SELECT ?, event_key, now()::TIMESTAMP FROM events"
            " ANTI JOIN (SELECT event_key FROM exported_spans) s USING (event_key)",
            [destination],
        )
    started = time.perf_counter()
    with store.connect(db) as con:
        left = export_queries.pending_spans(con, destination, options.batch_spans)
    figures["steady_state_pending_query_seconds"] = round(time.perf_counter() - started, 3)
    assert not left

    with store.connect(db) as con:
        sample = con.execute("SELECT event_key FROM events LIMIT 500").fetchall()
        con.execute(
            "DELETE FROM exported_spans WHERE event_key IN (SELECT unnest(?))", [[k for (k,) in sample]]
        )
        events = export_queries.pending_spans(con, destination, options.batch_spans)
    request = traces.build_request(events, exporter.identity, options.privacy)
    figures["batch_spans"] = len(events)
    figures["request_batch_protobuf_bytes"] = request.ByteSize()
    figures["request_batch_json_bytes"] = len(otlp_json.encode(request))
    figures["store_mb"] = round(db.stat().st_size / 1e6, 1)
    exporter.close()
    receiver.stop()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
