"""Benchmark: a daily sweep's re-forecast, a batch at a time, against one project at a time.

Every day a sweep re-plans each active project with overdue work: its open tasks
cannot finish before today, so their projected dates, their successors' and the
projected go-live move with the calendar (and a window jump is alerted when
go-live leaves the committed window).

1. The same N projects of the payroll example (default 5,000; kickoffs spread over
   60 days, every role bound) are launched into two fresh databases; some get
   their first tasks done. Both are re-forecast on 2027-02-16, when every project
   has overdue work.
2. On the next business day, in the same run:
   - batched: ``ProjectService.reforecast_many`` over batches of 500 projects (what
     the sweep does): each batch read together and written in one transaction;
   - one at a time: ``ProjectService.reforecast`` for each project (what the sweep
     did before, and what a batch falls back to when a project changed under it).
   Both databases must then hold the same tasks, dates and events.

It prints both in milliseconds per project, what they come to for the 147,000
projects with overdue work of ``sweep_bench``'s 250,000-project portfolio, and,
last, ``ratio=<one at a time / batched>`` (how many times faster the batch is;
the issue sets no goal for it: DESIGN §6 asks a whole sweep to be fast).
``--database postgresql`` runs both against throw-away PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import tempfile
import time as timer
from datetime import UTC, date, datetime, time
from pathlib import Path

from launch_bench import launch_requests
from scratch import scratch_engine
from sqlalchemy import Engine, func, select

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import SqlProjectStore, events, migrate, outbox, projects, tasks
from onboarding.core.lifecycle import Action
from onboarding.core.messages import Person
from onboarding.services.projects import ProjectService
from onboarding.services.sweep import batches

SETTLED_ON = date(2027, 2, 16)  # a Tuesday (the 15th is a US holiday): every project has overdue work
TIMED_ON = date(2027, 2, 17)
PORTFOLIO_WITH_OVERDUE = 147_000  # projects with overdue work in sweep_bench's 250,000


def morning(day: date) -> datetime:
    return datetime.combine(day, time(6, 0), tzinfo=UTC)


def launched(engine: Engine, count: int) -> tuple[ProjectService, list[str]]:
    """N projects launched and partly worked on, re-forecast on SETTLED_ON; their ids in launch order."""
    migrate(engine)
    clock = FixedClock(date(2026, 12, 1), at=morning(date(2026, 12, 1)))
    service = ProjectService(
        store=SqlProjectStore(engine), blueprints=FileBlueprints(), clock=clock, sender=Person("O", "o@v.example")
    )
    requests = launch_requests(count)
    ids = [r.project.id for r in service.launch_many(requests, actor="bench")]
    clock.set(SETTLED_ON, at=morning(SETTLED_ON))
    for i, pid in enumerate(ids):  # a third have held the kickoff call on time
        if i % 3 == 0:
            service.change_task(pid, "kickoff_call", Action.complete, on=requests[i].kickoff_on)
    for batch in batches(ids):
        service.reforecast_many(batch)
    clock.set(TIMED_ON, at=morning(TIMED_ON))
    return service, ids


def snapshot(
    engine: Engine,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int, list[tuple[str, str, str]]]:
    """What a re-forecast writes, by external id: task rows, project dates, the number of events, emails queued."""
    with engine.connect() as connection:
        task_rows = connection.execute(
            select(projects.c.external_id, *[c for c in tasks.c if c.name != "project_id"])
            .join(tasks, tasks.c.project_id == projects.c.id)
            .order_by(projects.c.external_id, tasks.c.key)
        ).all()
        dates = connection.execute(
            select(
                projects.c.external_id,
                projects.c.projected_go_live_on,
                projects.c.finish_on,
                projects.c.version,
            ).order_by(projects.c.external_id)
        ).all()
        count = connection.execute(select(func.count()).select_from(events)).scalar_one()
        queued = sorted(
            (external_id, kind, key.replace(pid, external_id))
            for external_id, pid, kind, key in connection.execute(
                select(projects.c.external_id, projects.c.id, outbox.c.kind, outbox.c.idempotency_key).join(
                    outbox, outbox.c.project_id == projects.c.id
                )
            )
        )
    return [tuple(r) for r in task_rows], [tuple(r) for r in dates], int(count), queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=5_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_engine(args.database, Path(tmp), name="batched") as batched_db,
        scratch_engine(args.database, Path(tmp), name="single") as single_db,
    ):
        started = timer.perf_counter()
        batched, batched_ids = launched(batched_db, args.projects)
        single, single_ids = launched(single_db, args.projects)
        print(
            f"database: {args.database}; {args.projects:,} payroll projects launched and re-forecast on "
            f"{SETTLED_ON} twice in {timer.perf_counter() - started:.0f} s; timed on {TIMED_ON}"
        )

        versions = {r[0]: r[3] for r in snapshot(batched_db)[1]}
        started = timer.perf_counter()
        for batch in batches(batched_ids):
            batched.reforecast_many(batch)
        batched_seconds = timer.perf_counter() - started

        started = timer.perf_counter()
        for pid in single_ids:
            single.reforecast(pid)
        single_seconds = timer.perf_counter() - started

        ours, theirs = snapshot(batched_db), snapshot(single_db)
        assert ours[0] == theirs[0], "the batch wrote other task rows than one project at a time"
        assert [r[:3] for r in ours[1]] == [r[:3] for r in theirs[1]], "other projected dates"
        assert ours[2] == theirs[2], "another number of events"
        assert ours[3] == theirs[3], "other emails queued"
        jumps = sum(1 for _, kind, _ in ours[3] if kind == "window_jump")
        written = sum(1 for r in ours[1] if r[3] != versions[r[0]])
    per_batched = 1000 * batched_seconds / args.projects
    per_single = 1000 * single_seconds / args.projects
    print(
        f"({written:,} of {args.projects:,} projects written; both databases hold the same tasks, dates, events and "
        f"emails, {jumps:,} window-jump alerts among them)"
    )
    print(
        f"batched (reforecast_many, 500 a batch): {batched_seconds:.2f} s, {per_batched:.2f} ms a project, "
        f"{PORTFOLIO_WITH_OVERDUE * per_batched / 60_000:.1f} min for {PORTFOLIO_WITH_OVERDUE:,} projects"
    )
    print(
        f"one at a time (reforecast): {single_seconds:.2f} s, {per_single:.2f} ms a project, "
        f"{PORTFOLIO_WITH_OVERDUE * per_single / 60_000:.1f} min for {PORTFOLIO_WITH_OVERDUE:,} projects"
    )
    print(f"ratio={single_seconds / batched_seconds:.2f}")


if __name__ == "__main__":
    main()
