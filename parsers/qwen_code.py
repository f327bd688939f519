"""Qwen Code chats: `<runtime>/projects/<dashed cwd>/chats/<session>.jsonl` (and `archive/`).

Qwen Code is a Gemini CLI fork, but its session files are not Gemini's: since 0.14 they are
JSONL records with `uuid`/`parentUuid` and the raw GenAI `usageMetadata` (Gemini keeps its
own `tokens` object). Traps handled here (see docs/harnesses.md):
- every API call is written twice: `usageMetadata` on the `assistant` record and a
  `system`/`ui_telemetry` `api_response` copy with the same numbers; only the assistant
  record counts;
- `/branch` copies records verbatim (same `uuid`, marked `forkedFrom`) into a new file, and
  an archived session is a copy under `chats/archive/`: the key is the record's `uuid`,
  global, and a fork's copy ranks below the original, so it stays with its session;
- `promptTokenCount` includes cached tokens; on the OpenAI and Anthropic paths
  `candidatesTokenCount` includes the reasoning (`thoughtsTokenCount` is part of it), on the
  Gemini path it does not (the total then counts thoughts on top): told apart by the total;
- subagent transcripts (`subagents/`) carry no usage and are not read;
- no record names the provider: a `session_model` record's `baseUrl` (or its `authType`)
  says where the following calls went, and they are priced as that provider's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agent_usage.parsers.base import (
    FileContext,
    Lines,
    WalkErrors,
    check_skipped_line,
    count,
    env_paths,
    home_dir,
    load_line,
    parse_ts,
    project_name,
    provider_of_url,
    relative_parts,
    text,
    walk,
)
from agent_usage.records import UsageEvent

HARNESS = "qwen-code"
ENV_VARS = ("QWEN_DATA_DIR", "QWEN_RUNTIME_DIR", "QWEN_HOME")
NEEDLES = (b'"usageMetadata"', b'"session_model"')
_PROVIDER_AUTH = {"gemini-api-key": "google", "vertex-ai": "google", "anthropic": "anthropic"}


def roots(env: Mapping[str, str]) -> list[Path]:
    """`projects/` of `QWEN_DATA_DIR` (a comma list), else of `QWEN_RUNTIME_DIR`, `QWEN_HOME`
    or ~/.qwen, in Qwen Code's own order (the runtime dir holds the sessions)."""
    listed = env_paths(env, "QWEN_DATA_DIR")
    if listed is None:
        single = env_paths(env, "QWEN_RUNTIME_DIR") or env_paths(env, "QWEN_HOME")
        listed = single[:1] if single else [home_dir(env) / ".qwen"]
    return [root if root.name == "projects" else root / "projects" for root in listed]


def accepts(root: Path, path: str) -> bool:
    """A chat file: `<project>/chats/<session>.jsonl` or `<project>/chats/archive/<session>.jsonl`."""
    parts = relative_parts(root, path)
    if parts is None or not path.endswith(".jsonl"):
        return False
    return (len(parts) == 3 and parts[1] == "chats") or (
        len(parts) == 4 and parts[1] == "chats" and parts[2] == "archive"
    )


def discover(root: Path, on_error: WalkErrors | None = None) -> Iterator[str]:
    for path in walk(root, lambda name: name.endswith(".jsonl"), on_error):
        if accepts(root, path):
            yield path


def appendable(path: Path) -> bool:
    return True


def _provider(payload: dict[str, Any]) -> str | None:
    """The provider a `session_model` record's endpoint or auth type names, if one we price."""
    from_url = provider_of_url(text(payload.get("baseUrl")))
    return from_url or _PROVIDER_AUTH.get(text(payload.get("authType")) or "")


def _tokens(usage: dict[str, Any]) -> tuple[int, int, int, int]:
    """(uncached input, cache read, output with reasoning, reasoning) of a `usageMetadata`."""
    prompt, cached = count(usage.get("promptTokenCount")), count(usage.get("cachedContentTokenCount"))
    candidates, thoughts = count(usage.get("candidatesTokenCount")), count(usage.get("thoughtsTokenCount"))
    cached = min(cached, prompt)
    disjoint = thoughts > 0 and count(usage.get("totalTokenCount")) == prompt + candidates + thoughts
    output = candidates + thoughts if disjoint or thoughts > candidates else candidates
    return prompt - cached, cached, output, min(thoughts, output)


def _event(record: dict[str, Any], offset: int, ctx: FileContext) -> UsageEvent | None:
    usage = record.get("usageMetadata")
    if record.get("type") != "assistant" or not isinstance(usage, dict):
        return None
    key, model, ts = text(record.get("uuid")), text(record.get("model")), parse_ts(record.get("timestamp"))
    if key is None or model is None or ts is None:
        ctx.stats.bad(f"byte {offset}", "usage without uuid, model or timestamp")
        return None
    input_tokens, cache_read, output, reasoning = _tokens(usage)
    cwd = text(record.get("cwd"))
    copied = isinstance(record.get("forkedFrom"), dict)
    return UsageEvent(
        event_key=f"qwen:{key}",
        ts=ts,
        harness=HARNESS,
        session_id=text(record.get("sessionId")) or ctx.path.stem,
        model=model,
        input_tokens=input_tokens,
        cache_read_tokens=cache_read,
        output_tokens=output,
        reasoning_tokens=reasoning,
        provider=ctx.state.get("provider"),
        harness_version=text(record.get("version")),
        project=project_name(cwd),
        cwd=cwd,
        git_branch=text(record.get("gitBranch")),
        message_id=key,
        rank=0 if copied else 1,
        source_path=str(ctx.path),
        source_offset=offset,
    )


def parse(lines: Lines, ctx: FileContext) -> Iterator[UsageEvent]:
    """One event per `assistant` record with `usageMetadata`; telemetry copies are skipped."""
    for offset, raw in lines:
        if b'"session_model"' in raw:
            record = load_line(raw, offset, ctx)
            payload = record.get("systemPayload") if record else None
            if record and record.get("subtype") == "session_model" and isinstance(payload, dict):
                ctx.state["provider"] = _provider(payload)
            continue
        if b'"usageMetadata"' not in raw or b'"assistant"' not in raw:
            check_skipped_line(raw, offset, ctx)
            continue
        record = load_line(raw, offset, ctx)
        if record is not None and (event := _event(record, offset, ctx)):
            yield event
