"""Benchmark: the TTFV report by blueprint over a portfolio, against the fastest direct computation of its medians.

Bulk-loads a portfolio (default 250,000 projects x 40 tasks, as in the sweep
benchmark) launched from three blueprints with different customer calendars,
with event histories: every project launched, about 70% at first value (some
after a reopen), 3% with the value task skipped, 10% held for a while. The TTFV
read model is then built from those events by ``rebuild_ttfv`` (the fold the
store runs with every event). Then, in the same run:

- report: ``ReportService.ttfv(by=[blueprint])``: counts, median/p75/p90 in
  calendar days, business days on each blueprint's customer calendar and days net
  of on-hold time, the Kaplan-Meier shares and curve per blueprint;
- direct: the same medians and p90 of calendar days by blueprint, computed the
  fastest direct way: ``percentile_cont`` in SQL on PostgreSQL; on SQLite, the
  raw rows through the driver plus numpy.

It checks both give the same medians and p90, prints both times (and, for
information, the time of the same report as of 60 days earlier, which also reads
the values undone since) and, last, ``ratio=<report/direct>`` (goal: <= 1.5). ``--database postgresql`` loads a
throw-away PostgreSQL database instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from scratch import scratch_engine
from sqlalchemy import Engine, text

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.reports import SqlReportStore, rebuild_ttfv
from onboarding.adapters.store.sql import migrate
from onboarding.core.metrics import Dimension
from onboarding.services.reports import ReportService

TODAY = date(2027, 3, 15)
ROLES = {"csm": "vendor", "engineer": "vendor", "admin": "customer", "sponsor": "customer"}
# key, customer calendar, TTFV start event, target; the value task is t29 of 40
BLUEPRINTS = (
    ("bench_payroll", "{country: US}", "kickoff", 60),
    ("bench_hr", "{country: US, subdivision: NY}", "kickoff", 45),
    ("bench_saas", "{country: GB}", "kickoff", 21),
)
SEGMENTS = ("smb", "mid-market", "enterprise")
PAST_DAYS = 60  # a report as of this many days before TODAY is timed too (not part of the ratio)


def blueprint_text(key: str, customer_calendar: str, start_event: str, target: int, tasks: int) -> str:
    lines = [
        f"key: {key}",
        "version: 1.0.0",
        f"title: {key}",
        "roles:",
        "  csm: {title: CSM, side: vendor}",
        "  engineer: {title: Engineer, side: vendor, escalation: csm}",
        "  sponsor: {title: Sponsor, side: customer}",
        "  admin: {title: Admin, side: customer, escalation: sponsor}",
        f"calendars: {{vendor: {{country: US}}, customer: {customer_calendar}}}",
        "milestones:",
    ]
    value = min(29, tasks - 1)
    for m in range((tasks + 9) // 10):
        lines += [f"  - key: m{m}", f"    title: Milestone {m}", "    tasks:"]
        for n in range(m * 10, min(tasks, m * 10 + 10)):
            owner = ["engineer", "admin", "csm", "admin"][n % 4]
            dep = f", depends_on: [t{n - 1}]" if n else ""
            flag = ", first_value: true" if n == value else ""
            lines.append(
                f"      - {{key: t{n}, title: Task {n}, owner: {owner}, duration_business_days: 2{dep}{flag}}}"
            )
    lines += [f"ttfv: {{start_event: {start_event}, target_calendar_days: {target}}}"]
    return "\n".join(lines) + "\n"


def load(engine: Engine, *, projects: int, tasks: int, seed: int = 5) -> dict[str, int]:
    """Bulk-load projects, bindings, tasks and event histories with the driver's executemany."""
    rnd = random.Random(seed)
    created = datetime(2026, 1, 1, tzinfo=UTC)
    texts = [blueprint_text(k, cal, start, target, tasks) for k, cal, start, target in BLUEPRINTS]
    ids = [f"{i}" * 64 for i in range(len(BLUEPRINTS))]
    value_key = f"t{min(29, tasks - 1)}"
    counts = {"reached": 0, "skipped": 0, "held": 0, "events": 0}
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        cursor = raw.cursor()
        mark = "?" if sqlite else "%s"
        cursor.execute("DROP INDEX ix_tasks_open_target")
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        raw.commit()

        def many(table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608 - our own names
            cursor.executemany(sql, rows)

        many(
            "blueprints",
            ["id", "key", "version", "title", "source", "text", "created_at"],
            [(ids[i], b[0], "1.0.0", b[0], "bench", texts[i], created) for i, b in enumerate(BLUEPRINTS)],
        )
        project_columns = "id external_id customer segment blueprint_key blueprint_version blueprint_title blueprint_id"
        project_columns += " kickoff_on pay_schedule state committed_go_live_on projected_go_live_on finish_on"
        project_columns += " created_at updated_at version"
        task_columns = "project_id key position title milestone_key milestone_title owner_role side calendar kind"
        task_columns += " duration_business_days customer_visible first_value launch state started_on done_on start_on"
        task_columns += " due_on target_due_on late_due_on slack_business_days critical due_version nudges_sent"
        task_columns += " last_nudged_on"
        event_columns = ["project_id", "at", "actor", "kind", "task_key", "data"]
        chunk = 5000
        for start in range(0, projects, chunk):
            prows, brows, trows, erows = [], [], [], []
            for p in range(start, min(start + chunk, projects)):
                pid = f"p{p:07d}"
                b = p % len(BLUEPRINTS)
                kickoff = TODAY - timedelta(days=rnd.randint(10, 400))
                launched_at = datetime(kickoff.year, kickoff.month, kickoff.day, 15, tzinfo=UTC) - timedelta(days=7)
                bp = BLUEPRINTS[b][0]
                finish = kickoff + timedelta(days=120)
                prows.append(
                    (pid, None, f"Customer {p}", SEGMENTS[p % 3], bp, "1.0.0", bp, ids[b], kickoff, None, "active")
                )
                prows[-1] += (None, None, finish, created, created, 1)
                for role, _side in ROLES.items():
                    name = f"{role.title()} {p % 41}"
                    brows.append((pid, role, name, f"{role}{p % 41}@c{p % 5000}.example", "America/Chicago"))
                launched = {"blueprint": BLUEPRINTS[b][0], "version": "1.0.0", "kickoff_on": kickoff.isoformat()}
                erows.append((pid, launched_at, "bench", "project_launched", None, json.dumps(launched)))
                if rnd.random() < 0.10:
                    held_at = launched_at + timedelta(days=rnd.randint(8, 30), hours=rnd.randint(0, 12))
                    resumed_at = held_at + timedelta(days=rnd.randint(1, 20))
                    if resumed_at.date() < TODAY:
                        erows.append((pid, held_at, "bench", "project_held", None, "{}"))
                        erows.append((pid, resumed_at, "bench", "project_resumed", None, "{}"))
                        counts["held"] += 1
                ttfv = max(0, int(rnd.lognormvariate(3.6, 0.45)))  # median ~37 days
                value_on = kickoff + timedelta(days=ttfv)
                roll = rnd.random()
                value_state = "pending"
                if value_on < TODAY and roll < 0.70:
                    if roll < 0.03:  # reopened once, completed again a week later
                        first = value_on - timedelta(days=7)
                        for kind, day in (("task_completed", first), ("task_reopened", first + timedelta(days=1))):
                            erows.append((pid, _at(day), "bench", kind, value_key, json.dumps({"on": day.isoformat()})))
                    erows.append(
                        (
                            pid,
                            _at(value_on),
                            "bench",
                            "task_completed",
                            value_key,
                            json.dumps({"on": value_on.isoformat()}),
                        )
                    )
                    value_state = "done"
                    counts["reached"] += 1
                elif value_on < TODAY and roll > 0.97:
                    erows.append(
                        (
                            pid,
                            _at(value_on),
                            "bench",
                            "task_skipped",
                            value_key,
                            json.dumps({"on": value_on.isoformat()}),
                        )
                    )
                    value_state = "skipped"
                    counts["skipped"] += 1
                for n in range(tasks):
                    due = kickoff + timedelta(days=4 + n * 3)
                    owner = ["engineer", "admin", "csm", "admin"][n % 4]
                    key = f"t{n}"
                    state = value_state if key == value_key else ("done" if due < TODAY else "pending")
                    done = (value_on if key == value_key else due) if state in ("done", "skipped") else None
                    side = ROLES[owner]
                    row = (pid, key, n, f"Task {n}", f"m{n // 10}", f"Milestone {n // 10}", owner, side, side, "human")
                    row += (2, True, key == value_key, False, state, done, done, due - timedelta(days=1), due, due, due)
                    trows.append((*row, 0, False, 1, 0, None))
            many("projects", project_columns.split(), prows)
            many("bindings", ["project_id", "role", "name", "email", "timezone"], brows)
            many("tasks", task_columns.split(), trows)
            many("events", event_columns, erows)
            counts["events"] += len(erows)
            raw.commit()
        cursor.execute(
            "CREATE INDEX ix_tasks_open_target ON tasks (target_due_on, project_id, key) "
            "WHERE state IN ('pending', 'in_progress', 'blocked')"
        )
        if sqlite:
            cursor.execute("PRAGMA synchronous=NORMAL")
        raw.commit()
    finally:
        raw.close()
    return counts


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 16, tzinfo=UTC)


