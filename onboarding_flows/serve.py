"""Serve the flows on their schedules: the sweep every 15 minutes, delivery every minute, the managers' report every
Monday at 07:00 UTC.

``--cron`` sets when the sweep runs; ``--interval SECONDS`` runs it every few
seconds instead (what the end-to-end test of the schedule uses). ``--deliver-every
SECONDS`` sets how often the outbox is delivered (``onboarding_flows.deliver``),
beside the sweep, which then leaves its emails to it; 0 has each sweep deliver at
its end instead.

No deployment ever runs two at once (a concurrency limit of 1 that cancels the
newer run). Ctrl-C or SIGTERM stops serve, its runs with it, within ``STOP_SECONDS``
(``stopping``), whatever Prefect's runner waits for. Before serving, the runs a
stopped serve left in flight are marked Crashed and their slots set free
(``release_orphans``): they would cancel every later run. Needs a Prefect server
(the temporary one has no scheduler):

    prefect server start                      # one machine; another terminal:
    PREFECT_API_URL=http://127.0.0.1:4200/api python -m onboarding_flows.serve

Across machines (README.md, "A sweep shared by several machines"): a Prefect server
backed by PostgreSQL, a process work pool, ``prefect worker start --pool NAME`` on
each machine, the engine's data on PostgreSQL, and

    python -m onboarding_flows.serve --shards 32 --pool NAME

which deploys the ``sweep-shard`` flow to the pool (by its module path: each
worker runs it from the package installed on its machine) and schedules the sweep
with ``shards=32``: each sweep shares its projects out as 32 shard runs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta

from prefect import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitUpdate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound, TerminationSignal
from prefect.states import Crashed

from onboarding.core.shards import Shard
from onboarding.errors import SweepRefused
from onboarding_flows.deliver import deliver
from onboarding_flows.report import report
from onboarding_flows.stopping import STOP_SECONDS, StoppingRunner, end_within
from onboarding_flows.sweep import deploy_shards, sweep

DELIVER_EVERY = timedelta(minutes=1)


def _one_at_a_time() -> ConcurrencyLimitConfig:
    return ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW)


def deployments(
    *,
    sweep_cron: str | None = None,
    sweep_every: timedelta | None = None,
    report_cron: str,
    shards: int = 1,
    deliver_every: timedelta | None = DELIVER_EVERY,
) -> list[RunnerDeployment]:
    """The sweep (on a cron, or every ``sweep_every``; shared out as ``shards`` shard runs), the weekly report
    and, every ``deliver_every``, delivery (the sweep then leaves its emails to it; None: the sweep delivers
    them itself), none overlapping itself."""
    if (sweep_cron is None) == (sweep_every is None):
        raise ValueError("give the sweep either a cron or an interval")
    parameters: dict[str, object] = {"shards": shards} if shards > 1 else {}
    if deliver_every is not None:
        parameters["deliver"] = False
    sweep_deployment = sweep.to_deployment(
        name="sweep",
        cron=sweep_cron,
        interval=sweep_every,
        parameters=parameters or None,
        concurrency_limit=_one_at_a_time(),
        description="Re-forecast, automated tasks, nudges, status emails"
        + (" (delivered by the deliver deployment)." if deliver_every is not None else ", delivery."),
    )
    delivery = (
        []
        if deliver_every is None
        else [
            deliver.to_deployment(
                name="deliver",
                interval=deliver_every,
                concurrency_limit=_one_at_a_time(),
                description="The outbox delivered beside the sweep: what launches, changes and sweeps queued.",
            )
        ]
    )
    report_deployment = report.to_deployment(
        name="weekly-report",
        cron=report_cron,
        concurrency_limit=_one_at_a_time(),
        description="The managers' report: HTML written, emailed to ONBOARDING_MANAGERS, headline as an artifact.",
    )
    return [sweep_deployment, report_deployment, *delivery]


IN_FLIGHT = (StateType.PENDING, StateType.RUNNING, StateType.CANCELLING)


def release_orphans(served: Sequence[RunnerDeployment]) -> list[str]:
    """Mark Crashed the runs of these deployments left in flight by a serve that stopped, and free their slots.

    Only serve runs its deployments' runs, in processes of its own: when it starts,
    a run of theirs still pending, running or cancelling was left by a serve that was
    killed (or whose machine went down) while it started or ran it. Such a run holds
    its deployment's one slot, and every later run would end Cancelled ("Deployment
    concurrency limit reached"). Once none is in flight, no slot can be held either: a
    count left above zero (a server restarted while a run held one) is set back to 0.
    Deployments not registered yet are skipped. Returns what it did, a line each.
    """
    done: list[str] = []
    with get_client(sync_client=True) as client:
        for deployment in served:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                registered = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
            in_flight = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    deployment_id=FlowRunFilterDeploymentId(any_=[registered.id]),
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=list(IN_FLIGHT))),
                )
            )
            for run in in_flight:
                was = run.state.name if run.state else "?"
                client.set_flow_run_state(
                    run.id, Crashed(message="the serve process running it stopped before it ended"), force=True
                )
                done.append(f"{name}: run {run.name} ({was}) marked Crashed, left in flight by a serve that stopped")
            limit = registered.global_concurrency_limit
            if limit is None:
                continue
            held = client.read_global_concurrency_limit_by_name(limit.name).active_slots
            if held:
                client.update_global_concurrency_limit(limit.name, GlobalConcurrencyLimitUpdate(active_slots=0))
                done.append(f"{name}: {held} concurrency slot(s) held by no run set free")
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--cron", help="When the sweep runs (cron, UTC; default: */15 * * * *).")
    when.add_argument(
        "--interval", type=float, metavar="SECONDS", help="Sweep every SECONDS instead of on a cron (e.g. in tests)."
    )
    parser.add_argument("--report-cron", default="0 7 * * 1", help="When the managers' report goes out (cron, UTC).")
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="Share each sweep out as this many shard runs to the workers of --pool (default 1: no sharing).",
    )
    parser.add_argument("--pool", help="The process work pool whose workers run the shard runs (with --shards).")
    parser.add_argument(
        "--deliver-every",
        type=float,
        default=DELIVER_EVERY.total_seconds(),
        metavar="SECONDS",
        help="Deliver the outbox this often, beside the sweep (default 60; 0: each sweep delivers at its end).",
    )
    args = parser.parse_args()
    if args.deliver_every < 0:
        parser.error("--deliver-every must be 0 or a positive number of seconds")
    if args.interval is not None and args.interval <= 0:
        parser.error("--interval must be a positive number of seconds")
    try:
        Shard(0, args.shards)
    except SweepRefused as refused:
        parser.error(f"--shards: {refused.problems[0].message} ({refused.problems[0].hint})")
    if args.shards > 1 and not args.pool:
        parser.error("--shards needs --pool: the process work pool whose workers run the shards")
    every = timedelta(seconds=args.interval) if args.interval is not None else None
    cron = None if every else args.cron or "*/15 * * * *"
    if args.pool:
        deploy_shards(args.pool)
    deliver_every = timedelta(seconds=args.deliver_every) if args.deliver_every else None
    served = deployments(
        sweep_cron=cron,
        sweep_every=every,
        report_cron=args.report_cron,
        shards=args.shards,
        deliver_every=deliver_every,
    )
    for line in release_orphans(served):
        print(f"onboarding serve: {line}", file=sys.stderr)
    serve(served)


def serve(served: Sequence[RunnerDeployment]) -> None:
    """``prefect.serve`` of these deployments (paused when serve stops), with a runner whose stop always ends
    (``stopping``): a SIGTERM or Ctrl-C ends serve and its flow runs within ``STOP_SECONDS``."""
    runner = StoppingRunner(pause_on_shutdown=True)
    for deployment in served:
        runner.add_deployment(deployment)
    names = ", ".join(f"{d.flow_name}/{d.name}" for d in served)
    print(f"onboarding serve: serving {names} (Ctrl-C or SIGTERM stops it)", file=sys.stderr, flush=True)
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        end_within(STOP_SECONDS)  # the interpreter's exit waits for the threads the runner left


if __name__ == "__main__":
    main()
