"""Claude-style 5-hour usage blocks, with the active block's burn rate and projection.

Follows the heuristic users know from ccusage: events sorted by time; a block starts at the
first event floored to the UTC hour and lasts 5 hours; an event more than 5 hours after the
block start or after the previous event closes the block. A silence longer than 5 hours shows
as a gap. The real Anthropic window starts at the first request, so this is an estimate.
The length is 5 hours unless a caller asks for another (`--session-length`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

BLOCK = timedelta(hours=5)


@dataclass(slots=True)
class ModelShare:
    """One model's part of a block (`--breakdown`)."""

    events: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None


@dataclass(slots=True)
class Block:
    """One 5-hour window (or a gap between windows), times in naive UTC."""

    start: datetime
    end: datetime
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    events: int = 0
    total_tokens: int = 0
    cost_usd: float | None = None
    unpriced_events: int = 0
    unpriced_models: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    per_model: dict[str, ModelShare] = field(default_factory=dict)
    is_gap: bool = False
    is_active: bool = False

    def add(self, ts: datetime, tokens: int, cost: float | None, model: str) -> None:
        self.first_ts = self.first_ts or ts
        self.last_ts = ts
        self.events += 1
        self.total_tokens += tokens
        if cost is None:
            self.unpriced_events += 1
            if model not in self.unpriced_models:
                self.unpriced_models.append(model)
        else:
            self.cost_usd = (self.cost_usd or 0.0) + cost
        if model not in self.models:
            self.models.append(model)
        share = self.per_model.setdefault(model, ModelShare())
        share.events += 1
        share.total_tokens += tokens
        if cost is not None:
            share.cost_usd = (share.cost_usd or 0.0) + cost


@dataclass(frozen=True, slots=True)
class BurnRate:
    """Usage per unit of time in the active block and where it ends if the pace holds."""

    tokens_per_minute: float
    cost_per_hour: float | None
    remaining_minutes: float
    projected_tokens: int
    projected_cost_usd: float | None


def build_blocks(
    timeline: Iterable[tuple[datetime, int, float | None, str]], now: datetime, length: timedelta = BLOCK
) -> list[Block]:
    """Blocks and gaps in time order from (ts, tokens, cost, model) rows sorted by ts.

    Blocks chain: each starts where the last one closed, so computing them from a later
    event gives the same blocks only from an event that follows a silence longer than
    `length` (`queries.block_chain_start` finds the latest one).
    """
    blocks: list[Block] = []
    current: Block | None = None
    for ts, tokens, cost, model in timeline:
        last = current.last_ts if current is not None else None
        if current is not None and last is not None and (ts - current.start > length or ts - last > length):
            if ts - last > length:
                blocks.append(Block(start=last + length, end=ts, is_gap=True))
            current = None
        if current is None:
            start = ts.replace(minute=0, second=0, microsecond=0)
            current = Block(start=start, end=start + length)
            blocks.append(current)
        current.add(ts, tokens, cost, model)
    if current is not None and current.last_ts is not None:
        current.is_active = now < current.end and now - current.last_ts < length
    return blocks


def token_limit(blocks: Iterable[Block], limit: str | None) -> int | None:
    """The token limit `--token-limit` names: a number, or `max`, the most tokens any ended
    block used (None when there is no such block or no limit was asked for)."""
    if limit is None:
        return None
    if limit == "max":
        used = [b.total_tokens for b in blocks if not b.is_gap and not b.is_active]
        return max(used) if used else None
    return int(limit)


def burn_rate(block: Block, now: datetime) -> BurnRate | None:
    """Pace between the block's first and last event, projected to the block's end."""
    if not block.is_active or block.first_ts is None or block.last_ts is None:
        return None
    minutes = (block.last_ts - block.first_ts).total_seconds() / 60
    if minutes <= 0:
        return None
    remaining = max((block.end - now).total_seconds() / 60, 0.0)
    per_minute = block.total_tokens / minutes
    cost_per_minute = block.cost_usd / minutes if block.cost_usd is not None else None
    return BurnRate(
        tokens_per_minute=per_minute,
        cost_per_hour=cost_per_minute * 60 if cost_per_minute is not None else None,
        remaining_minutes=remaining,
        projected_tokens=round(block.total_tokens + per_minute * remaining),
        projected_cost_usd=(
            block.cost_usd + cost_per_minute * remaining
            if block.cost_usd is not None and cost_per_minute is not None
            else None
        ),
    )
