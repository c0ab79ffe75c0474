"""Benchmark: the sweep's decision phase over a portfolio, against the raw indexed query of its overdue rows.

Bulk-loads a portfolio (default 250,000 projects x 40 tasks = 10M task rows) of
one 40-task blueprint, about 2.5% of all tasks open past their target date, four
people bound per project. Each overdue task carries the nudge history that daily
sweeps under the blueprint's policy would have left (nudges sent, the day of the
last one), so that, as in a running portfolio, most overdue tasks were nudged
recently and only some are due again today. Then, in the same run:

- decision: ``SweepService.decide_nudges()`` -- count the overdue tasks, find those
  that may be due a nudge with their projects and people, and apply the
  blueprint's nudge policy: which are due, to whom, at which rung, held back or
  not, in which digest (nothing recorded, nothing sent; a digest's subject and
  text are composed when it is recorded);
- raw: one SQL query returning the same overdue rows from the covering index,
  through SQLAlchemy Core (the baseline); the same query through the driver's
  cursor alone is printed beside it.

Each phase starts on a clean heap. It prints both and, last,
``ratio=<decision/raw>`` (goal: <= 2).
``--database postgresql`` loads a throw-away PostgreSQL database instead (with
COPY). ``--cache DIR`` keeps the loaded SQLite file in DIR and reuses it on the
next run with the same size (the load of 10M rows takes minutes; the timed phases
only read).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from scratch import index_definitions, scratch_engine
from sqlalchemy import Engine, text

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import SqlProjectStore, make_engine, migrate, outbox_values
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.adapters.webhooks import RecordingWebhooks
from onboarding.core.blueprint import NudgePolicy
from onboarding.core.calendars import BusinessCalendar, CalendarKey, business_calendar
from onboarding.core.messages import Person
from onboarding.core.nudges import nudge_thresholds
from onboarding.core.status import WeeklyReader, spread_weekday, update_to_compose
from onboarding.services.heap import cycle_collector_paused
from onboarding.services.ports import NudgeFilter
from onboarding.services.projects import ProjectService
from onboarding.services.sweep import SweepService

TODAY = date(2027, 3, 15)
NOW = datetime(2027, 3, 15, 17, 0, tzinfo=UTC)
ROLES = {"csm": "vendor", "engineer": "vendor", "admin": "customer", "sponsor": "customer"}
LOADER_VERSION = 3  # bump when the generated portfolio changes: a cached file of another version is rebuilt
AUTOMATED_EVERY, AUTOMATED_AT = 20, 4  # with email policies, tasks t4, t24, ... are automated (engineer-owned)


@dataclass(frozen=True)
class Mix:
    """A portfolio with the example blueprints' emails and a realistic mix of project states.

    The blueprint gets the examples' email policies: a weekly status email at 09:00 on
    a weekday of each project's own (``weekday: spread``), when there is news for its
    reader, to two customer roles (admin, sponsor), and one when a milestone is
    completed, and every ``AUTOMATED_EVERY``-th task is automated, emailing the admin
    and the engineer when it is ready (as the payroll example's prenotes). An
    automated task past its target date was run, unless the task before it is still
    open. About ``on_hold`` of the projects are on hold; of those whose every task is
    past its target date, ``live`` went live (every task done, the project completed).
    The states come from their own random stream: the tasks' dates and states are
    those of the plain portfolio of the same seed. The database is marked a
    simulation, so that it can be swept as of ``TODAY`` and the days after.
    """

    on_hold: float = 0.05
    live: float = 0.5
    cache_name: str = "whole-sweep-portfolio-v3"  # the cached file's name: change it when the mix changes


def is_automated(position: int) -> bool:
    return position % AUTOMATED_EVERY == AUTOMATED_AT


def blueprint_text(tasks: int, *, emails: bool = False) -> str:
    lines = [
        "key: bench_forty",
        "version: 1.0.0",
        "title: Forty-task onboarding",
        "roles:",
        "  csm: {title: CSM, side: vendor}",
        "  engineer: {title: Engineer, side: vendor, escalation: csm}",
        "  sponsor: {title: Sponsor, side: customer}",
        "  admin: {title: Admin, side: customer, escalation: sponsor}",
        "calendars: {vendor: {country: US}, customer: {country: US}}",
        "milestones:",
    ]
    for m in range(tasks // 10):
        lines += [f"  - key: m{m}", f"    title: Milestone {m}", "    tasks:"]
        for i in range(10):
            n = m * 10 + i
            owner = ["engineer", "admin", "csm", "admin"][n % 4]
            dep = f", depends_on: [t{n - 1}]" if n else ""
            if emails and is_automated(n):
                action = (
                    ", kind: automated, action: {type: email, to: [admin, engineer],"
                    ' subject: "Task {task} done for {customer}",'
                    ' body: "Hello {recipient_name}, the engine did {task} for {customer} (project {project_id})."}'
                )
            else:
                action = ""
            lines.append(
                f"      - {{key: t{n}, title: Task {n}, owner: {owner}, duration_business_days: 2{dep}{action}}}"
            )
    lines += ["nudges: {ladder: [owner, escalation, csm]}"]
    if emails:  # as the example blueprints' status emails
        lines += [
            "status_emails:",
            "  recipients: [admin, sponsor]",
            "  on_milestone_complete: true",
            '  weekly_digest: {weekday: spread, at: "09:00"}',
            "  include_projected_go_live: true",
        ]
    return "\n".join(lines) + "\n"


def weekly_history(raw: Any) -> Iterator[tuple[object, ...]]:
    """Every weekly update each project's two readers had before ``TODAY``, as daily sweeps leave them: one outbox
    row per reader per week, on its spread weekday's slot, from the first after the kickoff to the last before
    ``TODAY`` (a live project's, to its finish), sent. The engine keeps this history in the outbox for as long as
    it runs, and the sweep reads each reader's latest from it: a project's history grows a row per reader a week."""
    cursor = raw.cursor()
    cursor.execute(
        "SELECT p.id, p.customer, p.kickoff_on, p.finish_on, p.state, b.role, b.name, b.email, b.timezone "
        "FROM projects p JOIN bindings b ON b.project_id = p.id WHERE b.role IN ('admin', 'sponsor') "
        "ORDER BY p.id, b.role"
    )
    return _weekly_rows(cursor.fetchall())  # read before the rows are written: COPY holds the connection


def _weekly_rows(readers: Sequence[tuple[Any, ...]]) -> Iterator[tuple[object, ...]]:
    sent_at = NOW - timedelta(days=7)
    for pid, customer, kickoff, finish, state, role, name, email, zone in readers:
        kickoff, finish = (d if isinstance(d, date) else date.fromisoformat(d) for d in (kickoff, finish))
        weekday = spread_weekday(pid)
        last = TODAY - timedelta(days=7 - weekday if weekday else 7)
        until = min(last, finish) if state == "completed" else last
        reader, since = Person(name, email, zone), kickoff
        slot = kickoff + timedelta(days=(weekday - kickoff.weekday()) % 7 or 7)
        while slot <= until:
            message = update_to_compose(
                project_id=pid, customer=customer, reader=WeeklyReader(reader, role, slot, since), reply_to=None
            )
            values = outbox_values(message, sent_at)
            values.update(status="sent", attempts=1, sent_at=sent_at)
            yield tuple(
                json.dumps(values[c]) if c in ("recipients", "cc", "context") else values[c] for c in HISTORY_COLUMNS
            )
            since, slot = slot, slot + timedelta(days=7)


HISTORY_COLUMNS = [
    "idempotency_key",
    "project_id",
    "kind",
    "recipients",
    "cc",
    "subject",
    "context",
    "customer_facing",
    "reply_to",
    "key_email",
    "key_on",
    "key_reason",
    "created_at",
    "status",
    "attempts",
    "next_attempt_at",
    "sent_at",
]


def nudge_history(
    calendar: BusinessCalendar, policy: NudgePolicy, *, due_on: date, today: date
) -> tuple[int, date | None]:
    """Nudges sent and the day of the last, for a task open since ``due_on``, swept every business day until today.

    A sweep on a business day nudges when the task is ``first_after`` business days
    overdue and then every ``repeat_every`` business days (the policy's owner side;
    the bench's recipients share the owner's calendar and zone, and each has one
    digest a day at most, so no nudge was held back).
    """
    due_floor = calendar.index(calendar.prev_on_or_before(due_on))
    today_floor = calendar.index(calendar.prev_on_or_before(today))
    first, repeat = max(policy.first_after_business_days, 1), policy.repeat_every_business_days
    before_today = today_floor - due_floor - 1  # business days overdue on the last sweep before today
    if before_today < first:
        return 0, None
    sent = (before_today - first) // repeat + 1
    return sent, calendar.add(calendar.prev_on_or_before(due_on), first + (sent - 1) * repeat)


def portfolio_rows(
    *, projects: int, tasks: int, seed: int = 3, chunk: int = 5000, mix: Mix | None = None
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[tuple[object, ...]], int]]:
    """The portfolio in chunks of projects: (project rows, binding rows, task rows, overdue tasks of active
    projects in them)."""
    rnd = random.Random(seed)
    states = random.Random(seed + 1)  # the mix's own stream: the tasks are drawn as without it
    blueprint_id = "b" * 64
    created = datetime(2026, 1, 1, tzinfo=UTC)
    calendar = business_calendar(CalendarKey("US"), name="US")
    policy = NudgePolicy(ladder=("owner", "escalation", "csm"))  # as in blueprint_text
    history: dict[date, tuple[int, date | None]] = {}
    owners = [["engineer", "admin", "csm", "admin"][n % 4] for n in range(tasks)]
    for start in range(0, projects, chunk):
        prows: list[tuple[object, ...]] = []
        brows: list[tuple[object, ...]] = []
        trows: list[tuple[object, ...]] = []
        overdue = 0
        for p in range(start, min(start + chunk, projects)):
            pid = f"p{p:07d}"
            kickoff = TODAY - timedelta(days=rnd.randint(10, 200))
            for role in ROLES:
                brows.append(
                    (pid, role, f"{role.title()} {p % 97}", f"{role}{p % 97}@c{p % 5000}.example", "America/Chicago")
                )
            open_chance = 0.025 * tasks / max(1, (TODAY - kickoff).days // 3)
            project_state = "active"
            if mix is not None:
                if states.random() < mix.on_hold:
                    project_state = "on_hold"
                elif kickoff + timedelta(days=4 + (tasks - 1) * 3) < TODAY and states.random() < mix.live:
                    project_state = "completed"
            replan: date | None = None
            previous = "done"
            for n in range(tasks):
                due = kickoff + timedelta(days=4 + n * 3)
                past = due < TODAY
                # about 2.5% of all tasks are open past their target date
                state = "pending" if not past else ("in_progress" if rnd.random() < open_chance else "done")
                automated = mix is not None and is_automated(n)
                if automated and past:  # the engine ran it once the task before it was done
                    state = "done" if previous == "done" else "pending"
                if project_state == "completed":
                    state = "done"
                previous = state
                nudges_sent, last_nudged_on = 0, None
                if past and state != "done":
                    if project_state == "active":  # the sweep counts the overdue tasks of active projects
                        overdue += 1
                    if due not in history:
                        history[due] = nudge_history(calendar, policy, due_on=due, today=TODAY)
                    nudges_sent, last_nudged_on = history[due]
                owner = owners[n]
                trows.append(
                    (
                        pid,
                        f"t{n}",
                        n,
                        f"Task {n}",
                        f"m{n // 10}",
                        f"Milestone {n // 10}",
                        owner,
                        ROLES[owner],
                        ROLES[owner],
                        "automated" if automated else "human",
                        2,
                        True,
                        False,
                        False,
                        state,
                        due - timedelta(days=1) if state != "pending" else None,
                        due if state == "done" else None,
                        due - timedelta(days=1),
                        due,
                        due,
                        due,
                        0,
                        False,
                        1,
                        nudges_sent,
                        last_nudged_on,
                    )
                )
                if state != "done":  # as core.projects.replan_after: the earliest start not made, due not met
                    moves = due if state == "in_progress" else due - timedelta(days=1)
                    replan = moves if replan is None else min(replan, moves)
            prows.append(
                (
                    pid,
                    None,
                    f"Customer {p}",
                    "smb",
                    "bench_forty",
                    "1.0.0",
                    "Forty-task onboarding",
                    blueprint_id,
                    kickoff,
                    None,
                    project_state,
                    None,
                    None,
                    kickoff + timedelta(days=112),
                    created,
                    created,
                    1,
                    replan,
                )
            )
        yield prows, brows, trows, overdue


PROJECT_COLUMNS = [
    "id",
    "external_id",
    "customer",
    "segment",
    "blueprint_key",
    "blueprint_version",
    "blueprint_title",
    "blueprint_id",
    "kickoff_on",
    "pay_schedule",
    "state",
    "committed_go_live_on",
    "projected_go_live_on",
    "finish_on",
    "created_at",
    "updated_at",
    "version",
    "replan_after",
]
BINDING_COLUMNS = ["project_id", "role", "name", "email", "timezone"]
TASK_COLUMNS = [
    "project_id",
    "key",
    "position",
    "title",
    "milestone_key",
    "milestone_title",
    "owner_role",
    "side",
    "calendar",
    "kind",
    "duration_business_days",
    "customer_visible",
    "first_value",
    "launch",
    "state",
    "started_on",
    "done_on",
    "start_on",
    "due_on",
    "target_due_on",
    "late_due_on",
    "slack_business_days",
    "critical",
    "due_version",
    "nudges_sent",
    "last_nudged_on",
]
# a bulk load: the sweep's partial indexes are built once at the end, not row by row
SWEEP_INDEXES = ("ix_tasks_open_nudge", "ix_bindings_timezone", "ix_outbox_status_sent")


def load(engine: Engine, *, projects: int, tasks: int, seed: int = 3, mix: Mix | None = None) -> int:
    """Bulk-load the portfolio (executemany on SQLite, COPY on PostgreSQL), with the emails and project states of
    ``mix`` when given; returns how many tasks of active projects are overdue."""
    created = datetime(2026, 1, 1, tzinfo=UTC)
    overdue = 0
    sqlite = engine.dialect.name == "sqlite"
    if mix is not None:  # it is swept as of TODAY, in 2027: only a simulation may be swept ahead of the real date
        SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))
    rebuilt = index_definitions(engine, SWEEP_INDEXES)  # dropped for the load, built at its end
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for name in SWEEP_INDEXES:
            cursor.execute(f"DROP INDEX {name}")
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        raw.commit()

        def many(table: str, columns: Sequence[str], rows: Iterable[tuple[object, ...]]) -> None:
            if sqlite:
                marks = ", ".join(["?"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            else:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

        many(
            "blueprints",
            ["id", "key", "version", "title", "source", "text", "created_at"],
            [
                (
                    "b" * 64,
                    "bench_forty",
                    "1.0.0",
                    "Forty-task onboarding",
                    "bench",
                    blueprint_text(tasks, emails=mix is not None),
                    created,
                )
            ],
        )
        for prows, brows, trows, chunk_overdue in portfolio_rows(projects=projects, tasks=tasks, seed=seed, mix=mix):
            many("projects", PROJECT_COLUMNS, prows)
            many("bindings", BINDING_COLUMNS, brows)
            many("tasks", TASK_COLUMNS, trows)
            raw.commit()
            overdue += chunk_overdue
        if mix is not None:
            many("outbox", HISTORY_COLUMNS, weekly_history(raw))
        for definition in rebuilt:
            cursor.execute(definition)
        if sqlite:
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA synchronous=NORMAL")
        raw.commit()
    finally:
        raw.close()
    vacuumed(engine)
    return overdue


def vacuumed(engine: Engine) -> None:
    """On PostgreSQL, ``VACUUM ANALYZE``, as autovacuum (on by default) would have by now: the planner's
    statistics, the visibility map index-only scans need, and the space of rows updated since free again (a
    server run with autovacuum off, as this machine's, keeps every dead row a bulk change leaves, and each later
    read walks them). SQLite updates rows in place: nothing to do."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")


def cached_sqlite(cache: Path, *, projects: int, tasks: int, mix: Mix | None = None) -> tuple[Engine, int | None]:
    """The cached portfolio file of this size (and mix), built first when missing; the overdue count when just
    loaded."""
    cache.mkdir(parents=True, exist_ok=True)
    name = (
        f"sweep-portfolio-{projects}x{tasks}-v{LOADER_VERSION}"
        if mix is None
        else f"{mix.cache_name}-{projects}x{tasks}"
    )
    path = cache / f"{name}.db"
    if path.exists():
        engine = make_engine(f"sqlite:///{path}")
        with engine.connect() as connection:
            built_at = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
        migrate(engine)  # a migration added since the file was built runs once, with fresh statistics
        with engine.connect() as connection:
            if connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() != built_at:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
        return engine, None
    building = path.with_suffix(".building")
    for stale in cache.glob(building.name + "*"):
        stale.unlink()
    engine = make_engine(f"sqlite:///{building}")
    migrate(engine)
    overdue = load(engine, projects=projects, tasks=tasks, mix=mix)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    shutil.move(building, path)
    return make_engine(f"sqlite:///{path}"), overdue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=250_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, help="keep the SQLite portfolio in this folder and reuse it")
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        started = time.perf_counter()
        if args.database == "sqlite" and args.cache:
            engine, overdue = cached_sqlite(args.cache, projects=args.projects, tasks=args.tasks)
        else:
            engine = stack.enter_context(scratch_engine(args.database, tmp))
            migrate(engine)
            overdue = load(engine, projects=args.projects, tasks=args.tasks)
        try:
            if overdue is None:
                with engine.connect() as connection:
                    overdue = int(
                        connection.execute(
                            text(
                                "SELECT count(*) FROM tasks WHERE state IN ('pending', 'in_progress', 'blocked') "
                                "AND target_due_on < :today"
                            ),
                            {"today": TODAY},
                        ).scalar_one()
                    )
                print(f"reused the cached portfolio in {args.cache}")
            print(
                f"loaded {args.projects:,} projects x {args.tasks} tasks = {args.projects * args.tasks:,} task "
                f"rows ({overdue:,} overdue, {100 * overdue / (args.projects * args.tasks):.1f}%) "
                f"in {time.perf_counter() - started:.0f} s on {args.database}"
            )
            clock = FixedClock(TODAY, at=NOW)
            blueprints = FileBlueprints()
            sender = Person("Onboarding", "onboarding@vendor.example")
            service = SweepService(
                store=SqlSweepStore(engine),
                blueprints=blueprints,
                clock=clock,
                dispatcher=None,
                webhooks=RecordingWebhooks(),
                sender=sender,
                projects=ProjectService(
                    store=SqlProjectStore(engine), blueprints=blueprints, clock=clock, sender=sender
                ),
            )
            raw_query = text(
                "SELECT project_id, key, target_due_on FROM tasks "
                "WHERE state IN ('pending', 'in_progress', 'blocked') AND target_due_on < :today"
            )
            driver_query = raw_query.text.replace(":today", "?" if engine.dialect.name == "sqlite" else "%(today)s")
            # Each phase starts on a clean heap: rows or a decision left alive would make the cycle collector
            # of the next phase walk them (it tripled the raw query's time when the decision was kept).
            # The decision's reads alone (no policy): the floor under the decision's time.
            policy = NudgePolicy(ladder=("owner", "escalation", "csm"))  # as in blueprint_text
            limits = nudge_thresholds(policy, business_calendar(CalendarKey("US"), name="US"), TODAY)
            may_be_due = NudgeFilter(due_before=limits.due_before, nudged_before=limits.nudged_before)
            store = SqlSweepStore(engine)
            decision_times, raw_times, driver_times, read_times = [], [], [], []
            decided = (0, 0, 0, 0)
            for _ in range(args.repeat):
                gc.collect()
                started = time.perf_counter()
                with engine.connect() as connection:
                    rows = connection.execute(raw_query, {"today": TODAY}).all()
                raw_times.append(time.perf_counter() - started)
                found = len(rows)
                del rows
                gc.collect()
                started = time.perf_counter()
                with engine.connect() as connection:
                    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                    cursor.execute(
                        driver_query, (TODAY.isoformat(),) if engine.dialect.name == "sqlite" else {"today": TODAY}
                    )
                    driver_rows = cursor.fetchall()
                    cursor.close()
                driver_times.append(time.perf_counter() - started)
                del driver_rows
                gc.collect()
                started = time.perf_counter()
                decision = service.decide_nudges()
                decision_times.append(time.perf_counter() - started)
                plan = decision.plan
                decided = (decision.overdue_tasks, len(plan.nudges), len(plan.digests), len(plan.deferred))
                del decision, plan
                gc.collect()
                started = time.perf_counter()
                with cycle_collector_paused():
                    candidates = store.nudge_candidates(today=TODAY, may_be_due=may_be_due)
                read_times.append(time.perf_counter() - started)
                read = (len(candidates.rows), len(candidates.people))
                del candidates
            assert decided[0] == found == overdue
            print(
                f"decision phase: best {min(decision_times):.2f} s, median {statistics.median(decision_times):.2f} s"
                f" ({decided[0]:,} overdue tasks -> {decided[1]:,} nudges in {decided[2]:,} digests,"
                f" {decided[3]:,} deferred)"
            )
            print(
                f"raw indexed query: best {min(raw_times):.2f} s, median {statistics.median(raw_times):.2f} s "
                f"({found:,} rows; SQLAlchemy Core, the baseline); through the driver's cursor alone: best "
                f"{min(driver_times):.2f} s"
            )
            print(
                f"of the decision, its reads alone (no policy): best {min(read_times):.2f} s = "
                f"{min(read_times) / min(raw_times):.2f} x the raw query ({read[0]:,} candidate tasks of {read[1]:,}"
                " projects, with their projects and people)"
            )
            print(f"ratio={min(decision_times) / min(raw_times):.2f}")
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
