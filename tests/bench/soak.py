"""Soak: the exporter loop, an agent that keeps writing, and reports and ingests back to back,
all on one store, for minutes. The CI test (tests/store/test_concurrency.py) runs the same scenario
for a few seconds with the TUI as well.

Run: python tests/bench/soak.py [--minutes 5]
Prints the operations done, the slowest CLI run, any failures, and whether the store and the
receiver hold every event exactly once. Exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.conftest import (  # noqa: E402
    FIXTURES,
    append_turn,  # noqa: E402
    clean_env,
    reports_env,
    run_cli,
)
from tests.exporter.otlp_receiver import OtlpReceiver, start_watch  # noqa: E402

CORPUS = FIXTURES / "reports"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="agent-usage-soak-"))
    env = clean_env(reports_env(base))
    roots = base / "corpus"
    expected_events = json.loads((CORPUS / "expected.json").read_text())["totals"]["events"]
    receiver = OtlpReceiver().start()
    watch = start_watch(env, receiver.http_endpoint, 1, stderr=subprocess.DEVNULL)
    session = next((roots / "claude" / "projects").rglob("aaaaaaaa-*.jsonl"))
    failures: list[str] = []
    runs = appends = 0
    slowest = 0.0
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline:
        for command in (
            ["report", "daily", "--json"],
            ["ingest", "-q"],
            ["report", "blocks", "--json", "--no-ingest"],
        ):
            started = time.perf_counter()
            result = run_cli(*command, env=env)
            slowest = max(slowest, time.perf_counter() - started)
            runs += 1
            if result.returncode != 0:
                failures.append(
                    f"{' '.join(command)}: exit {result.returncode}: {result.stderr.strip()[:200]}"
                )
        append_turn(session, appends)
        appends += 1
    time.sleep(3)  # one more export tick
    watch.terminate()
    watch.wait(timeout=30)
    final = json.loads(run_cli(["report", "daily", "--json", "--no-ingest"], env).stdout)["totals"]["events"]
    spans = receiver.spans()
    receiver.stop()
    figures = {
        "minutes": args.minutes,
        "cli_runs": runs,
        "turns_appended": appends,
        "slowest_cli_run_s": round(slowest, 2),
        "failures": failures[:20],
        "store_events": final,
        "expected_events": expected_events + appends,
        "spans_received": len(spans),
        "distinct_spans": len({s["span_id"] for s in spans}),
        "watch_exit_code": watch.returncode,
    }
    print(json.dumps(figures, indent=2))
    ok = (
        not failures
        and final == expected_events + appends
        and len(spans) == len({s["span_id"] for s in spans})
    )
    sys.exit(0 if ok and len(spans) == final else 1)


if __name__ == "__main__":
    main()
