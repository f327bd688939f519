"""The normalized record every parser yields: one row per billed model request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class UsageEvent:
    """One billed model request, with disjoint token buckets.

    Billable input = input + cache_read + cache_write_5m + cache_write_1h; `output_tokens`
    includes reasoning, and `reasoning_tokens` is only the informational part of it.
    `rank` orders copies of the same `event_key`: the store keeps the copy with the highest
    rank and the earliest timestamp. `web_search_requests` are server-side web searches the
    request ran (Claude), billed per search on top of the tokens.
    """

    event_key: str
    ts: datetime
    harness: str
    session_id: str
    model: str
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cost_reported_usd: float | None = None
    provider: str | None = None
    harness_version: str | None = None
    parent_session_id: str | None = None
    agent_id: str | None = None
    project: str | None = None
    cwd: str | None = None
    git_branch: str | None = None
    service_tier: str | None = None
    message_id: str | None = None
    is_sidechain: bool = False
    rank: int = 0
    source_path: str = ""
    source_offset: int = 0
    web_search_requests: int = 0
    git_remote: str | None = None
    """The repository the session ran in, as `host/owner/repo` (no scheme, no credentials),
    where the harness records it (Codex); two clones of one remote are one project."""
    session_total: bool = False
    """The event is a whole session's running total (Droid records no single request): rates
    that depend on one request's size (long-context tiers) never apply to it."""

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.cache_read_tokens
            + self.cache_write_5m_tokens
            + self.cache_write_1h_tokens
            + self.output_tokens
        )


@dataclass(slots=True)
class ParseStats:
    """What a parser skipped in one file: malformed lines are counted, never fatal."""

    bad_lines: int = 0
    bad_line_notes: list[str] = field(default_factory=list)

    def bad(self, where: str, why: str) -> None:
        """Count one skipped line and keep the first few reasons for the summary."""
        self.bad_lines += 1
        if len(self.bad_line_notes) < 5:
            self.bad_line_notes.append(f"{where}: {why}")
