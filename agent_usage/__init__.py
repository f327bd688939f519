"""agent-usage: usage and spend analyzer for coding agents. Imports nothing eagerly."""

from __future__ import annotations

__version__ = "0.1.0"
