"""Benchmark: a whole sweep of the portfolio, on a weekday and on a Monday, against one read of every task row.

Goals (issue 13): a weekday sweep costs at most one read of the data (ratio <= 1.0),
a Monday sweep at most two (<= 2.0), on SQLite and on PostgreSQL, at 250,000
projects.

Loads ``sweep_bench``'s portfolio (default 250,000 projects x 40 tasks, each
overdue task with the nudge history daily sweeps would have left) with its
``Mix``: the example blueprints' email policies (a weekly status email on a weekday
of each project's own to two customer roles, one per completed milestone, automated tasks that email a
customer and a vendor role), about 5% of the projects on hold and a fifth live
(completed), and every weekly update each project's readers had since its kickoff
in the outbox, as the engine keeps them (about 27 rows a project: the sweep reads
each reader's latest). The portfolio is as it stands before the sweep of ``TODAY``, a
Monday. The Monday is swept before the Tuesday: a sweep never runs as of a day before one
already swept, and the Tuesday after it is a weekday as daily sweeps leave it (the weekly
emails sent, the nudges of Monday recorded). First, untimed, every active project is
re-forecast as of the Sunday before (nothing run, nudged or queued, the day not recorded
as swept): the sweep re-forecasts a project only once its go-live can move, from a
threshold each re-forecast stores (``core.projects.go_live_holds_until``), which a
project's changes and the daily sweeps leave in place and a freshly loaded portfolio
lacks; so does the instant each active project's next weekly update can come, which each sweep stores
beside the project (``core.status.weekly_next_due_at``; none is due by then). Its blueprint has no go-live task,
so its projects never cross one:
``reforecast_bench`` times a re-forecast that does. On PostgreSQL the settled portfolio is then
vacuumed (``VACUUM ANALYZE``), as autovacuum leaves the rows that days of changes and sweeps
re-dated one project at a time: a server run with autovacuum off, as this machine's, would
otherwise keep the 3 million dead task rows of settling 190,000 projects at once, which every
later phase walks (a Tuesday at 250,000 projects took 100-110 s on such a copy against 78 s
vacuumed). Then,
in one run, each phase on a clean heap:

1. floor: every column of every task row, one ``SELECT`` through the driver's own
   cursor (sqlite3, or a psycopg server-side cursor), fetched 10,000 rows at a time;
   no SQLAlchemy, no objects made of the rows;
2. Monday sweep, as of ``TODAY`` at 17:00 UTC, without delivery: what
   ``onboarding sweep --as-of 2027-03-15 --at 17:00 --no-deliver`` runs
   (``bootstrap.sweep_service(..., deliver=False).run()``: automated tasks,
   nudges decided and recorded, re-forecast, status emails queued; the weekly
   status emails are due, their 09:00 slot having passed in Chicago), its batches
   two at a time in forked processes, as the command's default has them
   (``ONBOARDING_SWEEP_WORKERS``);
3. the team's Monday (timed, in no ratio): each open task due by Monday that leads to
   an automated task is completed through ``ProjectService.change_task``, as its
   owner would between two sweeps, so that the weekday has the automated tasks of a
   day to run;
4. weekday sweep, the Tuesday after, the same way: the steady state of a daily
   sweep, the weekly emails sent the day before;
5. delivery to a Maildir of everything both sweeps (and the team's Monday) queued, the
   status emails queued to be composed (weekly updates, milestone announcements)
   composed there (``bootstrap.dispatcher(...).deliver_due()`` until nothing is due;
   with ``--deliver-at-most N``, a sample of at most N of them, every k-th queued, so
   that each kind, the status emails to compose among them, is delivered in its share
   (its projects then lie further apart than in a whole delivery): at 250,000 projects
   all 352,000 take about 4 minutes on SQLite.

Each phase prints its wall and CPU time (``time.process_time`` of this process, with the
CPU time of the batch processes a sweep forks: on PostgreSQL the server's work shows
only in the wall time), the load average at its
end, and what it did: projects re-forecast, automated tasks run, nudges recorded,
emails queued (by kind, counted in the outbox around the phase), messages delivered.
Last: ``monday_ratio=<Monday sweep / floor>``, then ``ratio=<weekday sweep / floor>``,
both in wall time (what users feel), with the CPU ratio beside each.

``--database postgresql`` loads a throw-away PostgreSQL database (COPY).
``--cache DIR`` keeps the loaded SQLite file in DIR and sweeps a copy of it, so that
the next run of the same size starts from the same portfolio without loading it; it
keeps the portfolio as settled too, named by a digest of the engine's code, so that a
run of the same code starts from it without settling it again (any change to the code
settles anew).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import sweep_bench  # the portfolio loader beside this file
from scratch import scratch_engine
from sqlalchemy import Engine, and_, func, select

import onboarding
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import make_engine, migrate, outbox, projects, tasks
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import dispatcher, project_service, sweep_service
from onboarding.core.lifecycle import Action
from onboarding.errors import OnboardingError
from onboarding.services.dispatch import DispatchReport
from onboarding.services.sweep import SweepReport, batches
from onboarding.settings import Settings

MONDAY = sweep_bench.TODAY  # the portfolio stands as before this day's sweep
WEEKDAY = MONDAY + timedelta(days=1)  # the Tuesday after: a business day, no holiday
SUNDAY = MONDAY - timedelta(days=1)  # the daily sweep before the Monday, untimed
AT = sweep_bench.NOW.timetz()  # 17:00 UTC: noon in Chicago, past the 09:00 slots of nudges and weekly emails
FLOOR_CHUNK = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    load: float  # the one-minute load average when the phase ended

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU (load {self.load:.2f})"


def cpu_time() -> float:
    """This process's CPU time and that of its children ended so far: a sweep's batch processes count."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


