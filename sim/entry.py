"""The ``clmsim`` command's entry point: Ctrl-C while it starts is one line, too.

Importing the command line takes about a second (pandas, pydantic, Numba);
a Ctrl-C meanwhile would print Python's traceback. This module is light
(``sim/__init__`` imports nothing until used), so the import happens here,
inside the same handling as the commands' own.
"""

from __future__ import annotations

import sys

__all__ = ["main"]

EXIT_INTERRUPTED = 130  # as sim.cli's


def main() -> int:
    """Import the command line and run it; returns the exit code."""
    try:
        from sim.cli import main as cli_main
    except KeyboardInterrupt:
        print("clmsim: interrupted while starting; nothing was run", file=sys.stderr)
        return EXIT_INTERRUPTED
    return cli_main()


if __name__ == "__main__":  # python -m sim.entry, as the console script
    sys.exit(main())
