"""Benchmark: Prefect's share of a sweep of the whole portfolio.

Goal: a sweep of the full portfolio uses at most one task run per 500 projects,
and the sweep flow takes at most 1.2 times the same sweep called directly, plus
Prefect's fixed start.

Loads a portfolio once (``sweep_bench.load``: default 20,000 projects x 40 tasks in
SQLite, a Monday with overdue work, so the sweep re-forecasts, nudges, queues the
weekly status emails and delivers them to a Maildir), starts its own Prefect server
on 127.0.0.1 (a throw-away PREFECT_HOME; its database in a throw-away PostgreSQL
database, or SQLite with ``--prefect-database sqlite``), then measures in one run:

- direct: ``SweepService.run()`` built by ``bootstrap.sweep_service``, once before
  and once after the flow (the mean is the baseline: on a shared machine the load
  drifts during a long run);
- fixed start: a trivial flow run against the same server (the median of three);
- flow: ``onboarding_flows/sweep.py``'s ``sweep`` flow against that server;
- shared: the same flow with ``shards=--shards`` (default 4), its shard runs
  handed to a process work pool with one, then two, ``prefect worker start
  --limit 1`` (each worker a machine of one core), as README.md's several-machine
  set-up does. It prints each run's time, the throughput of two workers against
  one, and the duplicates: projects attended by more than one shard run plus
  messages counted sent more than once (must be 0), and checks both runs did the
  direct sweep's work.

Each sweep starts from a fresh copy of the loaded database (SQLite; ``--database
postgresql`` loads a throw-away PostgreSQL database, the set-up several machines
share, and copies it for each sweep). It checks that both
sweeps did the same work, counts the flow run's task runs through the Prefect
client, prints the figures, the task runs per 500 projects, and last
``ratio=<(flow - fixed start) / direct>`` (goal: <= 1.2). The server is stopped on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sweep_bench  # the portfolio loader beside this file
from scratch import postgres_database, postgres_url
from sqlalchemy import text

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import make_engine, migrate
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import sweep_service
from onboarding.settings import Settings

BATCH_PROJECTS = 500
POOL = "bench-sweeps"
AT = "17:00"  # sweep_bench.NOW's time of day: the flow's simulated clock and the direct one agree
# The services that record task runs from their events stay on; scheduling and the UI are not needed.
SERVER_FLAGS = ("--no-scheduler", "--no-late-runs", "--no-ui", "--analytics-off")
QUIET = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def prefect_database(kind: str) -> Iterator[str | None]:
    """The Prefect server's own database: a throw-away PostgreSQL one (its asyncpg URL), or None for SQLite."""
    if kind != "postgresql":
        yield None
        return
    with postgres_database("prefect_bench") as name:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


@contextmanager
def prefect_server(home: Path, *, database_url: str | None) -> Iterator[str]:
    """``prefect server start`` on 127.0.0.1 in its own process group; its API URL. Stopped on exit."""
    port = free_port()
    env = {**os.environ, **QUIET, "PREFECT_HOME": str(home)}
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    prefect = Path(sys.executable).with_name("prefect")
    server = subprocess.Popen(  # noqa: S603 - Prefect's own command from this environment
        [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port), *SERVER_FLAGS],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server exited {server.returncode}; see {home / 'server.log'}")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not answer within 120 s; see {home / 'server.log'}")
            time.sleep(0.25)
        yield url
    finally:
        stop([server], grace_seconds=20)
        log.close()


def stop(processes: list[subprocess.Popen[bytes]], *, grace_seconds: float) -> None:
    """SIGTERM to each process's group, then SIGKILL to those still running after the grace period."""
    for process in processes:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Portfolio:
    """The loaded portfolio, in a SQLite file or a PostgreSQL database, and fresh copies of it for each sweep
    (on PostgreSQL made from it as a template, and dropped with ``stack``)."""

    def __init__(self, kind: str, root: Path, stack: ExitStack) -> None:
        self.kind, self.root, self.stack = kind, root, stack
        if kind == "sqlite":
            self.url = f"sqlite:///{root / 'portfolio.db'}"
        else:
            self.name = stack.enter_context(postgres_database("flow_bench"))
            self.url = postgres_url(self.name)

    def fresh_copy(self, folder: Path) -> Settings:
        """Settings for a sweep over a fresh copy of the loaded portfolio, with its own Maildir."""
        folder.mkdir()
        if self.kind == "sqlite":
            database = folder / "onboarding.db"
            shutil.copyfile(self.root / "portfolio.db", database)
            return Settings(data_dir=folder, database_url=f"sqlite:///{database}")
        copy = self.stack.enter_context(postgres_database("flow_bench_copy", template=self.name))
        return Settings(data_dir=folder, database_url=postgres_url(copy))