def timed(work: Callable[[], T]) -> tuple[T, Timing]:
    """Run ``work`` on a clean heap: what earlier phases left is collected first, so that no phase pays the
    cycle collector for another's objects."""
    gc.collect()
    wall, cpu = time.perf_counter(), cpu_time()
    result = work()
    timing = Timing(time.perf_counter() - wall, cpu_time() - cpu, os.getloadavg()[0])
    return result, timing


def floor(engine: Engine) -> int:
    """Every column of every task row through the driver's cursor, fetched in chunks; the number of rows."""
    columns = ", ".join(c.name for c in tasks.c)
    raw = engine.raw_connection()
    try:
        # on PostgreSQL a server-side cursor: the client holds one chunk at a time, as with sqlite3
        sqlite = engine.dialect.name == "sqlite"
        cursor = raw.cursor() if sqlite else raw.driver_connection.cursor(name="floor")  # type: ignore[union-attr]
        cursor.execute(f"SELECT {columns} FROM tasks")
        rows = 0
        while chunk := cursor.fetchmany(FLOOR_CHUNK):
            rows += len(chunk)
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return rows


def queued_by_kind(engine: Engine) -> Counter[str]:
    with engine.connect() as connection:
        return Counter(
            {
                kind: int(n)
                for kind, n in connection.execute(select(outbox.c.kind, func.count()).group_by(outbox.c.kind))
            }
        )


def describe_queued(before: Counter[str], after: Counter[str]) -> str:
    added = after - before
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in sorted(added.items()))
    return f"{sum(added.values()):,} emails queued ({kinds or 'none'})"


def describe_sweep(report: SweepReport) -> str:
    return (
        f"re-forecast {report.reforecast:,} projects, ran {report.automated:,} automated tasks, "
        f"{report.overdue_tasks:,} overdue tasks -> {report.nudges:,} nudges recorded in {report.digests:,} digests "
        f"({report.deferred:,} deferred), {report.status_emails:,} status emails"
        + (f", {len(report.not_replanned):,} projects not re-planned" if report.not_replanned else "")
    )


def portfolio_summary(engine: Engine) -> str:
    with engine.connect() as connection:
        query = select(projects.c.state, func.count()).group_by(projects.c.state)
        states = {str(state): int(n) for state, n in connection.execute(query)}
    store = SqlSweepStore(engine)
    late = len(store.projects_to_replan(today=MONDAY))
    ready = len(store.ready_automated(today=MONDAY))
    by_state = ", ".join(f"{n:,} {state}" for state, n in sorted(states.items()))
    return f"projects: {by_state}; {late:,} active with late work; {ready:,} automated tasks that may be ready"


def settings_for(engine: Engine, folder: Path) -> Settings:
    """The sweep's settings: its data folder (the Maildir, the key that signs links) in ``folder``, never SMTP."""
    return Settings(
        data_dir=folder,
        database_url=engine.url.render_as_string(hide_password=False),
        smtp_host=None,
        delivery_deadline_seconds=599,
    )


def sweep(engine: Engine, settings: Settings, day: date) -> SweepReport:
    """``onboarding sweep --as-of DAY --at 17:00 --no-deliver``: the service built as the CLI builds it, run."""
    clock = FixedClock(day, at=datetime.combine(day, AT))
    return sweep_service(settings, clock=clock, deliver=False, engine=engine).run()


