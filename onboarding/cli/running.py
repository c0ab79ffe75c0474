"""The commands that run flows in their own process: demo and serve."""

from __future__ import annotations

import subprocess
import sys

import click

from onboarding.cli.edge import main
from onboarding.core.shards import MAX_SHARDS


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--data",
    default="demo-data",
    show_default=True,
    help="Folder for the demo's database and Maildir: made by the demo and replaced on its next run; "
    "a folder holding anything else is refused, untouched.",
)
@click.option("--projects", type=click.IntRange(min=1), default=30, show_default=True)  # the flow has the most
@click.option("--days", type=click.IntRange(min=1), default=120, show_default=True)
def demo(data: str, projects: int, days: int) -> None:
    """Launch a portfolio and live through ~4 months of it, sweeping every working day through Prefect."""
    _run_flow_module("onboarding_flows.demo", "--data", data, "--projects", str(projects), "--days", str(days))


@main.command()
@click.option("--cron", help="When the sweep runs (UTC).  [default: */15 * * * *]")
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Sweep every SECONDS instead of on a cron (for trials and tests).",
)
@click.option("--report-cron", default="0 7 * * 1", show_default=True, help="When the managers' report goes (UTC).")
@click.option(
    "--shards",
    type=click.IntRange(min=1, max=MAX_SHARDS),
    default=1,
    show_default=True,
    help="Share each sweep out as this many shard runs, run by the workers of --pool (several machines).",
)
@click.option("--pool", help="The Prefect process work pool whose workers run the shard runs (with --shards).")
@click.option(
    "--deliver-every",
    type=click.FloatRange(min=0),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="Deliver the outbox this often, beside the sweep (0: each sweep delivers at its end).",
)
def serve(
    cron: str | None, interval: float | None, report_cron: str, shards: int, pool: str | None, deliver_every: float
) -> None:
    """Serve the sweep and the weekly report on their schedules against a Prefect server (see README)."""
    if cron is not None and interval is not None:
        raise click.UsageError("give the sweep --cron or --interval, not both")
    if shards > 1 and not pool:
        raise click.UsageError("--shards needs --pool: the process work pool whose workers run the shards")
    when = ["--interval", str(interval)] if interval is not None else ["--cron", cron or "*/15 * * * *"]
    when += ["--shards", str(shards), *(["--pool", pool] if pool else []), "--deliver-every", f"{deliver_every:g}"]
    # This process turns into the one serving the flows (exec, not a child process): a stop signal (systemd,
    # docker stop, kill) reaches Prefect's runner, which shuts down; a child would go on serving, orphaned.
    import os  # here, not at the top: the other commands never replace their process

    os.execv(sys.executable, [sys.executable, "-m", "onboarding_flows.serve", *when, "--report-cron", report_cron])  # noqa: S606 - our own module


def _run_flow_module(module: str, *args: str) -> None:
    """Flows run in their own process: this package never imports Prefect."""
    result = subprocess.run([sys.executable, "-m", module, *args], check=False)  # noqa: S603 - our own module
    raise SystemExit(result.returncode)
