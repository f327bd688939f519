"""Demo sessions in Qwen Code's JSONL format: `projects/<dashed cwd>/chats/<id>.jsonl`, each
call written twice (the assistant record's `usageMetadata` and its `ui_telemetry` copy: the
parser must count one), the endpoint in a `session_model` record, and about one session in
five branched (`/branch` copies the records verbatim into a new file)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from agent_usage.demo.common import DemoWriter, iso, pick

HARNESS = "qwen-code"
ROOTS = {"QWEN_HOME": "qwen-home"}
"""The variable that points the parser at the demo, and its folder under the demo root."""
MODELS = (("qwen/qwen3-coder-plus", 0.7), ("qwen/qwen3-max", 0.3))
"""Models as OpenRouter names them: the endpoint Qwen Code calls, and genai-prices prices."""


def write_session(out: DemoWriter, start: datetime, project: str, turns: int) -> None:
    """One chat of `turns` calls in `project`, sometimes followed by its branch."""
    rng, sid = out.rng, out.uid()
    cwd = f"/home/dev/src/{project}"
    folder = out.root / "qwen-home" / "projects" / f"-home-dev-src-{project}" / "chats"
    common = {"sessionId": sid, "cwd": cwd, "version": "0.18.1", "gitBranch": "main"}
    ts, parent, records = start, None, []

    def record(kind: str, **fields: Any) -> dict[str, Any]:
        nonlocal parent
        entry = {
            "uuid": out.uid(),
            "parentUuid": parent,
            "timestamp": iso(ts),
            "type": kind,
            **common,
            **fields,
        }
        parent = entry["uuid"]
        records.append(entry)
        return entry

    model = pick(rng, MODELS)[0]
    record(
        "system",
        subtype="session_model",
        systemPayload={"modelId": model, "authType": "openai", "baseUrl": "https://openrouter.ai/api/v1"},
    )
    for _ in range(turns):
        ts += timedelta(seconds=rng.randint(20, 200))
        record("user", message={"role": "user", "parts": [{"text": "(task)"}]})
        prompt = rng.randint(8_000, 90_000)
        cached = rng.randint(0, prompt)
        candidates = rng.randint(60, 1_800)
        thoughts = rng.randint(0, candidates // 3)
        total = prompt + candidates
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": total,
            "cachedContentTokenCount": cached,
        }
        telemetry = {
            "event.name": "qwen-code.api_response",
            "model": model,
            "input_token_count": prompt,
            "output_token_count": candidates,
            "cached_content_token_count": cached,
            "thoughts_token_count": thoughts,
            "total_token_count": total,
            "auth_type": "openai",
        }
        record("system", subtype="ui_telemetry", systemPayload={"uiEvent": telemetry})
        record(
            "assistant",
            model=model,
            usageMetadata=usage,
            message={"role": "model", "parts": [{"text": "(reply)"}]},
        )
        out.turn(HARNESS)
    path = folder / f"{sid}.jsonl"
    with out.open(path) as handle:
        for entry in records:
            out.line(handle, entry)
    out.written_at(path, ts)
    if rng.random() < 0.2:
        branch = out.uid()
        copied = {"sessionId": sid, "messageUuid": records[-1]["uuid"]}
        branch_path = folder / f"{branch}.jsonl"
        with out.open(branch_path) as handle:
            for entry in records:
                out.line(handle, {**entry, "sessionId": branch, "forkedFrom": copied})
        out.written_at(branch_path, ts)