def settle(engine: Engine, settings: Settings, day: date) -> int:
    """Every active project re-forecast as of ``day``, then weighed for its weekly updates (nothing run or nudged,
    the day not recorded as swept): its plan and thresholds as its latest change, or that day's sweep, would have
    left them. The history holds every update due by then: none is queued."""
    service = sweep_service(settings, clock=FixedClock(day, at=datetime.combine(day, AT)), deliver=False, engine=engine)
    active = service.active_projects()
    count = service.reforecast(active)
    queued = sum(service.weekly_status(batch) for batch in batches(active))
    assert queued == 0, f"{queued} weekly updates were due by {day}: the loaded history lacks them"
    return count


def code_digest() -> str:
    """A digest of the engine's code (every module of the ``onboarding`` package): a portfolio settled by other
    code is settled again."""
    root = Path(onboarding.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def settled_copy(cache: Path, loaded: Path, copy: Path, *, projects: int, tasks: int) -> tuple[Path, Timing | None]:
    """``copy`` made of the cached portfolio as settled by this code (``settle`` as of ``SUNDAY``), settled from
    the loaded portfolio ``loaded`` and kept in ``cache`` first when missing: the settled file, and how long
    settling took when it ran."""
    settled = cache / f"whole-sweep-settled-{projects}x{tasks}-{code_digest()}.db"
    took: Timing | None = None
    if not settled.exists():
        building = settled.with_suffix(".building")
        shutil.copyfile(loaded, building)
        engine = make_engine(f"sqlite:///{building}")
        try:
            _count, took = timed(lambda: settle(engine, settings_for(engine, copy.parent / "settling"), SUNDAY))
        finally:
            engine.dispose()  # the last connection to close checkpoints the WAL into the file
        shutil.move(building, settled)
    shutil.copyfile(settled, copy)  # the sweeps write: the cached file stays as settled
    return settled, took


def team_day(engine: Engine, settings: Settings, day: date) -> tuple[int, int]:
    """The team's work of ``day`` that leads to automated tasks: each open task due by then whose successor is a
    pending automated task is completed on ``day``, as its owner would; returns (completed, refused: its own
    predecessors still open)."""
    lead = tasks.alias("lead")
    query = (
        select(lead.c.project_id, lead.c.key)
        .join_from(tasks, lead, and_(lead.c.project_id == tasks.c.project_id, lead.c.position == tasks.c.position - 1))
        .join(projects, projects.c.id == tasks.c.project_id)
        .where(
            tasks.c.kind == "automated",
            tasks.c.state == "pending",
            lead.c.state.in_(("pending", "in_progress")),
            lead.c.due_on <= day,
            projects.c.state == "active",
        )
        .order_by(lead.c.project_id, lead.c.key)
    )
    with engine.connect() as connection:
        due = [(r[0], r[1]) for r in connection.execute(query)]
    service = project_service(settings, clock=FixedClock(day, at=datetime.combine(day, AT)), engine=engine)
    completed = refused = 0
    for project_id, task_key in due:
        try:
            service.change_task(project_id, task_key, Action.complete, by="bench")
        except OnboardingError:
            refused += 1
        else:
            completed += 1
    return completed, refused


def deliver(engine: Engine, settings: Settings, day: date, *, at_most: int | None) -> DispatchReport:
    """What is due in the outbox (at most ``at_most`` messages) delivered to the Maildir, one delivery run after
    another while a run stops at its deadline."""
    clock = FixedClock(day, at=datetime.combine(day, AT))
    delivery = dispatcher(settings, engine=engine, clock=clock)
    total = DispatchReport()
    while True:
        left = None if at_most is None else at_most - total.sent - total.failed - total.held - total.suppressed
        report = delivery.deliver_due(max_messages=left)
        total += report
        if not report.out_of_time or report.unavailable or left == 0:
            return total


def sample(engine: Engine, at_most: int, waiting: int) -> int:
    """Keep every k-th message waiting (by id: in the order queued, every kind in its share) due, at most
    ``at_most`` of them, and put the others off for a year; returns k."""
    every = -(-waiting // at_most)
    if every > 1:
        later = datetime.combine(WEEKDAY + timedelta(days=365), AT)
        with engine.begin() as connection:
            connection.execute(
                outbox.update()
                .where(outbox.c.status == "pending", outbox.c.id % every != 0)
                .values(next_attempt_at=later)
            )
    return every


def pending(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).where(outbox.c.status == "pending")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=250_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--cache", type=Path, help="keep the SQLite portfolio in this folder and sweep a copy of it")
    parser.add_argument(
        "--deliver-at-most",
        type=int,
        metavar="N",
        help="deliver only N of the messages queued (the rate at scale, without the better part of an hour)",
    )
    args = parser.parse_args()
    assert MONDAY.weekday() == 0 and WEEKDAY.weekday() == 1
    mix = sweep_bench.Mix()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="whole-sweep-")))
        started = time.perf_counter()
        settled: Path | None = None
        if args.database == "sqlite" and args.cache:
            cached, overdue = sweep_bench.cached_sqlite(args.cache, projects=args.projects, tasks=args.tasks, mix=mix)
            source = Path(str(cached.url.database))
            summary = portfolio_summary(cached)  # as loaded, before any re-forecast
            cached.dispose()
            copy = tmp / "portfolio.db"
            settled, settle_time = settled_copy(args.cache, source, copy, projects=args.projects, tasks=args.tasks)
            engine = make_engine(f"sqlite:///{copy}")
            stack.callback(engine.dispose)
            how = "loaded" if overdue is not None else f"copied from {source}"
        else:
            engine = stack.enter_context(scratch_engine(args.database, tmp))
            migrate(engine)
            overdue = sweep_bench.load(engine, projects=args.projects, tasks=args.tasks, mix=mix)
            summary = portfolio_summary(engine)
            how = "loaded"
        print(
            f"{how}: {args.projects:,} projects x {args.tasks} tasks = {args.projects * args.tasks:,} task rows "
            f"in {time.perf_counter() - started:.0f} s on {args.database}"
        )
        print(summary)
        settings = settings_for(engine, tmp / "data")
        workers = sweep_service(settings, clock=FixedClock(MONDAY), deliver=False, engine=engine).workers
        print(
            f"sweep batches worked at once: {workers}, each in a forked process "
            "(ONBOARDING_SWEEP_WORKERS, or the default)"
        )

        why = "in no ratio: the thresholds changes and daily sweeps leave, which a loaded portfolio lacks"
        if settled is None:
            count, settle_time = timed(lambda: settle(engine, settings, SUNDAY))
            sweep_bench.vacuumed(engine)  # the rows it re-dated all at once, as autovacuum leaves them over days
            print(f"every active project re-forecast as of Sunday {SUNDAY} ({why}): {settle_time}; {count:,} projects")
        elif settle_time is not None:
            print(f"every active project re-forecast as of Sunday {SUNDAY} ({why}): {settle_time}; kept as {settled}")
        else:
            print(f"every active project re-forecast as of Sunday {SUNDAY} ({why}): copied from {settled}")

        rows, floor_time = timed(lambda: floor(engine))
        print(f"floor (every task row through the driver, {FLOOR_CHUNK:,} a fetch): {floor_time}; {rows:,} rows")

        queued = queued_by_kind(engine)
        monday, monday_time = timed(lambda: sweep(engine, settings, MONDAY))
        now_queued = queued_by_kind(engine)
        print(f"Monday sweep {MONDAY} (no delivery): {monday_time}; {describe_sweep(monday)}")
        print(f"  {describe_queued(queued, now_queued)}")
        del monday

        queued = now_queued
        (completed, refused), team_time = timed(lambda: team_day(engine, settings, MONDAY))
        now_queued = queued_by_kind(engine)
        print(
            f"the team's Monday (in no ratio): {team_time}; {completed:,} tasks due by then completed, each leading "
            f"to an automated task ({refused:,} refused: their own predecessors open); "
            f"{describe_queued(queued, now_queued)}"
        )

        queued = now_queued
        weekday, weekday_time = timed(lambda: sweep(engine, settings, WEEKDAY))
        now_queued = queued_by_kind(engine)
        print(f"weekday sweep {WEEKDAY} (no delivery): {weekday_time}; {describe_sweep(weekday)}")
        print(f"  {describe_queued(queued, now_queued)}")
        del weekday

        waiting = pending(engine)
        every = sample(engine, args.deliver_at_most, waiting) if args.deliver_at_most else 1
        delivered, delivery_time = timed(lambda: deliver(engine, settings, WEEKDAY, at_most=args.deliver_at_most))
        print(
            f"delivery to a Maildir: {delivery_time}; {delivered.sent:,} of {waiting:,} messages delivered "
            + (f"(a sample: one in {every:,} as queued) " if every > 1 else "")
            + f"({delivered.sent / delivery_time.wall:,.0f} a second), {delivered.failed:,} failed, "
            f"{delivered.held:,} held, {delivered.suppressed:,} suppressed, "
            f"{delivered.quiet:,} weekly updates composed without news and left unsent"
            + (f"; mail folder unavailable: {delivered.unavailable}" if delivered.unavailable else "")
        )

        def ratio(phase: Timing) -> str:
            return f"{phase.wall / floor_time.wall:.2f} (CPU {phase.cpu / floor_time.cpu:.2f})"

        print(f"monday_ratio={ratio(monday_time)}")
        print(f"ratio={ratio(weekday_time)}")


if __name__ == "__main__":
    main()
