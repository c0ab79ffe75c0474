"""The ``onboarding`` script and ``python -m onboarding``: the command line, started so that Ctrl-C while it loads
(a second or two of imports before any command runs) ends it as Ctrl-C during a command does, without a traceback.
"""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from onboarding.cli import main
    except KeyboardInterrupt:
        print("Aborted!", file=sys.stderr)  # as click says it when a command is interrupted
        raise SystemExit(1) from None
    main()


if __name__ == "__main__":  # pragma: no cover
    run()
