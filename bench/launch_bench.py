"""Benchmark: launch 10,000 projects from a blueprint, against a raw Core bulk insert of the same rows.

1. ``ProjectService.launch_many`` launches N projects of the payroll example
   (kickoffs spread over 60 days, every role bound): read the blueprint, plan,
   build task rows, kickoff emails and events, and insert them in transactions of
   500 projects, into a fresh database.
2. The rows that made (projects, blueprint snapshot, bindings, tasks, events,
   outbox) are read back and inserted into a second fresh database with plain
   SQLAlchemy Core ``insert()`` in the same chunks: the raw bulk-insert throughput.

It prints both in projects per second and, last, ``ratio=<launch/raw>`` (goal: >= 0.5).
``--database postgresql`` runs both against throw-away PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from scratch import scratch_engine
from sqlalchemy import insert, select

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import SqlProjectStore, migrate
from onboarding.adapters.store.tables import Base
from onboarding.core.messages import Person
from onboarding.services.projects import LaunchRequest, ProjectService

ROOT = Path(__file__).resolve().parents[1]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
TABLES = ["blueprints", "projects", "bindings", "tasks", "events", "outbox"]


def people(i: int) -> dict[str, Person]:
    vendor = {
        role: Person(f"{role.title()} {i % 7}", f"{role}{i % 7}@vendor.example", "America/New_York")
        for role in ("implementation_manager", "csm", "impl_engineer", "payroll_specialist")
    }
    customer = {
        role: Person(f"{role.title()} {i}", f"{role}@customer{i}.example", "America/Chicago")
        for role in ("customer_sponsor", "customer_payroll_admin", "customer_hr_admin")
    }
    return vendor | customer


def launch_requests(count: int) -> list[LaunchRequest]:
    """N projects of the payroll example, kickoffs spread over 60 days from 2026-12-07, every role bound."""
    kickoff = date(2026, 12, 7)
    return [
        LaunchRequest(
            PAYROLL,
            customer=f"Customer {i}",
            kickoff_on=kickoff + timedelta(days=i % 60),
            bindings=people(i),
            pay_schedule="biweekly:2026-01-02",
            external_id=f"CRM-{i}",
        )
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_engine(args.database, Path(tmp), name="launch") as ours,
        scratch_engine(args.database, Path(tmp), name="raw") as raw,
    ):
        for engine in (ours, raw):
            migrate(engine)
        requests = launch_requests(args.projects)
        service = ProjectService(
            store=SqlProjectStore(ours),
            blueprints=FileBlueprints(),
            clock=FixedClock(date(2026, 12, 1)),
            sender=Person("Onboarding", "o@v.example"),
        )
        started = time.perf_counter()
        launched = service.launch_many(requests, actor="bench")
        launch_seconds = time.perf_counter() - started
        assert all(r.created for r in launched)

        with ours.connect() as connection:
            rows = {
                name: [dict(r._mapping) for r in connection.execute(select(Base.metadata.tables[name]))]
                for name in TABLES
            }
        for name in ("events", "outbox"):
            for row in rows[name]:
                row.pop("id")
        counts = {name: len(r) for name, r in rows.items()}
        per_chunk = 500
        by_project: dict[str, dict[str, list[dict[str, object]]]] = {}
        for name in TABLES[1:]:
            key = "id" if name == "projects" else "project_id"
            for row in rows[name]:
                by_project.setdefault(str(row[key]), {}).setdefault(name, []).append(row)
        ids = [str(r["id"]) for r in rows["projects"]]
        started = time.perf_counter()
        with raw.begin() as connection:
            connection.execute(insert(Base.metadata.tables["blueprints"]), rows["blueprints"])
        for start in range(0, len(ids), per_chunk):
            chunk = ids[start : start + per_chunk]
            with raw.begin() as connection:
                for name in TABLES[1:]:
                    batch = [row for pid in chunk for row in by_project[pid].get(name, [])]
                    if batch:
                        connection.execute(insert(Base.metadata.tables[name]), batch)
        raw_seconds = time.perf_counter() - started
    ours_rate = args.projects / launch_seconds
    raw_rate = args.projects / raw_seconds
    print(
        f"database: {args.database}; rows per launch: "
        + ", ".join(f"{counts[name] / args.projects:.0f} {name}" for name in TABLES[1:])
    )
    print(f"launch_many: {args.projects:,} projects in {launch_seconds:.2f} s ({ours_rate:,.0f} projects/s)")
    print(f"raw Core insert of the same rows: {raw_seconds:.2f} s ({raw_rate:,.0f} projects/s)")
    print(f"ratio={ours_rate / raw_rate:.2f}")


if __name__ == "__main__":
    main()
