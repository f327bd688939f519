"""Demo sessions in Gemini CLI's JSONL format: `tmp/<project>/chats/`, a `.project_root`
beside them, and each reply appended twice under one id, first without tokens (the parser
must keep the last copy of a message)."""

from __future__ import annotations

from datetime import datetime, timedelta

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "gemini-cli"
ROOTS = {"GEMINI_CLI_HOME": "gemini-home"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("gemini-2.5-pro", 0.6), ("gemini-3-flash-preview", 0.4))


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One chat of `turns` turns in `project`."""
    rng, sid = out.rng, out.uid()
    folder = out.root / "gemini-home" / ".gemini" / "tmp" / project
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".project_root").write_text(f"/home/dev/src/{project}\n")
    path = folder / "chats" / f"session-{start:%Y-%m-%dT%H-%M}-{sid[:8]}.jsonl"
    ts = start
    with out.open(path) as handle:
        header = {"sessionId": sid, "projectHash": "x", "startTime": iso(ts), "lastUpdated": iso(ts)}
        out.line(handle, header)
        for n in range(turns):
            ts += timedelta(seconds=rng.randint(20, 200))
            model = pick(rng, MODELS)[0]
            out.line(
                handle, {"id": f"u{n}", "timestamp": iso(ts), "type": "user", "content": [{"text": "(task)"}]}
            )
            prompt = rng.randint(5_000, 60_000)
            tokens = {
                "input": prompt,
                "output": rng.randint(40, 1_500),
                "cached": rng.randint(0, prompt),
                "thoughts": rng.randint(0, 600),
                "tool": 0,
            }
            tokens["total"] = tokens["input"] + tokens["output"] + tokens["thoughts"]
            record = {
                "id": f"g{n}",
                "timestamp": iso(ts),
                "type": "gemini",
                "content": "(reply)",
                "model": model,
            }
            out.line(handle, {**record, "tokens": None})
            out.line(handle, {**record, "tokens": tokens})
            out.turn(HARNESS)
    out.written_at(path, ts)
