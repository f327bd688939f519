"""Benchmark: ingest and reports on a generated history, side by side with ccusage.

Run: python tests/bench/bench_ingest.py [--size-mb 1000] [--corpus DIR] [--ccusage PATH] [--cold-runs N]

Generates a corpus with the demo generator (every harness, Claude-heavy, long tool
output lines, duplicate content-block lines, subagents, Codex re-emits, pi forks), or reuses
one from `--corpus` (made by an earlier run). It then runs the real CLI in child processes
and prints, each with the child's own peak RSS (os.wait4):
- the first answer for the last 7 days on a history never read (`report daily --last 7d`
  into an empty store), and how many files it left unread;
- the TUI on a history never read: until this week's card shows, and until the full read;
- cold ingest into an empty store;
- `report daily --json` on the unchanged history (the incremental check of every file
  included), the same report with `--no-ingest`, and both while a live `watch` keeps the
  store current and answers them over its socket (and `ingest` right after 100 new turns);
- `ingest` after appending 100 assistant turns to 10 existing Claude sessions, and the
  in-process ingest of only those files that the TUI and `watch` run on a watcher event;
- `report daily --json --no-ingest` on a store of a million events (bench_report's filler);
- start-up (`--help`) and whether `report` imports textual or opentelemetry;
- ccusage (`daily --offline --json`) on the same files, every harness, when it can run
  here, with ratios, and its tokens per agent next to ours per harness (same work done).
Asserts nothing, so CI never depends on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agent_usage.demo import generate  # noqa: E402
from agent_usage.ingest import ingest  # noqa: E402
from tests.bench.bench_report import fill  # noqa: E402

CLI = [sys.executable, "-m", "agent_usage"]


def timed(args: list[str], env: dict[str, str], stdout: int = subprocess.DEVNULL) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=stdout, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed with {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024


def best(args: list[str], env: dict[str, str], runs: int = 3) -> tuple[float, float]:
    results = [timed(args, env) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def append_claude_turns(claude_root: Path, turns: int = 100, files: int = 10) -> set[str]:
    """Append `turns` new assistant turns (copies of each file's last one) to `files` sessions;
    return the paths touched, as a folder watcher would report them."""
    sessions = sorted(claude_root.rglob("*.jsonl"), key=lambda p: p.stat().st_size)[-files:]
    for index in range(turns):
        append_copy_of_last_turn(sessions[index % len(sessions)])
    return {os.path.realpath(session) for session in sessions}


def append_copy_of_last_turn(session: Path) -> None:
    """One more assistant turn in a Claude session: its last one again, with new ids."""
    last = next(
        json.loads(line)
        for line in reversed(session.read_text().splitlines())
        if '"assistant"' in line and '"usage"' in line
    )
    last["uuid"] = str(uuid.uuid4())
    last["requestId"] = f"req_bench_{uuid.uuid4().hex}"
    last["message"]["id"] = f"msg_bench_{uuid.uuid4().hex}"
    with session.open("a") as handle:
        handle.write(json.dumps(last, separators=(",", ":")) + "\n")  # compact, as Claude Code writes


def ccusage_command(explicit: str | None) -> list[str] | None:
    if explicit == "none":
        return None
    if explicit:
        return [explicit]
    if shutil.which("ccusage"):
        return ["ccusage"]
    if shutil.which("npx"):
        return ["npx", "--yes", "ccusage@latest"]
    return None


def ccusage_env(corpus_env: dict[str, str]) -> dict[str, str]:
    """The corpus roots under ccusage's own variable names, so it reads every harness.

    ccusage takes Gemini's `tmp` folder and pi's `sessions` folder, not the homes our
    variables name; without these it silently reads only Claude and Codex (and looked 25%
    faster than it is).
    """
    return {
        **corpus_env,
        "GEMINI_DATA_DIR": str(Path(corpus_env["GEMINI_CLI_HOME"]) / ".gemini" / "tmp"),
        "PI_AGENT_DIR": str(Path(corpus_env["PI_CODING_AGENT_DIR"]) / "sessions"),
        **({"QWEN_DATA_DIR": corpus_env["QWEN_HOME"]} if "QWEN_HOME" in corpus_env else {}),
        **({"KIMI_DATA_DIR": corpus_env["KIMI_SHARE_DIR"]} if "KIMI_SHARE_DIR" in corpus_env else {}),
        **(
            {"DROID_SESSIONS_DIR": str(Path(corpus_env["FACTORY_HOME_OVERRIDE"]) / ".factory" / "sessions")}
            if "FACTORY_HOME_OVERRIDE" in corpus_env
            else {}
        ),
    }


def run_ccusage(command: list[str] | None, env: dict[str, str]) -> dict[str, object]:
    if command is None:
        return {"ccusage": "not run (--ccusage none, or no ccusage and no npx)"}
    args = [*command, "daily", "--offline", "--json"]
    probe = subprocess.run(
        [*args, "--by-agent"], env={**os.environ, **env}, capture_output=True, text=True, timeout=600
    )
    if probe.returncode != 0:
        return {"ccusage": f"could not run: {(probe.stderr or probe.stdout).strip().splitlines()[:1]}"}
    seconds, rss = best(args, env)
    document = json.loads(probe.stdout)
    tokens: dict[str, int] = {}
    for day in document.get("daily", []):
        for agent in day.get("agents") or []:
            tokens[agent["agent"]] = tokens.get(agent["agent"], 0) + int(agent.get("totalTokens", 0))
    return {
        "ccusage_daily_s": round(seconds, 2),
        "ccusage_peak_rss_mb": round(rss),
        "ccusage_total_cost_usd": round(float(document.get("totals", {}).get("totalCost", 0.0)), 2),
        "ccusage_tokens_by_agent": dict(sorted(tokens.items())),
    }


def our_totals(env: dict[str, str], db: str) -> dict[str, object]:
    """Our cost and tokens per harness, to print next to ccusage's: both must have read the same files."""
    out = subprocess.run(
        [*CLI, "report", "harness", "--json", "--no-ingest", "--db", db],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(out.stdout)
    return {
        "total_cost_usd": round(float(document["totals"]["cost_usd"]), 2),
        "tokens_by_harness": {row["key"]: row["total_tokens"] for row in document["rows"]},
    }


def imports_of_report(env: dict[str, str], db: str) -> list[str]:
    """Heavy modules the report command imports (it should import neither)."""
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "agent_usage",
            "report",
            "daily",
            "--no-ingest",
            "--db",
            db,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    ).stderr
    return sorted({name for name in ("textual", "opentelemetry", "grpc") if f" {name}" in out})


def with_live_keeper(env: dict[str, str], db: Path, claude_root: Path) -> dict[str, object]:
    """Commands while `watch` (ingest only) keeps the store current and answers them over its
    socket: `report daily --json` with and without `--no-ingest`, and `ingest` right after
    100 new turns (the keeper reads the files its watcher saw, before its debounce)."""
    from agent_usage import heartbeat

    keeper = subprocess.Popen(
        [*CLI, "watch", "--no-metrics", "--no-traces", "--db", str(db)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while (beat := heartbeat.read(db)) is None and time.monotonic() < deadline:
            time.sleep(0.2)  # the first full read of a big history takes a while
        if beat is not None and beat.socket is None:  # a watch that could not listen says so at once
            time.sleep(heartbeat.BEAT_EVERY_S / 4)
            beat = heartbeat.read(db)
        if beat is None or beat.socket is None:
            return {"report_daily_with_live_watch_s": "no answering watch (see its log)"}
        report = [*CLI, "report", "daily", "--json", "--db", str(db)]
        seconds, _ = best(report, env, runs=5)
        no_ingest, _ = best([*report, "--no-ingest"], env, runs=5)
        append_claude_turns(claude_root)
        ingest_seconds, _ = timed([*CLI, "ingest", "-q", "--db", str(db)], env)
        return {
            "report_daily_with_live_watch_s": round(seconds, 3),
            "report_daily_no_ingest_with_live_watch_s": round(no_ingest, 3),
            "ingest_after_100_turns_with_live_watch_s": round(ingest_seconds, 3),
        }
    finally:
        keeper.terminate()
        keeper.wait(timeout=60)


def tui_first_figures(env: dict[str, str], db: Path) -> dict[str, object]:
    """The TUI on a history never read (headless, 120x40): seconds until this week's card
    shows the week's spend (the short first pass has landed and the overview reloaded), and
    until the full read is done."""
    import asyncio

    from agent_usage.tui.app import AgentUsageApp
    from agent_usage.tui.widgets import Card

    async def measure() -> dict[str, object]:
        app = AgentUsageApp(db, env={**os.environ, **env}, tz="UTC", live=False)
        started = time.perf_counter()
        figures: dict[str, object] = {}
        async with app.run_test(size=(120, 40)) as pilot:
            while time.perf_counter() - started < 600:
                await pilot.pause(0.02)
                week = str(app.query_one("#card-week", Card).render())
                if "tui_week_card_s" not in figures and week.startswith("$"):
                    figures["tui_week_card_s"] = round(time.perf_counter() - started, 2)
                if app.ingest_count >= 2:
                    figures["tui_full_read_s"] = round(time.perf_counter() - started, 2)
                    break
        return figures

    return asyncio.run(measure())


def first_answer(env: dict[str, str], base: Path, runs: int) -> dict[str, object]:
    """`report daily --last 7d --json` on a history never read (a fresh store each run): it
    reads only the files the week can need. Then what it left unread."""
    args = ["report", "daily", "--last", "7d", "--json"]
    results = [timed([*CLI, *args, "--db", str(base / f"first-{run}.duckdb")], env) for run in range(runs)]
    again = subprocess.run(
        [*CLI, *args, "--db", str(base / "first-0.duckdb")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    coverage = json.loads(again.stdout)["coverage"]
    return {
        "first_answer_last_7d_s": round(min(seconds for seconds, _ in results), 2),
        "first_answer_last_7d_peak_rss_mb": round(max(rss for _, rss in results)),
        "first_answer_unread_files": coverage["unread_files"],
        "first_answer_complete_from": coverage["complete_from"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--corpus", type=Path, default=None, help="reuse (or create) the corpus here")
    parser.add_argument(
        "--ccusage", default=None, help="path of a ccusage binary, or none (default: PATH, then npx)"
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the big-store report figure")
    parser.add_argument(
        "--cold-runs", type=int, default=1, help="cold ingests into fresh stores (prints min and max)"
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="agent-usage-bench-"))
    corpus_dir = args.corpus or base / "corpus"
    figures: dict[str, object] = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"
    }
    env_file = corpus_dir / "env.json"
    if env_file.exists():
        corpus_env = json.loads(env_file.read_text())
    else:
        started = time.perf_counter()
        corpus = generate(
            corpus_dir,
            days=90,
            sessions_per_day=40,
            target_bytes=args.size_mb * 1_000_000,
            tool_output_bytes=6_000,
        )
        corpus_env = corpus.env
        env_file.write_text(json.dumps(corpus_env))
        figures["generate_s"] = round(time.perf_counter() - started, 1)
    size = sum(p.stat().st_size for p in corpus_dir.rglob("*") if p.is_file())
    files = sum(1 for p in corpus_dir.rglob("*.json*") if p.is_file())
    figures.update({"corpus_mb": round(size / 1e6), "files": files})
    env = {**corpus_env, "AGENT_USAGE_HOME": str(base / "home")}
    db = str(base / "bench.duckdb")

    figures.update(first_answer(env, base, max(args.cold_runs, 1)))
    figures.update(tui_first_figures(env, base / "tui.duckdb"))
    colds = []
    for run in range(max(args.cold_runs, 1)):
        if run:
            os.unlink(db)
        colds.append(timed([*CLI, "ingest", "-q", "--db", db], env))
    cold = min(seconds for seconds, _ in colds)
    peak = max(rss for _, rss in colds)
    figures.update({"cold_ingest_s": round(cold, 2), "cold_ingest_peak_rss_mb": round(peak)})
    if len(colds) > 1:
        figures["cold_ingest_max_s"] = round(max(seconds for seconds, _ in colds), 2)
    warm, warm_rss = best([*CLI, "report", "daily", "--json", "--db", db], env)
    figures.update({"warm_report_daily_s": round(warm, 2), "warm_report_peak_rss_mb": round(warm_rss)})
    only, _ = best([*CLI, "report", "daily", "--json", "--no-ingest", "--db", db], env)
    figures["report_daily_no_ingest_s"] = round(only, 2)
    figures.update(with_live_keeper(env, Path(db), Path(corpus_env["CLAUDE_CONFIG_DIR"])))

    append_claude_turns(Path(corpus_env["CLAUDE_CONFIG_DIR"]))
    incremental, incremental_rss = timed([*CLI, "ingest", "-q", "--db", db], env)
    figures.update(
        {"ingest_after_100_turns_s": round(incremental, 2), "incremental_peak_rss_mb": round(incremental_rss)}
    )

    touched = append_claude_turns(Path(corpus_env["CLAUDE_CONFIG_DIR"]))
    started = time.perf_counter()  # what the TUI and `watch` do: only the files the watcher saw
    prices = Path(env["AGENT_USAGE_HOME"]) / "config" / "prices.toml"
    live = ingest(Path(db), env={**os.environ, **env}, only=touched, prices_file=prices)
    figures["live_ingest_of_100_turns_in_process_s"] = round(time.perf_counter() - started, 3)
    figures["live_ingest_new_events"] = live.events_new

    big = base / "million.duckdb"
    fill(big, args.events)
    million, million_rss = best([*CLI, "report", "daily", "--json", "--no-ingest", "--db", str(big)], env)
    figures.update({"events_in_big_store": args.events, "report_daily_big_store_s": round(million, 2)})
    figures["report_daily_big_store_peak_rss_mb"] = round(million_rss)

    startup, _ = best([*CLI, "--help"], env)
    figures["startup_help_s"] = round(startup, 2)
    figures["report_imports_heavy_modules"] = imports_of_report(env, db)

    figures.update(our_totals(env, db))
    figures.update(run_ccusage(ccusage_command(args.ccusage), ccusage_env(corpus_env)))
    if "ccusage_daily_s" in figures:
        cc = float(figures["ccusage_daily_s"])  # type: ignore[arg-type]
        figures["ratio_cold_ingest_vs_ccusage"] = round(cold / cc, 2)
        figures["ratio_ccusage_vs_warm_report"] = round(cc / warm, 2)
        if isinstance(figures.get("report_daily_with_live_watch_s"), float):
            figures["ratio_ccusage_vs_report_with_live_watch"] = round(
                cc / float(figures["report_daily_with_live_watch_s"]), 2
            )  # type: ignore[arg-type]
        figures["ratio_ccusage_vs_first_answer_last_7d"] = round(
            cc / float(figures["first_answer_last_7d_s"]), 2
        )  # type: ignore[arg-type]
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
