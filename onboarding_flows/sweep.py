"""The sweep flow: one reconcile pass over the portfolio, its steps as Prefect tasks.

Three kinds of task run: one for the portfolio-wide steps (run the ready automated
tasks, then decide and record the nudges), one per batch of active projects
(re-forecast those whose plan moves today, then queue their weekly status emails), and
one for delivery. The batches are of about 500 projects, a few fewer of them so
that the whole flow takes at most one task run per 500 projects (from 1,500
projects on; a smaller portfolio takes three).
Only delivery retries: it is the step that talks to a mail server. A server that
cannot be reached is not an error of the flow run: delivery puts its mail back for
the next sweep and the flow logs a warning. Run it once with
``python -m onboarding_flows.sweep [--as-of DATE] [--at HH:MM]`` (exit 75 when the mail server
could not be reached); ``onboarding_flows.serve`` schedules it.

Before any task runs, the flow checks that it may sweep as of that day and records
the day (``SweepService.begin``): on a real database never a later day than today,
and never a day before the latest day already swept (``core.sweep_days``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from datetime import date
from functools import cache
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from onboarding.adapters.clock import FixedClock, SystemClock
from onboarding.core.sweep_days import sweep_instant
from onboarding.errors import OnboardingError
from onboarding.services.ports import Clock
from onboarding.services.sweep import SweepReport, SweepService, batches
from onboarding_flows.application import application

EXIT_MAIL_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL, as `onboarding sweep` (flows do not import the CLI)

SIMULATED = FixedClock(date(2026, 1, 1))  # moved to each run's --as-of day


@cache
def _built(*, simulated: bool, deliver: bool = True) -> SweepService:
    """One service per process (over the process's one Application), on the real or the simulated clock; without
    ``deliver``, one that only decides (no dispatcher: no mail folder or key file made)."""
    clock: Clock = SIMULATED if simulated else SystemClock()
    return application().sweep(clock=clock, deliver=deliver)


def _service(as_of: date | None, at: str | None, *, deliver: bool = True) -> SweepService:
    """The service acting as of that day and time (``core.sweep_days.sweep_instant``); neither: now."""
    if as_of is None and at is None:
        return _built(simulated=False, deliver=deliver)
    instant = sweep_instant(as_of, at, now=SystemClock().now())
    SIMULATED.set(instant.date(), at=instant)
    return _built(simulated=True, deliver=deliver)


@task(cache_policy=NO_CACHE)
def attend_batch(
    project_ids: list[str], replan: list[str], as_of: date | None, at: str | None
) -> tuple[int, int, list[str]]:
    return _service(as_of, at).attend(project_ids, replan=set(replan))


@task(cache_policy=NO_CACHE)
def automate_and_nudge(as_of: date | None, at: str | None) -> dict[str, int]:
    """The portfolio-wide steps, in the order of ``SweepService.run``: automated tasks, then nudges."""
    svc = _service(as_of, at)
    automated = svc.automate(svc.ready_automated())
    decision = svc.decide_nudges()
    recorded = svc.record_nudges(decision)
    return {
        "automated": automated,
        "overdue_tasks": decision.overdue_tasks,
        "nudges": recorded,
        "digests": len(decision.plan.digests),
        "deferred": len(decision.plan.deferred),
    }


@task(cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[5, 30, 120])
def deliver(as_of: date | None, at: str | None) -> dict[str, Any]:
    """Delivery within its deadline; a mail server that cannot be reached is reported, not raised (its mail waits
    for the next sweep), so these retries are for the database."""
    return asdict(_service(as_of, at).deliver())


def sweep_run_name() -> str:
    """``sweep-2026-12-04``: the day the run sweeps (``--as-of``, or today in UTC for a scheduled run)."""
    as_of = flow_run.parameters.get("as_of")
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of or SystemClock().today()
    return f"sweep-{day.isoformat()}"


@flow(name="sweep", flow_run_name=sweep_run_name)
def sweep(as_of: date | None = None, at: str | None = None) -> dict[str, Any]:
    """Run automated tasks, nudge, re-forecast and queue weekly status emails batch by batch, deliver.

    ``as_of`` and ``at`` (HH:MM, UTC) as for ``onboarding sweep``: a day refused by the rule fails the run
    with ``SweepRefused`` before anything is changed or sent.
    """
    if as_of is not None or at is not None:  # resolved once: every task run acts as of the same instant
        instant = sweep_instant(as_of, at, now=SystemClock().now())
        as_of, at = instant.date(), f"{instant:%H:%M}"
    _service(as_of, at, deliver=False).check()  # refused before a mail folder or key file is made
    svc = _service(as_of, at)
    svc.begin()
    report = SweepReport(as_of=svc.as_of())
    nudged = automate_and_nudge(as_of, at)
    report.automated = nudged["automated"]
    report.overdue_tasks, report.nudges = nudged["overdue_tasks"], nudged["nudges"]
    report.digests, report.deferred = nudged["digests"], nudged["deferred"]
    moving = set(svc.projects_to_reforecast())
    for batch in batches(svc.active_projects(), besides=2):  # the two other task runs share the budget
        reforecast, status_emails, not_replanned = attend_batch(batch, [p for p in batch if p in moving], as_of, at)
        report.reforecast += reforecast
        report.status_emails += status_emails
        report.not_replanned += not_replanned
    delivered = deliver(as_of, at)
    if delivered["unavailable"]:
        get_run_logger().warning(
            "mail server unavailable: %s; %d message(s) wait for the next sweep",
            delivered["unavailable"],
            delivered["retried"] + delivered["deferred"],
        )
    summary = asdict(report)
    summary["delivered"] = delivered
    summary["as_of"] = report.as_of.isoformat()
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--at")
    args = parser.parse_args()
    try:
        summary = sweep(args.as_of, args.at)
    except OnboardingError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    print(summary)
    if summary["delivered"]["unavailable"]:
        raise SystemExit(EXIT_MAIL_UNAVAILABLE)  # as `onboarding sweep`: the sweep ran, its mail waits


if __name__ == "__main__":
    main()
