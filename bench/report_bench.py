"""Benchmark: the manager reports over a portfolio, each against plain computation of its figures.

Bulk-loads a portfolio (default 250,000 projects x 40 tasks, as in the sweep
benchmark) launched from three blueprints with different customer calendars,
with event histories: every project launched, about 70% at first value (some
after a reopen), 3% with the value task skipped, 10% held for a while; tasks
finished late, projects stuck at a task (some blocked), waits before starting,
a committed go-live, launches on time and late. The TTFV read model is then built
from those events by ``rebuild_ttfv`` (the fold the store runs with every event).
Then, in the same run:

- TTFV: ``ReportService.ttfv(by=[blueprint])`` (counts, median/p75/p90 in calendar
  days, business days on each blueprint's customer calendar and days net of on-hold
  time, the Kaplan-Meier shares and curve per blueprint) against the same medians and
  p90 of calendar days computed the fastest direct way: ``percentile_cont`` in SQL on
  PostgreSQL; on SQLite, the raw rows through the driver plus numpy. Both must agree;
  ``ttfv_ratio`` (goal: <= 1.5). For information, the same report as of 60 days
  earlier, which also reads the values undone since.
- Portfolio: ``ReportService.portfolio`` (what ``onboarding report portfolio`` shows)
  against plain SQL aggregation of the same figures, one query per figure (counts by
  state, launches against the commitment, slip histograms by task and milestone,
  waits before start through the blueprint graphs' edges, the projects at risk with
  their total); every figure must agree; ``portfolio_ratio``.
- For information (in no ratio): the lists behind the figures a manager opens (the
  top bottleneck task and milestone, the customers' slips, the late launches, the
  projects at risk), each against the whole read of every task that answered them
  before; both must list the same projects.
- The managers' HTML report (``onboarding report --html``: the TTFV report by
  blueprint, by cohort month, segment and owner, the portfolio report, charts, the
  page) against that plain SQL plus the direct medians of each TTFV grouping;
  ``html_ratio``.

Wall and CPU times are printed (on PostgreSQL the work is the server's: the client's
CPU is small), with the load average, then, last, ``ratio=<the larger of
portfolio_ratio and html_ratio>`` (goal: <= 2.0). ``--database postgresql`` loads a
throw-away PostgreSQL database instead.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from scratch import index_definitions, scratch_engine
from sqlalchemy import Engine, text

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.reports.html import HtmlReportPages, render_report
from onboarding.adapters.store.reports import SqlReportStore, rebuild_ttfv
from onboarding.adapters.store.sql import SqlProjectStore, migrate
from onboarding.core.portfolio import PortfolioFigure, PortfolioReport, portfolio_members
from onboarding.core.report_view import AT_RISK_SHOWN
from onboarding.core.ttfv import Dimension
from onboarding.services.manager_report import MORE_GROUPINGS, ManagerReportService
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
TOP = 10  # bottlenecks shown
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
    rebuilt = index_definitions(engine, ["ix_tasks_open_nudge"])  # dropped for the load, built at its end
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        cursor = raw.cursor()
        mark = "?" if sqlite else "%s"
        cursor.execute("DROP INDEX ix_tasks_open_nudge")
        if sqlite:
            cursor.execute("PRAGMA synchronous=OFF")
        raw.commit()

        def many(table: str, columns: list[str], rows: list[tuple[object, ...]]) -> None:
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
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
                # The portfolio's mix: late finishes, projects stuck at a task (some blocked), waits before
                # starting, a committed go-live, on-time and late launches.
                stuck_at = rnd.randrange(tasks) if rnd.random() < 0.15 else tasks
                blocked = stuck_at < tasks and rnd.random() < 0.15
                slip_total, previous_done = 0, kickoff
                for n in range(tasks):
                    due = kickoff + timedelta(days=4 + n * 3)
                    target = due + timedelta(days=slip_total)  # given when its predecessors really finished
                    owner = ["engineer", "admin", "csm", "admin"][n % 4]
                    key = f"t{n}"
                    slip = rnd.choice((1, 2, 3, 5, 8)) if rnd.random() < 0.05 else 0
                    if key == value_key:
                        state = value_state
                        done = value_on if state in ("done", "skipped") else None
                    elif target + timedelta(days=slip) < TODAY and n < stuck_at:
                        state, done = "done", target + timedelta(days=slip)
                        slip_total += slip
                    else:
                        state, done = ("blocked" if blocked else "in_progress") if n == stuck_at else "pending", None
                    started = None
                    if state in ("done", "in_progress", "blocked"):
                        started = previous_done + timedelta(days=rnd.choice((0, 0, 0, 1, 2, 4)))
                        if done is not None:
                            started = min(started, done)
                    if state == "blocked":
                        on = max(started or kickoff, TODAY - timedelta(days=rnd.randint(1, 30)))
                        erows.append((pid, _at(on), "bench", "task_blocked", key, json.dumps({"on": on.isoformat()})))
                    previous_done = done or previous_done
                    side = ROLES[owner]
                    row = (pid, key, n, f"Task {n}", f"m{n // 10}", f"Milestone {n // 10}", owner, side, side, "human")
                    row += (2, True, key == value_key, n == tasks - 1, state, started, done, target - timedelta(days=1))
                    row += (target, target, target)
                    trows.append((*row, 0, False, 1, 0, None))
                projected = kickoff + timedelta(days=4 + (tasks - 1) * 3 + slip_total)
                committed = kickoff + timedelta(days=4 + (tasks - 1) * 3 + 14)
                prows[-1] = (*prows[-1][:11], committed, projected, *prows[-1][13:])
            many("projects", project_columns.split(), prows)
            many("bindings", ["project_id", "role", "name", "email", "timezone"], brows)
            many("tasks", task_columns.split(), trows)
            many("events", event_columns, erows)
            counts["events"] += len(erows)
            raw.commit()
        for definition in rebuilt:
            cursor.execute(definition)
        if sqlite:
            cursor.execute("PRAGMA synchronous=NORMAL")
        raw.commit()
    finally:
        raw.close()
    return counts


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 16, tzinfo=UTC)


def direct(engine: Engine, column: str = "blueprint_key") -> dict[str, tuple[float, float]]:
    """Median and p90 of calendar days to first value by a column of the read model (by blueprint unless
    told), the fastest direct way."""
    if engine.dialect.name == "postgresql":
        query = text(
            f"SELECT {column}, percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY calendar_days) "
            f"FROM project_ttfv WHERE calendar_days IS NOT NULL AND value_on <= :today GROUP BY {column}"
        )
        with engine.connect() as connection:
            return {key: (float(q[0]), float(q[1])) for key, q in connection.execute(query, {"today": TODAY})}
    raw = engine.raw_connection()
    try:
        rows = (
            raw.cursor()
            .execute(
                f"SELECT {column}, calendar_days FROM project_ttfv WHERE calendar_days IS NOT NULL AND value_on <= ?",
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


OPEN = "('pending', 'in_progress', 'blocked')"


def plain_portfolio(engine: Engine, *, as_of: date, edges: list[tuple[str, str, str]], top: int) -> dict[str, Any]:
    """The portfolio report's figures by plain SQL aggregation, one query per figure: counts by state, launches
    against the commitment, slip histograms by task and milestone, waits before start by side (``edges``:
    blueprint id, task, predecessor), and the projects at risk (their total and the first ``top``)."""
    sqlite = engine.dialect.name == "sqlite"

    def days(later: str, earlier: str) -> str:
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)" if sqlite else f"({later} - {earlier})"

    greatest = "max" if sqlite else "greatest"
    block_on = "json_extract(e.data, '$.on')" if sqlite else "CAST(e.data ->> 'on' AS date)"
    slip = (
        f"CASE WHEN t.state = 'done' AND t.done_on IS NOT NULL THEN {days('t.done_on', 't.target_due_on')} "
        f"WHEN t.state IN {OPEN} THEN {days(':as_of', 't.target_due_on')} ELSE 0 END"
    )
    ready = f"{greatest}(p.kickoff_on, coalesce(max(pt.done_on), p.kickoff_on))"
    # the earlier of the day the first block began and the day the hold began (either may be missing)
    blocked_since = (
        "min(coalesce(s.since, h.held_since), coalesce(h.held_since, s.since))"
        if sqlite
        else "least(s.since, h.held_since)"
    )
    commitment = "CASE WHEN p.recommits > 0 THEN p.first_committed_go_live_on ELSE p.committed_go_live_on END"
    queries = {
        "states": "SELECT state, count(*), sum(CASE WHEN recommits > 0 THEN 1 ELSE 0 END) FROM projects GROUP BY state",
        "launches": f"""
            SELECT count(*), sum(CASE WHEN c IS NOT NULL AND done_on <= c THEN 1 ELSE 0 END),
                   sum(CASE WHEN c IS NOT NULL AND done_on > c THEN 1 ELSE 0 END),
                   sum(CASE WHEN c IS NULL THEN 1 ELSE 0 END), sum(CASE WHEN recommits > 0 THEN 1 ELSE 0 END)
            FROM (SELECT t.done_on, p.recommits, {commitment} AS c FROM tasks t JOIN projects p ON p.id = t.project_id
                  WHERE t.launch AND t.state = 'done' AND t.done_on IS NOT NULL AND p.state <> 'cancelled') AS l""",
        "task_slips": f"""
            SELECT blueprint_key, key, side, slip, count(*) FROM (
                SELECT p.blueprint_key, t.key, t.side, {slip} AS slip
                FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.state <> 'cancelled') AS s
            WHERE slip > 0 GROUP BY blueprint_key, key, side, slip""",
        "milestone_slips": f"""
            SELECT blueprint_key, milestone_key, worst, count(*) FROM (
                SELECT p.blueprint_key, t.milestone_key, max({slip}) AS worst
                FROM tasks t JOIN projects p ON p.id = t.project_id WHERE p.state <> 'cancelled'
                GROUP BY t.project_id, p.blueprint_key, t.milestone_key) AS m
            WHERE worst > 0 GROUP BY blueprint_key, milestone_key, worst""",
        "waits": f"""
            SELECT side, wait, count(*) FROM (
                SELECT t.side, {greatest}(0, {days("t.started_on", ready)}) AS wait,
                       count(e.predecessor) AS needed, count(pt.done_on) AS finished
                FROM tasks t JOIN projects p ON p.id = t.project_id
                LEFT JOIN edges e ON e.blueprint_id = p.blueprint_id AND e.task_key = t.key
                LEFT JOIN tasks pt ON pt.project_id = t.project_id AND pt.key = e.predecessor
                WHERE t.started_on IS NOT NULL AND t.state <> 'skipped' AND p.state <> 'cancelled'
                GROUP BY t.project_id, t.key, t.side, t.started_on, p.kickoff_on) AS w
            WHERE needed = finished GROUP BY side, wait""",
        "at_risk": f"""
            WITH overdue AS (
                SELECT project_id, count(*) AS n FROM tasks
                WHERE state IN {OPEN} AND side = 'customer' AND target_due_on < :as_of GROUP BY project_id),
            blocked AS (SELECT DISTINCT project_id FROM tasks WHERE state = 'blocked'),
            last_block AS (
                SELECT e.project_id, e.task_key, max(e.id) AS id FROM events e
                JOIN tasks t ON t.project_id = e.project_id AND t.key = e.task_key
                WHERE e.kind = 'task_blocked' AND t.state = 'blocked' GROUP BY e.project_id, e.task_key),
            block_since AS (
                SELECT b.project_id, min({block_on}) AS since FROM last_block b JOIN events e ON e.id = b.id
                GROUP BY b.project_id),
            risk AS (
                SELECT p.id,
                       CASE WHEN p.projected_go_live_on > p.committed_go_live_on
                            THEN {days("p.projected_go_live_on", "p.committed_go_live_on")} ELSE 0 END AS past,
                       coalesce(o.n, 0) AS overdue,
                       coalesce({days(":as_of", blocked_since)}, 0) AS blocked_days,
                       (b.project_id IS NOT NULL OR p.state = 'on_hold') AS is_blocked
                FROM projects p
                LEFT JOIN overdue o ON o.project_id = p.id
                LEFT JOIN blocked b ON b.project_id = p.id
                LEFT JOIN block_since s ON s.project_id = p.id
                LEFT JOIN project_ttfv h ON h.project_id = p.id AND p.state = 'on_hold'
                WHERE p.state IN ('active', 'on_hold'))
            SELECT id, past, overdue, blocked_days, count(*) OVER () FROM risk
            WHERE past > 0 OR overdue > 0 OR is_blocked
            ORDER BY past DESC, overdue DESC, blocked_days DESC, id LIMIT :top""",
    }
    found: dict[str, Any] = {}
    with engine.begin() as connection:
        # The graphs' edges in a table with a key, as plain SQL would join them (a VALUES list has no index:
        # SQLite then scans it for every task).
        connection.execute(
            text(
                "CREATE TEMPORARY TABLE edges (blueprint_id varchar(64), task_key varchar(64), "
                "predecessor varchar(64), PRIMARY KEY (blueprint_id, task_key, predecessor))"
            )
        )
        connection.execute(
            text("INSERT INTO edges VALUES (:b, :k, :p)"), [dict(zip("bkp", e, strict=True)) for e in edges]
        )
        for name, sql in queries.items():
            found[name] = [tuple(r) for r in connection.execute(text(sql), {"as_of": as_of, "top": top})]
        connection.execute(text("DROP TABLE edges"))
    return found


def plain_figures(plain: dict[str, Any], *, top: int) -> dict[str, Any]:
    """The report's figures from the plain aggregations (a few hundred rows: the top lists, quantiles)."""

    def histogram_top(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        groups: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for blueprint, key, *_, value, count in rows:
            groups.setdefault((blueprint, key), []).append((int(value), int(count)))
        ranked = []
        for (blueprint, key), pairs in groups.items():
            values = np.repeat([v for v, _ in pairs], [c for _, c in pairs])
            ranked.append((blueprint, key, len(values), int(values.sum()), float(np.median(values)), int(values.max())))
        ranked.sort(key=lambda r: (-r[3], -r[2], r[0], r[1]))
        return ranked[:top]

    side_days = {"customer": [0, 0], "vendor": [0, 0]}
    for _, _, side, value, count in plain["task_slips"]:
        side_days["customer" if side == "customer" else "vendor"][0] += int(count)
        side_days["customer" if side == "customer" else "vendor"][1] += int(value) * int(count)
    waits: dict[str, list[tuple[int, int]]] = {"customer": [], "vendor": []}
    for side, value, count in plain["waits"]:
        waits["customer" if side == "customer" else "vendor"].append((int(value), int(count)))
    quantiles = {}
    for side in ("customer", "vendor", "all"):
        pairs = waits["customer"] + waits["vendor"] if side == "all" else waits[side]
        values = np.repeat([v for v, _ in pairs], [c for _, c in pairs]).astype(np.int64)
        quantiles[side] = (len(values), *(float(q) for q in np.quantile(values, [0.5, 0.75, 0.9])))
    launches = plain["launches"][0]
    return {
        "projects": sum(int(n) for state, n, _ in plain["states"] if state != "cancelled"),
        "launches": tuple(int(v or 0) for v in launches),
        "tasks": histogram_top(plain["task_slips"]),
        "milestones": histogram_top(plain["milestone_slips"]),
        "sides": {side: tuple(v) for side, v in side_days.items()},
        "waits": quantiles,
        "at_risk": (int(plain["at_risk"][0][4]) if plain["at_risk"] else 0, [r[0] for r in plain["at_risk"]]),
    }


def report_figures(report: PortfolioReport, *, top: int) -> dict[str, Any]:
    """The same figures read off the portfolio report."""
    o = report.on_time
    return {
        "projects": report.projects,
        "launches": (o.went_live, o.on_time, o.late, o.without_window, o.recommitted),
        "tasks": [
            (b.blueprint_key, b.key, b.projects, b.slip_days, b.median_slip_days, b.max_slip_days)
            for b in report.bottleneck_tasks
        ],
        "milestones": [
            (b.blueprint_key, b.key, b.projects, b.slip_days, b.median_slip_days, b.max_slip_days)
            for b in report.bottleneck_milestones
        ],
        "sides": {s.side: (s.tasks, s.slip_days) for s in report.slip_by_side},
        "waits": {w.side: (w.tasks, w.days.median, w.days.p75, w.days.p90) for w in report.wait_before_start},
        "at_risk": (report.at_risk_total, [r.project_id for r in report.at_risk]),
    }


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
        ttfv_ratio = min(report_times) / min(direct_times)
        print(f"ttfv_ratio={ttfv_ratio:.2f} (goal: <= 1.5)")
        drill_downs(engine, service, repeat=args.repeat)
        portfolio_ratio, html_ratio = portfolio_against_plain_sql(engine, service, repeat=args.repeat)
        print(f"portfolio_ratio={portfolio_ratio:.2f} html_ratio={html_ratio:.2f} (goal: <= 2.0 each)")
        print(f"ratio={max(portfolio_ratio, html_ratio):.2f}")


def timed(work: Callable[[], Any], *, repeat: int) -> tuple[Any, float, float]:
    """The last result of ``work`` and its best wall and CPU times over ``repeat`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, min(walls), min(cpus)


def drill_downs(engine: Engine, service: ReportService, *, repeat: int) -> None:
    """The lists behind the figures a manager opens from the report (the top bottleneck task and milestone, the
    customers' slips, the late launches, the projects at risk), each timed, against the whole read of every task
    that answered them before (not in any ratio); both must list the same projects."""
    report = service.portfolio(as_of=TODAY, top=1, at_risk_limit=0)
    task, milestone = report.bottleneck_tasks[0], report.bottleneck_milestones[0]
    opened = [
        (PortfolioFigure.bottleneck_task, f"{task.blueprint_key}/{task.key}"),
        (PortfolioFigure.bottleneck_milestone, f"{milestone.blueprint_key}/{milestone.key}"),
        (PortfolioFigure.slip, "customer"),
        (PortfolioFigure.late, None),
        (PortfolioFigure.at_risk, None),
    ]
    every, whole_wall, whole_cpu = timed(
        lambda: SqlReportStore(engine).portfolio_projects(predecessors=service.predecessors()), repeat=1
    )
    for figure, item in opened:
        ids, wall, cpu = timed(
            lambda f=figure, i=item: service.portfolio_projects(f, item=i, as_of=TODAY), repeat=repeat
        )
        assert ids == portfolio_members(every, figure, as_of=TODAY, item=item), (figure, item)
        print(
            f"drill-down {figure.value}{f' {item}' if item else ''}: {len(ids):,} projects in "
            f"wall {wall:.2f} s, cpu {cpu:.2f} s"
        )
    print(f"the whole read that answered them before: wall {whole_wall:.2f} s, cpu {whole_cpu:.2f} s, each")


def portfolio_against_plain_sql(engine: Engine, service: ReportService, *, repeat: int) -> tuple[float, float]:
    """The portfolio report and the managers' HTML report, each against plain SQL aggregation of its figures
    (for the HTML: the portfolio's, and the medians of every TTFV grouping it shows); the two ratios."""
    edges = [
        (snapshot, key, before)
        for snapshot, graph in service.predecessors().items()
        for key, befores in graph.items()
        for before in befores
    ]
    shown = AT_RISK_SHOWN
    report, report_wall, report_cpu = timed(
        lambda: service.portfolio(as_of=TODAY, top=TOP, at_risk_limit=shown), repeat=repeat
    )
    plain, plain_wall, plain_cpu = timed(
        lambda: plain_portfolio(engine, as_of=TODAY, edges=edges, top=shown), repeat=repeat
    )
    got, expected = report_figures(report, top=TOP), plain_figures(plain, top=TOP)
    expected["at_risk"] = (expected["at_risk"][0], expected["at_risk"][1][:shown])
    for name in expected:
        assert got[name] == expected[name], (name, got[name], expected[name])
    o = report.on_time
    print(
        f"portfolio as of {TODAY}: {report.projects:,} projects, {o.went_live:,} live ({o.on_time:,} on time), "
        f"{report.at_risk_total:,} at risk, {sum(s.tasks for s in report.slip_by_side):,} tasks slipped, "
        f"{sum(w.tasks for w in report.wait_before_start[:2]):,} waits; the same figures as plain SQL"
    )
    print(f"report portfolio: wall {report_wall:.2f} s, cpu {report_cpu:.2f} s (best of {repeat})")
    print(f"plain SQL aggregation: wall {plain_wall:.2f} s, cpu {plain_cpu:.2f} s (best of {repeat})")
    with tempfile.TemporaryDirectory() as folder:
        manager = ManagerReportService(
            figures=service,
            pages=HtmlReportPages(clock=FixedClock(TODAY)),
            store=SqlProjectStore(engine),
            clock=FixedClock(TODAY),
            managers=(),
            folder=Path(folder),
        )
        now = datetime(TODAY.year, TODAY.month, TODAY.day, 12, tzinfo=UTC)
        page, html_wall, html_cpu = timed(
            lambda: render_report(manager.build(as_of=TODAY), generated_at=now), repeat=repeat
        )

        def plain_html() -> None:
            plain_portfolio(engine, as_of=TODAY, edges=edges, top=shown)
            for column in ("blueprint_key", "cohort_month", *(d.value for d in MORE_GROUPINGS)):
                direct(engine, column)

        _, base_wall, base_cpu = timed(plain_html, repeat=repeat)
    print(f"managers' HTML report ({len(page) / 1024:.0f} KiB): wall {html_wall:.2f} s, cpu {html_cpu:.2f} s")
    print(
        f"plain SQL of its figures (portfolio + TTFV medians by each grouping): wall {base_wall:.2f} s, "
        f"cpu {base_cpu:.2f} s"
    )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return report_wall / plain_wall, html_wall / base_wall


if __name__ == "__main__":
    main()