def direct(engine: Engine) -> dict[str, tuple[float, float]]:
    """Median and p90 of calendar days to first value by blueprint, the fastest direct way."""
    if engine.dialect.name == "postgresql":
        query = text(
            "SELECT blueprint_key, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY calendar_days) "
            "FROM project_ttfv WHERE calendar_days IS NOT NULL AND value_on <= :today GROUP BY blueprint_key"
        )
        with engine.connect() as connection:
            return {key: (float(q[0]), float(q[1])) for key, q in connection.execute(query, {"today": TODAY})}
    raw = engine.raw_connection()
    try:
        rows = (
            raw.cursor()
            .execute(
                "SELECT blueprint_key, calendar_days FROM project_ttfv "
                "WHERE calendar_days IS NOT NULL AND value_on <= ?",
                (TODAY.isoformat(),),
            )
            .fetchall()
        )
    finally:
        raw.close()
    keys = np.array([r[0] for r in rows])
    days = np.array([r[1] for r in rows], dtype=np.int64)
    found = {}
    for key in np.unique(keys):
        median, p90 = np.quantile(days[keys == key], [0.5, 0.9])
        found[str(key)] = (float(median), float(p90))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=250_000)
    parser.add_argument("--tasks", type=int, default=40)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_engine(args.database, Path(tmp)) as engine:
        migrate(engine)
        started = time.perf_counter()
        counts = load(engine, projects=args.projects, tasks=args.tasks)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        with engine.begin() as connection:
            rebuild_ttfv(connection)
            if args.database == "sqlite":
                connection.exec_driver_sql("ANALYZE")
        if args.database == "postgresql":
            # What autovacuum does to a loaded table in time: statistics, and the visibility map that
            # lets PostgreSQL read an index without the table.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        print(
            f"loaded {args.projects:,} projects x {args.tasks} tasks, {counts['events']:,} events "
            f"({counts['reached']:,} at first value, {counts['skipped']:,} skipped, {counts['held']:,} held) "
            f"in {loaded:.0f} s on {args.database}; read model folded from the events in "
            f"{time.perf_counter() - started:.0f} s"
        )
        service = ReportService(store=SqlReportStore(engine), blueprints=FileBlueprints(), clock=FixedClock(TODAY))
        service.ttfv(by=[Dimension.blueprint])  # parses the snapshots and builds the calendars once
        report_times, direct_times = [], []
        for _ in range(args.repeat):
            gc.collect()
            started = time.perf_counter()
            report = service.ttfv(by=[Dimension.blueprint])
            report_times.append(time.perf_counter() - started)
            gc.collect()
            started = time.perf_counter()
            expected = direct(engine)
            direct_times.append(time.perf_counter() - started)
        got = {g.key[0]: (g.calendar_days.median, g.calendar_days.p90) for g in report.groups}
        assert got == expected, (got, expected)
        for g in report.groups:
            within = ", ".join(f"{w.share:.0%} within {w.days} d" for w in g.within if w.share is not None)
            print(
                f"  {g.key[0]}: {g.projects:,} projects, {g.reached:,} reached, {g.in_flight:,} in flight; "
                f"median/p90 {g.calendar_days.median:.0f}/{g.calendar_days.p90:.0f} calendar days, "
                f"{g.business_days.median:.0f}/{g.business_days.p90:.0f} business, "
                f"{g.net_days.median:.0f}/{g.net_days.p90:.0f} net of holds; {within}"
            )
        print(
            f"report (ttfv by blueprint): best {min(report_times):.3f} s, "
            f"median {statistics.median(report_times):.3f} s"
        )
        past = TODAY - timedelta(days=PAST_DAYS)
        past_times = []
        for _ in range(args.repeat):
            gc.collect()
            started = time.perf_counter()
            service.ttfv(by=[Dimension.blueprint], as_of=past)
            past_times.append(time.perf_counter() - started)
        print(
            f"report as of {past.isoformat()} (values reopened since count as they stood then): "
            f"best {min(past_times):.3f} s, median {statistics.median(past_times):.3f} s"
        )
        print(
            f"direct ({'percentile_cont' if args.database == 'postgresql' else 'raw rows + numpy'}): "
            f"best {min(direct_times):.3f} s, median {statistics.median(direct_times):.3f} s"
        )
        print(f"ratio={min(report_times) / min(direct_times):.2f}")


if __name__ == "__main__":
    main()
