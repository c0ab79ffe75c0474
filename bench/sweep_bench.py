"""Benchmark: the sweep's decision phase over a portfolio, against the raw indexed query of its overdue rows.

Bulk-loads a portfolio (default 250,000 projects x 40 tasks = 10M task rows) of
one 40-task blueprint, about 2.5% of all tasks open past their target date, four
people bound per project. Then, in the same run:

- decision: ``SweepService.decide_nudges()`` -- find the overdue tasks with their
  projects and people, and apply the blueprint's nudge policy (nothing recorded,
  nothing sent);
- raw: one SQL query returning the same overdue rows from the covering index.

It prints both and, last, ``ratio=<decision/raw>`` (goal: <= 2).
``--database postgresql`` loads a throw-away PostgreSQL database instead.
"""

from __future__ import annotations

import argparse
import gc
import random
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import SqlProjectStore, make_engine, migrate
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.adapters.webhooks import RecordingWebhooks
from onboarding.core.messages import Person
from onboarding.services.projects import ProjectService
from onboarding.services.sweep import SweepService

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TODAY = date(2027, 3, 15)
NOW = datetime(2027, 3, 15, 17, 0, tzinfo=UTC)
ROLES = {"csm": "vendor", "engineer": "vendor", "admin": "customer", "sponsor": "customer"}


def blueprint_text(tasks: int) -> str:
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
            lines.append(f"      - {{key: t{n}, title: Task {n}, owner: {owner}, duration_business_days: 2{dep}}}")
    lines += ["nudges: {ladder: [owner, escalation, csm]}"]
    return "\n".join(lines) + "\n"


def load(engine: Engine, *, projects: int, tasks: int, seed: int = 3) -> int:
    """Bulk-load the portfolio with the driver's executemany; returns how many tasks are overdue."""
    rnd = random.Random(seed)
    text_ = blueprint_text(tasks)
    blueprint_id = "b" * 64
    created = datetime(2026, 1, 1, tzinfo=UTC)
    overdue = 0
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        cursor = raw.cursor()
        mark = "?" if sqlite else "%s"
        # a bulk load: the covering index is built once at the end, not row by row
        cursor.execute("DROP INDEX ix_tasks_open_target")
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        raw.commit()

        def many(table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608 - our own table and column names
            cursor.executemany(sql, rows)

        many(
            "blueprints",
            ["id", "key", "version", "title", "source", "text", "created_at"],
            [(blueprint_id, "bench_forty", "1.0.0", "Forty-task onboarding", "bench", text_, created)],
        )
        project_columns = [
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
        ]
        task_columns = [
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
        chunk = 5000
        for start in range(0, projects, chunk):
            prows, brows, trows = [], [], []
            for p in range(start, min(start + chunk, projects)):
                pid = f"p{p:07d}"
                kickoff = TODAY - timedelta(days=rnd.randint(10, 200))
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
                        "active",
                        None,
                        None,
                        kickoff + timedelta(days=112),
                        created,
                        created,
                        1,
                    )
                )
                for role in ROLES:
                    brows.append(
                        (
                            pid,
                            role,
                            f"{role.title()} {p % 97}",
                            f"{role}{p % 97}@c{p % 5000}.example",
                            "America/Chicago",
                        )
                    )
                for n in range(tasks):
                    due = kickoff + timedelta(days=4 + n * 3)
                    past = due < TODAY
                    # about 2.5% of all tasks are open past their target date
                    state = (
                        "pending"
                        if not past
                        else (
                            "in_progress"
                            if rnd.random() < 0.025 * tasks / max(1, (TODAY - kickoff).days // 3)
                            else "done"
                        )
                    )
                    overdue += past and state != "done"
                    owner = ["engineer", "admin", "csm", "admin"][n % 4]
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
                            "human",
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
                            rnd.choice([0, 0, 1, 2]),
                            None,
                        )
                    )
            many("projects", project_columns, prows)
            many("bindings", ["project_id", "role", "name", "email", "timezone"], brows)
            many("tasks", task_columns, trows)
            raw.commit()
        cursor.execute(
            "CREATE INDEX ix_tasks_open_target ON tasks (target_due_on, project_id, key) "
            "WHERE state IN ('pending', 'in_progress', 'blocked')"
        )
        cursor.execute("ANALYZE")
        if sqlite:
            cursor.execute("PRAGMA synchronous=NORMAL")
        raw.commit()
    finally:
        raw.close()
    return overdue


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=250_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        name = None
        if args.database == "sqlite":
            engine = make_engine(f"sqlite:///{Path(tmp) / 'portfolio.db'}")
        else:
            name = f"onboarding_bench_{secrets.token_hex(3)}"
            admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            engine = make_engine(POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name)
        try:
            migrate(engine)
            started = time.perf_counter()
            overdue = load(engine, projects=args.projects, tasks=args.tasks)
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
            decision_times, raw_times = [], []
            for _ in range(args.repeat):
                gc.collect()
                started = time.perf_counter()
                decision = service.decide_nudges()
                decision_times.append(time.perf_counter() - started)
                started = time.perf_counter()
                with engine.connect() as connection:
                    rows = connection.execute(raw_query, {"today": TODAY}).all()
                raw_times.append(time.perf_counter() - started)
            assert decision.overdue_tasks == len(rows) == overdue
            print(
                f"decision phase: best {min(decision_times):.2f} s, median {statistics.median(decision_times):.2f} s"
                f" ({decision.overdue_tasks:,} overdue tasks -> {len(decision.plan.nudges):,} nudges in "
                f"{len(decision.plan.digests):,} digests, {len(decision.plan.deferred):,} deferred)"
            )
            print(
                f"raw indexed query: best {min(raw_times):.2f} s, median {statistics.median(raw_times):.2f} s "
                f"({len(rows):,} rows)"
            )
            print(f"ratio={min(decision_times) / min(raw_times):.2f}")
        finally:
            engine.dispose()
            if name:
                admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
