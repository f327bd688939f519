"""Demo sessions in Kimi CLI's format: `sessions/<md5 of the work dir>/<id>/wire.jsonl` with one
`StatusUpdate` per step, subagent steps both in `subagents/<agent>/wire.jsonl` and mirrored into
the parent's wire (the parser must count them once), and the config that names the model."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent_usage.demo.common import DemoWriter

HARNESS = "kimi-cli"
ROOTS = {"KIMI_SHARE_DIR": "kimi-home"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
CONFIG = """default_model = "kimi-k2-turbo-preview"

[models."kimi-k2-turbo-preview"]
provider = "moonshot"
model = "kimi-k2-turbo-preview"
max_context_size = 262144

[providers.moonshot]
type = "kimi"
base_url = "https://api.moonshot.ai/v1"
api_key = ""
"""


def _record(ts: datetime, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": ts.replace(tzinfo=UTC).timestamp(), "message": {"type": kind, "payload": payload}}


def _usage(out: DemoWriter) -> dict[str, int]:
    rng = out.rng
    return {
        "input_other": rng.randint(300, 4_000),
        "output": rng.randint(60, 1_400),
        "input_cache_read": rng.randint(5_000, 60_000),
        "input_cache_creation": 0,
    }


def _index(share: Path, folder: str) -> None:
    """Add the work dir to `kimi.json`, as Kimi CLI does for every folder it runs in."""
    index = share / "kimi.json"
    data = json.loads(index.read_text()) if index.exists() else {"work_dirs": []}
    if all(entry["path"] != folder for entry in data["work_dirs"]):
        data["work_dirs"].append({"path": folder, "kaos": "local", "last_session_id": None})
    index.write_text(json.dumps(data))


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One session of `turns` steps in `project`, some of them by a subagent."""
    rng, sid = out.rng, out.uid()
    share = out.root / "kimi-home"
    share.mkdir(parents=True, exist_ok=True)
    (share / "config.toml").write_text(CONFIG)
    folder = f"/home/dev/src/{project}"
    _index(share, folder)
    session_dir = share / "sessions" / hashlib.md5(folder.encode(), usedforsecurity=False).hexdigest() / sid
    ts, lines, agent_lines, agent_last = start, [], [], start
    lines.append(_record(ts, "TurnBegin", {"user_input": "(task)"}))
    agent = f"a{out.uid()[:6]}"
    for step in range(turns):
        ts += timedelta(seconds=rng.randint(20, 200))
        update = {"token_usage": _usage(out), "message_id": f"chatcmpl-{out.uid()[:12]}"}
        if rng.random() < 0.2 and step < turns - 1:  # a subagent's step, in its wire and the parent's
            agent_lines.append(_record(ts, "StatusUpdate", update))
            agent_last = ts
            mirrored = {"type": "StatusUpdate", "payload": update}
            lines.append(
                _record(
                    ts, "SubagentEvent", {"agent_id": agent, "subagent_type": "explore", "event": mirrored}
                )
            )
        else:
            lines.append(_record(ts, "StatusUpdate", update))
        out.turn(HARNESS)
    lines.append(_record(ts, "TurnEnd", {}))
    header = {"type": "metadata", "protocol_version": "1.10"}
    _write(out, session_dir / "wire.jsonl", [header, *lines], ts)
    if agent_lines:
        _write(out, session_dir / "subagents" / agent / "wire.jsonl", [header, *agent_lines], agent_last)


def _write(out: DemoWriter, path: Path, records: list[dict[str, Any]], ts: datetime) -> None:
    with out.open(path) as handle:
        for record in records:
            out.line(handle, record)
    out.written_at(path, ts)
