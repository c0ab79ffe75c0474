"""Serve the flows on their schedules: the sweep every 15 minutes, the managers' report every Monday at 07:00 UTC.

Neither deployment ever runs two at once (a concurrency limit of 1 that cancels
the newer run). Needs a Prefect server (the temporary one has no scheduler):

    prefect server start                      # one machine; another terminal:
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m flows.serve

Across machines, point PREFECT_API_URL at a Prefect server backed by PostgreSQL,
create a process work pool, deploy the flows to it, and run ``prefect worker
start --pool NAME`` on each machine (see README.md).
"""

from __future__ import annotations

import argparse

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment

from flows.report import report
from flows.sweep import sweep


def _one_at_a_time() -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(*, sweep_cron: str, report_cron: str) -> list[RunnerDeployment]:
    """The sweep and the weekly report, each on its schedule, neither overlapping itself."""
    sweep_deployment = sweep.to_deployment(
        name="sweep",
        cron=sweep_cron,
        concurrency_limit=_one_at_a_time(),
        description="Re-forecast, automated tasks, nudges, status emails, delivery.",
    )
    report_deployment = report.to_deployment(
        name="weekly-report",
        cron=report_cron,
        concurrency_limit=_one_at_a_time(),
        description="The managers' report: HTML written, emailed to ONBOARDING_MANAGERS, headline as an artifact.",
    )
    return [sweep_deployment, report_deployment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cron", default="*/15 * * * *", help="When the sweep runs (cron, UTC).")
    parser.add_argument("--report-cron", default="0 7 * * 1", help="When the managers' report goes out (cron, UTC).")
    args = parser.parse_args()
    serve(*deployments(sweep_cron=args.cron, report_cron=args.report_cron))


if __name__ == "__main__":
    main()
