"""`python -m agent_usage` runs the CLI."""

from agent_usage.cli import main

main()
