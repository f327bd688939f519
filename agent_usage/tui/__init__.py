"""The Textual app behind `agent-usage` on a terminal; only `cli` imports this package."""
