"""Serve the sweep on a schedule: every 15 minutes, never two at once.

Needs a Prefect server (the temporary one has no scheduler):

    prefect server start                      # one machine; another terminal:
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.serve

Across machines, point PREFECT_API_URL at a Prefect server backed by PostgreSQL,
create a process work pool, deploy the flow to it, and run ``prefect worker
start --pool NAME`` on each machine (see README.md).
"""

from __future__ import annotations

import argparse

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from flows.sweep import sweep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cron", default="*/15 * * * *", help="When the sweep runs (cron, UTC).")
    args = parser.parse_args()
    deployment = sweep.to_deployment(
        name="sweep",
        cron=args.cron,
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        description="Re-forecast, automated tasks, nudges, status emails, delivery.",
    )
    serve(deployment)


if __name__ == "__main__":
    main()
