"""Helpers for driving the TUI with Textual's Pilot, shared by the TUI and concurrency tests."""

from __future__ import annotations

import contextlib

from textual.worker import WorkerCancelled

from agent_usage.tui.app import AgentUsageApp
from agent_usage.tui.widgets import Card


async def settle(app: AgentUsageApp, pilot) -> None:  # type: ignore[no-untyped-def]
    """Let every worker finish; a load replaced by a newer one (exclusive) is cancelled, not failed."""
    for _ in range(3):
        await pilot.pause()
        for worker in list(app.workers):
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def card(app: AgentUsageApp, name: str) -> str:
    return str(app.query_one(f"#card-{name}", Card).render())
