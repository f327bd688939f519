"""The process entry point (`agent-usage` and `python -m agent_usage`).

Importing the CLI takes a few hundred milliseconds; a Ctrl-C in that time is still one line
and exit 130, not a traceback from inside an import.
"""

import sys


def run() -> None:
    """Import the CLI and run it."""
    try:
        from agent_usage.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    main()


if __name__ == "__main__":
    run()
