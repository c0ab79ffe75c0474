"""The sweep flow: one reconcile pass over the portfolio, its steps as Prefect tasks.

Three kinds of task run: one for the portfolio-wide steps (run the ready automated
tasks, then decide and record the nudges), one per batch of the active projects with
work today (re-forecast those whose plan moves today, then queue the weekly status
emails due: ``SweepService.projects_to_attend``), as many at once as the service's
``workers`` (``ONBOARDING_SWEEP_WORKERS``), and
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

Shared by N workers (``shards=N``, ``--shards N``): the portfolio-wide steps run once
in this flow, then the per-project steps go out as N runs of the ``sweep-shard``
deployment, each over the projects of its shard (``core.shards``: crc32 of the
project id mod N, so no project is swept twice), each delivering what is due as it
ends unless ``deliver`` is off (delivery claims its mail with ``SKIP LOCKED``: no
message goes twice). Workers
of the deployment's process work pool pick the shard runs up, as many at a time as
they are started with (``prefect worker start --pool NAME --limit K``); this flow
waits for them all, adds up their reports (each is a table artifact of its run),
then delivers what is left. ``onboarding_flows.serve --shards N --pool NAME``
deploys ``sweep-shard`` to the pool and schedules this flow with ``shards=N`` (and,
as delivery is its own flow there, ``deliver`` off).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from dataclasses import asdict
from datetime import date
from functools import cache
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_client, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId, WorkerFilter, WorkerFilterStatus
from prefect.client.schemas.objects import FlowRun, State
from prefect.deployments import run_deployment
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.futures import PrefectFuture, wait
from prefect.runtime import flow_run

from onboarding.adapters.clock import FixedClock, SystemClock
from onboarding.core.shards import Shard
from onboarding.core.sweep_days import sweep_instant
from onboarding.errors import OnboardingError
from onboarding.services.dispatch import DispatchReport
from onboarding.services.ports import Clock
from onboarding.services.sweep import SweepReport, SweepService, batches
from onboarding_flows.application import application
from onboarding_flows.deliver import warn_if_unavailable

EXIT_MAIL_UNAVAILABLE = 75  # sysexits' EX_TEMPFAIL, as `onboarding sweep` (flows do not import the CLI)

SIMULATED = FixedClock(date(2026, 1, 1))  # moved to each run's --as-of day
SHARD_DEPLOYMENT = "sweep-shard/sweep-shard"  # flow name / deployment name, as onboarding_flows.serve deploys it
SHARD_ENTRYPOINT = "onboarding_flows.sweep.sweep_shard"  # what a worker imports to run a shard
SHARD_POLL_SECONDS = 2.0
# The per-shard counters a sharded sweep adds up (``SweepReport``'s and ``DispatchReport``'s).
REPORT_COUNTS = ("reforecast", "status_emails")
DELIVERY_COUNTS = ("sent", "retried", "failed", "suppressed", "held", "deferred", "released", "quiet")


class ShardsFailed(OnboardingError):
    """Shard runs of a sharded sweep that did not complete (or could not start): the sweep is not done."""


@cache
def _built(*, simulated: bool, deliver: bool = True) -> SweepService:
    """One service per process (over the process's one Application), on the real or the simulated clock; without
    ``deliver``, one that only decides (no dispatcher: no mail folder or key file made)."""
    clock: Clock = SIMULATED if simulated else SystemClock()
    return application().sweep(clock=clock, deliver=deliver, forked=False)


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


@task(name="deliver", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[5, 30, 120])
def deliver_task(as_of: date | None, at: str | None) -> dict[str, Any]:
    """Delivery within its deadline; a mail server that cannot be reached is reported, not raised (its mail waits
    for the next sweep), so these retries are for the database."""
    return asdict(_service(as_of, at).deliver())


def sweep_run_name() -> str:
    """``sweep-2026-12-04``: the day the run sweeps (``--as-of``, or today in UTC for a scheduled run)."""
    as_of = flow_run.parameters.get("as_of")
    day = date.fromisoformat(as_of) if isinstance(as_of, str) else as_of or SystemClock().today()
    return f"sweep-{day.isoformat()}"


def _attend(
    svc: SweepService, report: SweepReport, as_of: date | None, at: str | None, *, shard: Shard, besides: int
) -> int:
    """The per-project steps over the shard's active projects that have work (``projects_to_attend``), a task run
    per batch (``besides`` other task runs share the budget: one per 500 projects in all), ``svc.workers`` of
    them at once. Returns how many active projects the shard has."""
    ids = svc.active_projects(shard)
    moving = set(svc.projects_to_reforecast(shard))

    def added(attended: tuple[int, int, list[str]]) -> None:
        reforecast, status_emails, not_replanned = attended
        report.reforecast += reforecast
        report.status_emails += status_emails
        report.not_replanned += not_replanned

    running: deque[PrefectFuture[tuple[int, int, list[str]]]] = deque()
    try:
        for batch in batches(svc.projects_to_attend(shard), svc.batch, besides=besides):
            replan = [p for p in batch if p in moving]
            if svc.workers == 1:  # a plain call: no thread of the task runner to hand it to
                added(attend_batch(batch, replan, as_of, at))
                continue
            if len(running) == svc.workers:
                added(running.popleft().result())
            running.append(attend_batch.submit(batch, replan, as_of, at))
        while running:
            added(running.popleft().result())
    finally:
        wait(list(running))  # a batch that failed fails the run once those under way have ended
    return len(ids)


@flow(name="sweep", flow_run_name=sweep_run_name)
def sweep(
    as_of: date | None = None,
    at: str | None = None,
    shards: int = 1,
    shard_deployment: str = SHARD_DEPLOYMENT,
    wait_minutes: float = 120,
    *,
    deliver: bool = True,
) -> dict[str, Any]:
    """Run automated tasks, nudge, re-forecast and queue weekly status emails batch by batch, deliver.

    ``as_of`` and ``at`` (HH:MM, UTC) as for ``onboarding sweep``: a day refused by the rule fails the run
    with ``SweepRefused`` before anything is changed or sent. With ``shards`` above 1, the re-forecast and
    the status emails go out as that many runs of ``shard_deployment`` (see the module's docstring); the
    run fails (``ShardsFailed``) if a shard run fails or has not ended within ``wait_minutes``. Without
    ``deliver``, the sweep (and each shard) leaves its emails to the delivery flow (``onboarding_flows.deliver``,
    which ``serve`` runs every minute beside it).
    """
    Shard(0, shards)  # a count out of range is refused before anything is done
    if as_of is not None or at is not None:  # resolved once: every task run and shard run acts as of that instant
        now = SystemClock().now()
        instant = sweep_instant(as_of, at, now=now)
        # Today's day alone means now: written as HH:MM it would fall back to the start of the minute, and
        # the emails queued since then would wait for the next sweep.
        as_of, at = (None, None) if instant == now else (instant.date(), f"{instant:%H:%M}")
    _service(as_of, at, deliver=False).check()  # refused before a mail folder or key file is made
    pool = _shard_pool(shard_deployment) if shards > 1 else ""  # and before anything is done without workers
    svc = _service(as_of, at)
    svc.begin()
    report = SweepReport(as_of=svc.as_of())
    nudged = automate_and_nudge(as_of, at)
    report.automated = nudged["automated"]
    report.overdue_tasks, report.nudges = nudged["overdue_tasks"], nudged["nudges"]
    report.digests, report.deferred = nudged["digests"], nudged["deferred"]
    shard_reports: list[dict[str, Any]] = []
    if shards == 1:
        _attend(svc, report, as_of, at, shard=Shard.whole(), besides=2)  # with the portfolio-wide steps and delivery
    else:
        shard_reports = _run_shards(
            shard_deployment, pool, shards, as_of, at, deliver=deliver, wait_seconds=wait_minutes * 60
        )
        for shard_report in shard_reports:
            for name in REPORT_COUNTS:
                setattr(report, name, getattr(report, name) + shard_report[name])
            report.not_replanned += shard_report["not_replanned"]
    delivered = deliver_task(as_of, at) if deliver else asdict(DispatchReport())
    for shard_report in shard_reports:  # what the shards delivered, then what was left
        for name in DELIVERY_COUNTS:
            delivered[name] += shard_report[name]
        delivered["unavailable"] = delivered["unavailable"] or shard_report["unavailable"]
        delivered["out_of_time"] = delivered["out_of_time"] or shard_report["out_of_time"]
    warn_if_unavailable(delivered, waiting_for="the next sweep")
    summary = asdict(report)
    summary["delivered"] = delivered
    summary["as_of"] = report.as_of.isoformat()
    if shards > 1:
        summary["shards"] = [{k: r[k] for k in ("shard", "projects", *REPORT_COUNTS, "sent")} for r in shard_reports]
    return summary


def shard_run_name() -> str:
    """``sweep-2026-12-04-shard-3-of-16``: the day, as ``sweep_run_name`` names it, and the share."""
    parameters = flow_run.parameters
    return f"{sweep_run_name()}-shard-{parameters['shard']}-of-{parameters['shards']}"


@flow(name="sweep-shard", flow_run_name=shard_run_name)
def sweep_shard(
    shard: int, shards: int, as_of: date | None = None, at: str | None = None, *, deliver: bool = True
) -> dict[str, Any]:
    """One shard of a sweep that ``sweep`` shares out: re-forecast and queue the weekly status emails of the
    active projects of shard ``shard`` of ``shards`` (``core.shards``), a task run per batch, then deliver
    what is due (unless not ``deliver``). Its report is the run's table artifact ``sweep-shard-report``, which
    ``sweep`` adds up."""
    part = Shard(shard, shards)
    _service(as_of, at, deliver=False).check()  # refused (a later day swept meanwhile) before anything is done
    svc = _service(as_of, at)
    report = SweepReport(as_of=svc.as_of())
    projects = _attend(svc, report, as_of, at, shard=part, besides=1)  # with delivery
    delivered = deliver_task(as_of, at) if deliver else asdict(DispatchReport())
    warn_if_unavailable(delivered, waiting_for="the next sweep")
    row = {
        "shard": shard,
        "shards": shards,
        "projects": projects,
        **{name: getattr(report, name) for name in REPORT_COUNTS},
        "not_replanned": report.not_replanned,
        **{name: delivered[name] for name in (*DELIVERY_COUNTS, "unavailable", "out_of_time")},
    }
    create_table_artifact(
        [row], key="sweep-shard-report", description=f"Shard {shard} of {shards}, swept as of {svc.as_of()}"
    )
    return row


def _shard_pool(deployment: str) -> str:
    """The work pool of the shard runs' deployment, refused (``ShardsFailed``) when it has no worker online."""
    with get_client(sync_client=True) as client:
        try:
            found = client.read_deployment_by_name(deployment)
        except ObjectNotFound:
            raise ShardsFailed(
                f"no deployment {deployment!r}: deploy it with `python -m onboarding_flows.serve --shards N "
                "--pool NAME` (or give shard_deployment)"
            ) from None
        pool = found.work_pool_name or ""
        online = WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"]))
        if not client.read_workers_for_work_pool(pool, worker_filter=online):
            raise ShardsFailed(
                f"no worker is online in work pool {pool!r}: start one on each machine with "
                f"`prefect worker start --pool {pool}`; nothing of the shards was done"
            )
    return pool


def _run_shards(
    deployment: str,
    pool: str,
    shards: int,
    as_of: date | None,
    at: str | None,
    *,
    deliver: bool,
    wait_seconds: float,
) -> list[dict[str, Any]]:
    """Create one run of ``deployment`` per shard, each as of the sweep's day and time (neither: each acts as of
    now, as the task runs of a sweep on one machine do), wait for them all, and read back their reports."""
    parent = flow_run.id
    ids = [
        cast(
            FlowRun,  # run_deployment called from sync code returns the run, not a coroutine
            run_deployment(
                deployment,
                parameters={"shard": shard, "shards": shards, "as_of": as_of, "at": at, "deliver": deliver},
                timeout=0,
                idempotency_key=f"{parent}:shard:{shard}:{shards}" if parent else None,
            ),
        ).id
        for shard in range(shards)
    ]
    deadline = time.monotonic() + wait_seconds
    with get_client(sync_client=True) as client:
        while True:
            states = {run.id: run.state for run in client.read_flow_runs(flow_run_filter=_runs(ids))}
            ended = [run_id in states and _ended(states[run_id]) for run_id in ids]
            if all(ended):
                break
            if time.monotonic() > deadline:
                raise ShardsFailed(
                    f"shard run(s) {[shard for shard, done in enumerate(ended) if not done]} of {shards} had not "
                    f"ended after {wait_seconds / 60:.0f} minutes: is a worker of pool {pool!r} running? They still "
                    "run when one is; the next sweep does what they did not"
                )
            time.sleep(SHARD_POLL_SECONDS)
        failed = {
            shard: state.name
            for shard, run_id in enumerate(ids)
            if (state := states[run_id]) and not state.is_completed()
        }
        if failed:
            named = ", ".join(f"{shard} ({name})" for shard, name in failed.items())
            raise ShardsFailed(f"shard run(s) {named} of {shards} did not complete; the next sweep does their work")
        reports = {}
        for artifact in client.read_artifacts(flow_run_filter=_runs(ids)):
            if artifact.key == "sweep-shard-report" and artifact.flow_run_id is not None:
                reports[artifact.flow_run_id] = json.loads(str(artifact.data))[0]
    missing = [shard for shard, run_id in enumerate(ids) if run_id not in reports]
    if missing:
        raise ShardsFailed(f"shard run(s) {missing} completed without a report")
    return [reports[run_id] for run_id in ids]


def deploy_shards(pool: str) -> None:
    """Deploy the ``sweep-shard`` flow to the process work pool ``pool``, by its module path (no image, no
    code to pull: each worker runs the package installed beside it). Refused if the pool does not exist."""
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            raise SystemExit(
                f"no work pool {pool!r}: create it with `prefect work-pool create {pool} --type process`"
            ) from None
    shard_deployment = cast(
        RunnerDeployment,  # to_deployment called from sync code returns the deployment, not a coroutine
        sweep_shard.to_deployment(
            name="sweep-shard",
            entrypoint_type=EntrypointType.MODULE_PATH,
            work_pool_name=pool,
            description="One shard of a sweep shared out by the sweep flow: re-forecast, status emails, delivery.",
        ),
    )
    # by the module's name, also when this module runs as ``python -m onboarding_flows.sweep`` (``__main__``)
    shard_deployment.entrypoint = SHARD_ENTRYPOINT
    shard_deployment.apply(work_pool_name=pool)


def _ended(state: State | None) -> bool:
    return state is not None and state.is_final()


def _runs(ids: list[UUID]) -> FlowRunFilter:
    return FlowRunFilter(id=FlowRunFilterId(any_=ids))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--as-of", type=date.fromisoformat)
    parser.add_argument("--at")
    parser.add_argument(
        "--shards", type=int, default=1, help="Share the per-project steps out as this many runs of sweep-shard."
    )
    parser.add_argument("--pool", help="Deploy sweep-shard to this process work pool first (with --shards).")
    args = parser.parse_args()
    try:
        if args.pool:
            deploy_shards(args.pool)
        summary = sweep(args.as_of, args.at, shards=args.shards)
    except OnboardingError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(summary, default=str))  # one line a script can read
    if summary["delivered"]["unavailable"]:
        raise SystemExit(EXIT_MAIL_UNAVAILABLE)  # as `onboarding sweep`: the sweep ran, its mail waits


if __name__ == "__main__":
    main()
