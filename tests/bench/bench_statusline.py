"""Benchmark: `agent-usage statusline` as Claude Code calls it, beside `ccusage statusline`.

Run: python tests/bench/bench_statusline.py [--size-mb 200] [--corpus DIR] [--ccusage PATH] [--calls 15]

Generates a history with the demo generator (or reuses `--corpus`), ingests it (the warm store
a `watch` or the TUI keeps), takes its newest Claude Code session as the one Claude Code is
running, and times real child processes with that session's JSON on stdin:
- the session's first call (no cache entry: it reads the session's files into the store and
  works the figures out);
- a cached call (the transcript unchanged), the median of `--calls`;
- a call right after a new turn (it answers from the cache and starts the refresher), and
  how long until the refreshed figures are in the cache;
- a call with no cache on the warm store (the cache file removed before each call);
- ccusage's `statusline` on the same files, cached (its default) and with `--no-cache`.
Prints figures as JSON; asserts nothing, so CI never depends on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent_usage.demo import generate  # noqa: E402
from tests.bench.bench_ingest import append_copy_of_last_turn, ccusage_command  # noqa: E402

CLI = [sys.executable, "-m", "agent_usage"]


def call(args: list[str], payload: bytes, env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and the line printed, for one call with `payload` on stdin."""
    started = time.perf_counter()
    done = subprocess.run(args, input=payload, capture_output=True, env={**os.environ, **env}, timeout=120)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()[-300:]}")
    return seconds, done.stdout.decode().strip()


def median_call(args: list[str], payload: bytes, env: dict[str, str], calls: int, before=None) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(calls):
        if before is not None:
            before()
        times.append(call(args, payload, env)[0])
    return statistics.median(times)


def newest_session(claude_root: Path) -> Path:
    mains = [p for p in claude_root.rglob("*.jsonl") if "subagents" not in p.parts]
    return max(mains, key=lambda p: p.stat().st_mtime_ns)


def payload_for(transcript: Path) -> bytes:
    return json.dumps(
        {
            "session_id": transcript.stem,
            "transcript_path": str(transcript),
            "cwd": "/home/dev/project",
            "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
            "workspace": {"current_dir": "/home/dev/project", "project_dir": "/home/dev/project"},
            "cost": {"total_cost_usd": 1.0},
        }
    ).encode()


def wait_for_refresh(cache: Path, before: float, timeout: float = 60) -> float:
    """Seconds until the cache file changes after `before` (its mtime)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if cache.exists() and cache.stat().st_mtime > before:
            return time.perf_counter() - started
        time.sleep(0.01)
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=float, default=200)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--ccusage")
    parser.add_argument("--calls", type=int, default=15)
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-statusline-"))
    if args.corpus and (args.corpus / "env.json").exists():
        corpus_env = json.loads((args.corpus / "env.json").read_text())
    else:
        root = args.corpus or base / "corpus"
        corpus_env = generate(root, target_bytes=int(args.size_mb * 1_000_000), seed=11).env
        (root / "env.json").write_text(json.dumps(corpus_env))
    env = {**corpus_env, "AGENT_USAGE_HOME": str(base / "au")}
    db = base / "au" / "data" / "usage.duckdb"
    started = time.perf_counter()
    subprocess.run([*CLI, "ingest", "-q"], env={**os.environ, **env}, check=True, capture_output=True)
    figures: dict[str, object] = {"warm_store_ingest_s": round(time.perf_counter() - started, 2)}

    transcript = newest_session(Path(corpus_env["CLAUDE_CONFIG_DIR"]))
    payload = payload_for(transcript)
    ours = [*CLI, "statusline"]
    cache = db.with_name(db.name + ".statusline")
    first, line = call(ours, payload, env)
    figures |= {"first_call_of_a_session_s": round(first, 3), "line": line}
    figures["session_tokens"] = json.loads(call([*ours, "--json"], payload, env)[1])["session"]["tokens"]
    figures["cached_call_median_s"] = round(median_call(ours, payload, env, args.calls), 3)

    append_copy_of_last_turn(transcript)
    before = cache.stat().st_mtime
    changed, stale_line = call(ours, payload, env)
    figures["call_after_a_new_turn_s"] = round(changed, 3)
    figures["refresher_done_after_s"] = round(wait_for_refresh(cache, before), 3)
    figures["line_after_refresh"] = call(ours, payload, env)[1]
    refreshed = json.loads(call([*ours, "--json"], payload, env)[1])
    figures["session_tokens_after_refresh"] = refreshed["session"]["tokens"]

    figures["uncached_call_on_warm_store_median_s"] = round(
        median_call(
            ours, payload, env, max(args.calls // 3, 3), before=lambda: cache.unlink(missing_ok=True)
        ),
        3,
    )
    command = ccusage_command(args.ccusage)
    if command is None:
        figures["ccusage"] = "not run (--ccusage none, or no ccusage and no npx)"
    else:
        theirs = [*command, "statusline", "--offline"]
        try:
            figures["ccusage_line"] = call(theirs, payload, env)[1]
            figures["ccusage_cached_median_s"] = round(median_call(theirs, payload, env, args.calls), 3)
            figures["ccusage_no_cache_median_s"] = round(
                median_call([*theirs, "--no-cache"], payload, env, max(args.calls // 3, 3)), 3
            )
        except SystemExit as error:
            figures["ccusage"] = f"could not run: {error}"
    figures["python"] = sys.version.split()[0]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
