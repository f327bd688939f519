"""Demo sessions in Codex's format: rollout files under `sessions/YYYY/MM/DD/`, whose
`token_count` events carry a running total and are sometimes re-emitted unchanged (the
parser must count a turn once, from the change in the total)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "codex"
ROOTS = {"CODEX_HOME": "codex"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("gpt-5.3-codex", 0.7), ("gpt-5.1-codex-mini", 0.3))


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One rollout of `turns` turns in `project`; about half the turns re-emit their count."""
    rng, sid = out.rng, out.uid()
    path = (
        out.root
        / "codex"
        / "sessions"
        / f"{start:%Y/%m/%d}"
        / f"rollout-{start:%Y-%m-%dT%H-%M-%S}-{sid}.jsonl"
    )
    meta = {
        "id": sid,
        "timestamp": iso(start),
        "cwd": f"/home/dev/src/{project}",
        "originator": "codex_cli_rs",
        "cli_version": "0.110.0",
        "source": "cli",
        "model_provider": "openai",
        "git": {"branch": "main"},
    }
    totals, ts = [0, 0, 0, 0], start
    with out.open(path) as handle:
        out.line(handle, {"timestamp": iso(ts), "type": "session_meta", "payload": meta})
        for _ in range(turns):
            ts += timedelta(seconds=rng.randint(30, 300))
            model = pick(rng, MODELS)[0]
            context = {"cwd": meta["cwd"], "model": model}
            out.line(handle, {"timestamp": iso(ts), "type": "turn_context", "payload": context})
            output = {"type": "function_call_output", "output": out.filler(out.tool_bytes)}
            out.line(handle, {"timestamp": iso(ts), "type": "response_item", "payload": output})
            cached = totals[0] and rng.randint(totals[0] // 2, totals[0])
            last = [cached + rng.randint(500, 6_000), cached, rng.randint(100, 2_000), 0]
            last[3] = rng.randint(0, last[2])
            totals = [t + x for t, x in zip(totals, last, strict=True)]
            info = {"total_token_usage": _usage(totals), "last_token_usage": _usage(last)}
            for _ in range(2 if rng.random() < 0.5 else 1):  # re-emitted with an unchanged total
                ts += timedelta(milliseconds=700)
                count = {"type": "token_count", "info": info}
                out.line(handle, {"timestamp": iso(ts), "type": "event_msg", "payload": count})
            out.turn(HARNESS)
    out.written_at(path, ts)


def _usage(values: list[int]) -> dict[str, int]:
    """Input, cached, output and reasoning counts as Codex names them (total = input + output)."""
    return {
        "input_tokens": values[0],
        "cached_input_tokens": values[1],
        "output_tokens": values[2],
        "reasoning_output_tokens": values[3],
        "total_tokens": values[0] + values[2],
    }
