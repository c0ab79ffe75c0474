"""Fault injection at scale: sweeps killed with SIGKILL at random points, each rerun at the same instant.

For each transport (a Maildir on SQLite, a real aiosmtpd SMTP server on
PostgreSQL, by default; ``--database`` and ``--transport`` choose), it builds a
portfolio of payroll projects launched two months before the sweep day, measures
an uninterrupted ``onboarding sweep --as-of DAY --at HH:MM`` (its phases and the
messages it delivers), then runs ``--trials`` trials (default 100): a sweep
subprocess killed after a random delay aimed in turn at deciding, recording and
delivering, then rerun at the same instant to its end (``tests/crashes.py`` tells
how). It prints each trial, then per transport: the phases hit, the claims the
killed runs stranded and the rerun released at once, and the lost and duplicate
messages (by Message-ID; on SMTP, the kills between the server's reply and the
commit, whose duplicates are expected, each counted). ``lost=0 duplicates_unexplained=0`` last.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.crashes import run_trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pair",
        action="append",
        metavar="DATABASE/TRANSPORT",
        help="sqlite/maildir, postgresql/smtp (the default pair), or sqlite/smtp, postgresql/maildir; repeatable",
    )
    args = parser.parse_args()
    pairs = args.pair or ["sqlite/maildir", "postgresql/smtp"]
    lost = unexplained = 0
    for pair in pairs:
        database, transport = pair.split("/")
        started = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            summary = run_trials(
                database=database,
                transport=transport,
                trials=args.trials,
                projects=args.projects,
                folder=Path(tmp),
                seed=args.seed,
                log=lambda line: print(line, flush=True),
            )
        figures = summary.figures()
        print(f"{pair}: {json.dumps(figures)} in {time.monotonic() - started:.0f} s", flush=True)
        lost += figures["lost"]
        unexplained += figures["unexplained_duplicates"] + (figures["duplicates"] if transport == "maildir" else 0)
    print(f"lost={lost} duplicates_unexplained={unexplained}")


if __name__ == "__main__":
    main()