def sweep_counts(report: dict[str, Any]) -> dict[str, Any]:
    """What a sweep did, comparable between the direct report and the flow's summary."""
    delivered = report["delivered"]
    return {key: report[key] for key in ("reforecast", "automated", "overdue_tasks", "nudges", "status_emails")} | {
        "sent": delivered["sent"]
    }


@contextmanager
def workers(count: int, env: dict[str, str], api: str, home: Path) -> Iterator[None]:
    """``count`` process workers of POOL, one flow run at a time each, online before the block; stopped after."""
    prefect = Path(sys.executable).with_name("prefect")
    started = []
    try:
        for n in range(count):
            log = (home / f"worker-{count}-{n}.log").open("wb")
            started.append(
                subprocess.Popen(  # noqa: S603 - Prefect's own command from this environment
                    [str(prefect), "worker", "start", "--pool", POOL, "--limit", "1", "--name", f"bench-{count}-{n}"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            log.close()
        deadline = time.monotonic() + 120
        while True:
            online = httpx.post(f"{api}/work_pools/{POOL}/workers/filter", json={}, timeout=10).json()
            if sum(1 for w in online if w["name"].startswith(f"bench-{count}-") and w["status"] == "ONLINE") == count:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} worker(s) not online within 120 s; see {home}/worker-*.log")
            time.sleep(0.5)
        yield
    finally:
        stop(started, grace_seconds=30)


def sent_and_active(url: str) -> tuple[int, int]:
    """Messages marked sent, and active projects, in that database."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            sent = connection.execute(text("SELECT count(*) FROM outbox WHERE status = 'sent'")).scalar_one()
        return int(sent), len(SqlSweepStore(engine).active_projects())
    finally:
        engine.dispose()


def count_task_runs(flow_run_id: Any, *, settle_seconds: float = 3, timeout_seconds: float = 60) -> int:
    """The flow run's task runs, once the server has recorded them all (it does so from events, a little later)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def count() -> int:
        total, page = 0, 200
        async with get_client() as client:
            while True:
                runs = await client.read_task_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=page, offset=total
                )
                total += len(runs)
                if len(runs) < page:
                    return total

    deadline = time.monotonic() + timeout_seconds
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = asyncio.run(count())
        if now != last:
            last, since = now, time.monotonic()
        elif now and time.monotonic() - since >= settle_seconds:
            return now
        time.sleep(0.5)
    raise SystemExit(f"the task run count did not settle within {timeout_seconds:.0f} s (last: {last})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--prefect-database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite", help="the engine's data")
    parser.add_argument("--shards", type=int, default=4, help="shard runs of the shared sweep (default 4)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the server, drop the databases

    with tempfile.TemporaryDirectory(prefix="flow-bench-") as tmp, ExitStack() as stack:
        root = Path(tmp)
        portfolio = Portfolio(args.database, root, stack)
        engine = make_engine(portfolio.url)
        migrate(engine)
        SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))  # it sweeps as of sweep_bench.TODAY, 2027
        started = time.perf_counter()
        overdue = sweep_bench.load(engine, projects=args.projects, tasks=args.tasks)
        engine.dispose()
        print(
            f"loaded {args.projects:,} projects x {args.tasks} tasks ({overdue:,} overdue) on {args.database} "
            f"in {time.perf_counter() - started:.0f} s"
        )
        secret = secrets.token_urlsafe(32)
        os.environ["ONBOARDING_SECRET_KEY"] = secret
        clock = FixedClock(sweep_bench.TODAY, at=sweep_bench.NOW)

        def direct_sweep(name: str) -> tuple[float, dict[str, Any]]:
            """(a) the sweep called directly through the service, on its own fresh copy."""
            settings = portfolio.fresh_copy(root / name)
            started, cpu = time.perf_counter(), time.process_time()
            report = sweep_service(settings, clock=clock).run()
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            counts = sweep_counts(asdict(report))
            print(f"direct sweep ({name}): {seconds:.2f} s, {cpu:.2f} s CPU in this process ({counts})")
            return seconds, counts

        direct_before, direct_counts = direct_sweep("before the flow")

        home = root / "prefect-home"
        home.mkdir()
        with (
            prefect_database(args.prefect_database) as url,
            prefect_server(home, database_url=url) as api,
        ):
            os.environ.update(QUIET | {"PREFECT_HOME": str(home), "PREFECT_API_URL": api})
            from prefect import flow

            @flow(name="fixed-start")
            def trivial() -> int:
                return 1

            trivial()  # the first flow call of a process also registers the client and its logging
            fixed_times = []
            for _ in range(3):
                started = time.perf_counter()
                trivial()
                fixed_times.append(time.perf_counter() - started)
            fixed = statistics.median(fixed_times)
            print(f"Prefect fixed start (a trivial flow run): {fixed:.2f} s, median of 3")

            # (c) the sweep flow, over its own fresh copy
            flow_settings = portfolio.fresh_copy(root / "flow")
            os.environ["ONBOARDING_DATA_DIR"] = str(flow_settings.data_dir)
            os.environ["ONBOARDING_DATABASE_URL"] = str(flow_settings.database_url)
            import onboarding_flows.sweep as sweep_flow

            started, cpu = time.perf_counter(), time.process_time()
            state = sweep_flow.sweep(as_of=sweep_bench.TODAY, at=AT, return_state=True)
            summary = state.result()
            flowed, cpu = time.perf_counter() - started, time.process_time() - cpu
            flow_counts = sweep_counts(summary)
            print(f"sweep flow: {flowed:.2f} s, {cpu:.2f} s CPU in this process ({flow_counts})")
            if flow_counts != direct_counts:
                raise SystemExit(f"the flow did other work than the direct sweep: {flow_counts} != {direct_counts}")
            task_runs = count_task_runs(state.state_details.flow_run_id)

            # the shared sweep: shard runs handed to one, then two, workers of a process work pool
            created = subprocess.run(  # noqa: S603 - Prefect's own command from this environment
                [str(Path(sys.executable).with_name("prefect")), "work-pool", "create", POOL, "--type", "process"],
                capture_output=True,
                check=False,
            )
            if created.returncode:
                raise SystemExit(f"could not create the work pool: {created.stdout!r} {created.stderr!r}")
            sweep_flow.deploy_shards(POOL)
            shared: dict[int, float] = {}
            duplicates = 0
            for count in (1, 2):
                settings = portfolio.fresh_copy(root / f"shared-{count}")
                os.environ["ONBOARDING_DATA_DIR"] = str(settings.data_dir)
                os.environ["ONBOARDING_DATABASE_URL"] = str(settings.database_url)
                sweep_flow._built.cache_clear()  # this process's parent run: the fresh copy
                sweep_flow.application.cache_clear()
                sent_before, active = sent_and_active(str(settings.database_url))
                env = {**os.environ, "PREFECT_WORKER_QUERY_SECONDS": "1"}
                with workers(count, env, api, home):
                    started, cpu = time.perf_counter(), time.process_time()
                    summary = sweep_flow.sweep(as_of=sweep_bench.TODAY, at=AT, shards=args.shards)
                    shared[count], cpu = time.perf_counter() - started, time.process_time() - cpu
                counts = sweep_counts(summary)
                if counts != direct_counts:
                    raise SystemExit(
                        f"{count} worker(s) did other work than the direct sweep: {counts} != {direct_counts}"
                    )
                attended = sum(shard["projects"] for shard in summary["shards"])
                sent_after, _ = sent_and_active(str(settings.database_url))
                twice = (attended - active) + (summary["delivered"]["sent"] - (sent_after - sent_before))
                duplicates += twice
                print(
                    f"shared sweep, {args.shards} shards on {count} worker(s): {shared[count]:.2f} s, {cpu:.2f} s CPU "
                    f"in this process; projects by shard {[shard['projects'] for shard in summary['shards']]}, "
                    f"duplicates {twice}"
                )
        direct_after, counts_after = direct_sweep("after the flow")
        assert counts_after == direct_counts
        direct = (direct_before + direct_after) / 2
        per_batch = task_runs / max(1, -(-args.projects // BATCH_PROJECTS))
        print(f"task runs: {task_runs} for {args.projects:,} projects = {per_batch:.2f} per {BATCH_PROJECTS} projects")
        print(
            f"workers: throughput of 2 against 1 = {shared[1] / shared[2]:.2f} "
            f"({args.projects / shared[1]:,.0f} and {args.projects / shared[2]:,.0f} projects/s), "
            f"duplicates={duplicates}"
        )
        print(f"flow minus fixed start: {flowed - fixed:.2f} s against direct {direct:.2f} s, the mean of both")
        print(f"ratio={(flowed - fixed) / direct:.2f}")


if __name__ == "__main__":
    main()
