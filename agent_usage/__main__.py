"""The process entry point (`agent-usage` and `python -m agent_usage`).

Importing the CLI takes a few hundred milliseconds; a Ctrl-C in that time is still one line
and exit 130, not a traceback from inside an import.
"""

import os
import signal
import sys


def exit_interrupted() -> None:
    """Say `interrupted` and end with 130 at once.

    `os._exit`, not `sys.exit`: CPython marks a KeyboardInterrupt that passed through code it
    evaluated for an import, and then ends the process by SIGINT (-2) whatever was caught.
    """
    sys.stdout.flush()
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(130)


def run() -> None:
    """Import the CLI and run it."""
    try:
        from agent_usage.cli import main
    except KeyboardInterrupt:
        exit_interrupted()
    try:
        main()
    finally:  # the work is done: a Ctrl-C while the interpreter shuts down changes nothing
        signal.signal(signal.SIGINT, signal.SIG_IGN)


if __name__ == "__main__":
    run()
