"""The sweep's questions to the database, each one set-based query over the portfolio.

Which projects' plans move today, which automated tasks may be ready, the overdue
task rows the nudge policy needs (with their projects), who is bound to which
role, how many digests each recipient got today, and, in transactions of whole
digests, the nudges decided with their digests queued in the outbox.

The nudge decision reads only the overdue tasks that may be due a nudge today:
``nudge_candidates`` filters on the task nudge index (``ix_tasks_open_nudge``,
which holds every column the filter reads), so that the many overdue tasks nudged
recently are skipped without reading their rows, and joins projects and people
for the rest. Its queries find the tasks first (a materialised CTE), whatever the
planner would guess from the projects' state index.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)

from onboarding.adapters.store.outbox import due, waiting_first
from onboarding.adapters.store.rows import among, customer_calendar_of, day_reader, driver_rows
from onboarding.adapters.store.sql import (
    bindings,
    blueprints,
    held_among,
    insert_new_rows,
    lock_in_order,
    outbox,
    outbox_values,
    projects,
    run_listed,
    tasks,
    unnested,
    writing,
)
from onboarding.adapters.store.tables import IS_OPEN, Base
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.lifecycle import TaskProgress, TaskState
from onboarding.core.messages import Person
from onboarding.core.nudges import Digest, Nudge, SentDigest
from onboarding.core.sweep_days import SweepHistory
from onboarding.services.ports import (
    MessageLine,
    NudgeCandidate,
    NudgeCandidates,
    NudgeFilter,
    OverdueRow,
    Snapshot,
    WeeklyDue,
)

nudges = Base.metadata.tables["nudges"]
sweep_days = Base.metadata.tables["sweep_days"]
database_marks = Base.metadata.tables["database_marks"]
weekly_quiet = Base.metadata.tables["weekly_quiet"]
SIMULATION = "simulation"  # the mark of a database created as a simulation (the demo's)
RECORD_CHUNK = 5000  # nudges a transaction records (whole digests): the write lock is let go between them


class SqlSweepStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def projects_to_replan(self, *, today: date) -> list[str]:
        """Active projects whose plan moves today (``replan_after`` before today), from the project index."""
        query = (
            select(projects.c.id)
            .where(projects.c.state == "active", projects.c.replan_after < today)
            .order_by(projects.c.id)
        )
        with self.engine.connect() as connection:
            return [r[0] for r in connection.execute(query)]

    def ready_automated(self, *, today: date) -> list[tuple[str, str]]:
        """Pending automated tasks that may be ready: projected to start within a few days (a weekend and a
        holiday) of today. Whether their predecessors are done, the service checks."""
        # The pending automated tasks first, from their partial index (whose condition the literals match: a
        # bound value would not use it), then their projects.
        ready = _tasks_first(
            select(tasks.c.project_id, tasks.c.key, tasks.c.position).where(
                tasks.c.kind == bindparam("automated", "automated", literal_execute=True),
                tasks.c.state == bindparam("pending", "pending", literal_execute=True),
                tasks.c.start_on <= today + timedelta(days=4),
            ),
            "ready",
        )
        query = (
            select(ready.c.project_id, ready.c.key)
            .join_from(ready, projects, projects.c.id == ready.c.project_id)
            .where(projects.c.state == "active")
            .order_by(ready.c.project_id, ready.c.position)
        )
        with self.engine.connect() as connection:
            return [(r[0], r[1]) for r in connection.execute(query)]

    def active_projects(self) -> list[str]:
        with self.engine.connect() as connection:
            return [
                r[0]
                for r in connection.execute(
                    select(projects.c.id).where(projects.c.state == "active").order_by(projects.c.id)
                )
            ]

    def overdue_rows(self, *, today: date) -> list[OverdueRow]:
        """Open tasks of active projects due before ``today``, from the covering index, with their projects."""
        query = (
            select(
                tasks.c.project_id,
                tasks.c.key.label("task_key"),
                tasks.c.title.label("task_title"),
                tasks.c.milestone_title,
                tasks.c.owner_role,
                tasks.c.side,
                tasks.c.target_due_on.label("due_on"),
                tasks.c.due_version,
                tasks.c.nudges_sent,
                tasks.c.last_nudged_on,
                projects.c.customer,
                projects.c.blueprint_key,
                projects.c.blueprint_version,
                projects.c.blueprint_title,
                projects.c.blueprint_id,
            )
            .join(projects, projects.c.id == tasks.c.project_id)
            .where(IS_OPEN, tasks.c.target_due_on < today, projects.c.state == "active")
        )
        with self.engine.connect() as connection:
            return [OverdueRow(**r._mapping) for r in connection.execute(query)]

    def active_blueprints(self) -> list[str]:
        active = select(projects.c.id).where(projects.c.blueprint_id == blueprints.c.id, projects.c.state == "active")
        with self.engine.connect() as connection:
            return list(
                connection.execute(select(blueprints.c.id).where(active.exists()).order_by(blueprints.c.id)).scalars()
            )

    def own_customer_calendars(self) -> dict[str, tuple[str, CustomerCalendar]]:
        """Active projects dated on their customer's own calendar: their snapshot id and that calendar, by id."""
        c = projects.c
        query = select(c.id, c.blueprint_id, c.customer_country, c.customer_subdivision, c.customer_closed_days).where(
            c.state == "active",
            or_(
                c.customer_country.is_not(None),
                c.customer_subdivision.is_not(None),
                c.customer_closed_days.is_not(None),
            ),
        )
        out: dict[str, tuple[str, CustomerCalendar]] = {}
        seen: dict[CustomerCalendar, CustomerCalendar] = {}  # one value per calendar: many projects share one
        with self.engine.connect() as connection:
            for pid, snapshot, country, subdivision, closed in connection.execute(query):
                calendar = customer_calendar_of(country, subdivision, closed, None)
                if calendar is not None:
                    out[pid] = (snapshot, seen.setdefault(calendar, calendar))
        return out

    def time_zones(self) -> list[str]:
        """Each zone once, from the zone index by skipping from one zone to the next (a handful of lookups)."""
        query = text(
            "WITH RECURSIVE zone(name) AS ("
            " SELECT min(timezone) FROM bindings"
            " UNION ALL"
            " SELECT (SELECT min(timezone) FROM bindings WHERE timezone > zone.name)"
            " FROM zone WHERE zone.name IS NOT NULL"
            ") SELECT name FROM zone WHERE name IS NOT NULL"
        )
        with self.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def nudge_candidates(self, *, today: date, may_be_due: NudgeFilter) -> NudgeCandidates:
        """Overdue tasks that pass the filter, with their projects and people; every overdue task counted.

        Three reads: the count of overdue tasks from the task index alone, less
        those of held projects (a completed project has no open task); the tasks
        that pass the filter, each joined to its project; and the people bound to
        those projects. The last two are read straight from the driver's cursor:
        at a hundred thousand rows, result objects would cost more than the reads.
        """
        overdue = select(func.count()).where(IS_OPEN, tasks.c.target_due_on < today)
        held = (
            select(func.count())
            .select_from(projects)
            .join(tasks, tasks.c.project_id == projects.c.id)
            .where(projects.c.state == "on_hold", IS_OPEN, tasks.c.target_due_on < today)
        )
        may_be_due_now = (IS_OPEN, tasks.c.target_due_on < today, _passes(may_be_due))
        found = _tasks_first(
            select(
                tasks.c.project_id,
                tasks.c.key,
                tasks.c.owner_role,
                tasks.c.side,
                tasks.c.target_due_on,
                tasks.c.due_version,
                tasks.c.nudges_sent,
                tasks.c.last_nudged_on,
            ).where(*may_be_due_now),
            "found",
        )
        rows = select(*found.c)
        # each project once, by a DISTINCT over the index entries found (not over the tasks' primary key,
        # which SQLite would otherwise walk in full to have the projects in order)
        their_tasks = _tasks_first(select(tasks.c.project_id).where(*may_be_due_now), "their_tasks")
        their_projects = _tasks_first(select(their_tasks.c.project_id).distinct(), "their_projects")
        project_rows = (
            select(projects.c.id, projects.c.customer, projects.c.blueprint_title, projects.c.blueprint_id)
            .join_from(their_projects, projects, projects.c.id == their_projects.c.project_id)
            .where(projects.c.state == "active")
        )
        people_rows = select(
            bindings.c.project_id, bindings.c.role, bindings.c.name, bindings.c.email, bindings.c.timezone
        ).join_from(their_projects, bindings, bindings.c.project_id == their_projects.c.project_id)
        day = day_reader(self.engine)
        people: dict[str, dict[str, Person]] = {}
        with self.engine.connect() as connection:
            # one statement, so that both counts see the same moment on every database
            total = int(connection.execute(select(overdue.scalar_subquery() - held.scalar_subquery())).scalar_one())
            active = {pid: rest for pid, *rest in driver_rows(connection, project_rows)}  # held ones left out
            candidates = [
                NudgeCandidate(
                    pid, key, role, side, day(due), version, sent, None if last is None else day(last), *project
                )
                for pid, key, role, side, due, version, sent, last in driver_rows(connection, rows)
                if (project := active.get(pid)) is not None
            ]
            known: dict[tuple[str, ...], Person] = {}  # one Person for each name, address and zone
            bound: dict[str, Person] = {}
            previous = None
            for row in driver_rows(connection, people_rows):  # (project, role, name, email, zone)
                person = row[2:]
                found_person = known.get(person)
                if found_person is None:
                    found_person = known[person] = Person._make(person)
                if row[0] != previous:
                    previous = row[0]
                    bound = people.setdefault(previous, {})
                bound[row[1]] = found_person
        return NudgeCandidates(overdue=total, rows=candidates, people=people)

    def bindings_of(self, project_ids: Iterable[str]) -> dict[str, dict[str, Person]]:
        ids = sorted(set(project_ids))
        out: dict[str, dict[str, Person]] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                rows = connection.execute(
                    select(
                        bindings.c.project_id, bindings.c.role, bindings.c.name, bindings.c.email, bindings.c.timezone
                    ).where(among(connection, bindings.c.project_id, chunk))
                )
                for pid, role, name, email, tz in rows:
                    out.setdefault(pid, {})[role] = Person(name, email, tz)
        return out

    def progress_of(
        self, project_ids: Iterable[str], *, keys: Iterable[str] | None = None
    ) -> dict[str, dict[str, TaskProgress]]:
        ids = sorted(set(project_ids))
        only = None if keys is None else sorted(set(keys))
        out: dict[str, dict[str, TaskProgress]] = {}
        if only == []:
            return out
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 5000):
                query = select(tasks.c.project_id, tasks.c.key, tasks.c.state).where(
                    among(connection, tasks.c.project_id, ids[start : start + 5000]),
                    tasks.c.state != TaskState.pending.value,
                )
                if only is not None:  # a few keys of each project, found by the primary key
                    query = query.where(tasks.c.key.in_(only))
                for pid, key, state in connection.execute(query):
                    out.setdefault(pid, {})[key] = TaskProgress(TaskState(state))
        return out

    def snapshots_of(self, project_ids: Iterable[str]) -> dict[str, Snapshot]:
        ids = sorted(set(project_ids))
        out: dict[str, Snapshot] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                query = select(
                    projects.c.id,
                    projects.c.blueprint_id,
                    projects.c.kickoff_on,
                    projects.c.customer,
                    projects.c.version,
                ).where(among(connection, projects.c.id, chunk))
                out.update(
                    (pid, Snapshot(snapshot, kickoff_on, customer, version))
                    for pid, snapshot, kickoff_on, customer, version in connection.execute(query)
                )
        return out

    def blueprint_texts(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The stored text and source of each blueprint snapshot."""
        wanted = sorted(set(ids))
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(blueprints.c.id, blueprints.c.text, blueprints.c.source).where(
                    among(connection, blueprints.c.id, wanted)
                )
            )
            return {r.id: (r.text, r.source) for r in rows}

    def digests_since(self, since: datetime) -> list[SentDigest]:
        """The digests of nudges recorded since an instant (to count each recipient's emails today), each
        with its recipient and local day from their columns; rows from before those columns are left out."""
        query = (
            select(nudges.c.recipient, nudges.c.digest_on, nudges.c.digest_key)
            .where(nudges.c.created_at >= since, nudges.c.digest_on.is_not(None))
            .distinct()
        )
        with self.engine.connect() as connection:
            return [SentDigest(email, on, key) for email, on, key in connection.execute(query)]

    def record_nudges(self, decided: Sequence[Nudge], digests: Sequence[Digest], *, now: datetime) -> int:
        """Record nudges once each (by key), bump their tasks' counters, queue their digests.

        A nudge another sweep recorded first is left alone, and so is its digest.
        The writes go in transactions of about ``RECORD_CHUNK`` nudges, each digest
        whole in one with its nudges, so that the write lock is let go between them
        (at 100,000 nudges one transaction held it for half a minute, the SQLite
        busy timeout of every other writer). Each chunk's digests are composed
        before its transaction. A crash between two chunks loses nothing: what was
        not recorded is decided again by the next sweep. Returns how many were recorded.
        """
        by_digest: dict[str, list[Nudge]] = {}
        for n in decided:
            by_digest.setdefault(n.digest_key, []).append(n)
        known = {d.key: d for d in digests}
        recorded = 0
        chunk: list[Nudge] = []
        chunk_digests: list[Digest] = []
        for key, its_nudges in by_digest.items():
            chunk += its_nudges
            if key in known:
                chunk_digests.append(known[key])
            if len(chunk) >= RECORD_CHUNK:
                recorded += self._record(chunk, chunk_digests, now=now)
                chunk, chunk_digests = [], []
        if chunk:
            recorded += self._record(chunk, chunk_digests, now=now)
        return recorded

    def _record(self, decided: Sequence[Nudge], digests: Sequence[Digest], *, now: datetime) -> int:
        """One transaction of ``record_nudges``: these nudges and the digests that carry them."""
        composed = {d.key: outbox_values(d.message(), now) for d in digests}
        with writing(self.engine) as connection:
            if connection.dialect.name == "postgresql":  # the tasks' projects first, as every writer of tasks
                ids = sorted({n.project_id for n in decided})
                for start in range(0, len(ids), 1000):
                    chunk = ids[start : start + 1000]
                    connection.execute(
                        lock_in_order(select(projects.c.id).where(among(connection, projects.c.id, chunk)))
                    )
            rows = [
                {
                    "key": n.key,
                    "project_id": n.project_id,
                    "task_key": n.task_key,
                    "due_version": n.due_version,
                    "number": n.number,
                    "level": n.level,
                    "recipient": n.recipient.email,
                    "digest_key": n.digest_key,
                    "digest_on": n.digest_on,
                    "created_at": now,
                }
                for n in decided
            ]
            # those recorded before (by another sweep: its projects were locked first, so it has committed) are left
            # alone. Asked first rather than by RETURNING: see ``insert_new_rows``
            keys = sorted(n.key for n in decided)
            known: set[str] = set()
            for start in range(0, len(keys), 1000):
                chunk = keys[start : start + 1000]
                known.update(connection.execute(held_among(connection, nudges.c.key, chunk)).scalars())
            fresh = [n for n in decided if n.key not in known]
            rows = [row for row in rows if row["key"] not in known]
            insert_new_rows(connection, nudges, rows, key=["key"])
            if fresh:
                _count_nudges(connection, fresh)
                wanted = {n.digest_key for n in fresh}
                queued = [values for key, values in composed.items() if key in wanted]
                insert_new_rows(connection, outbox, queued, key=["idempotency_key"])
        return len(fresh)

    def weekly_status_sent(self, project_ids: Iterable[str]) -> dict[str, dict[str, date]]:
        """Per project and recipient, the latest weekly update: queued (the outbox's key columns, sent or kept
        suppressed for want of news when it was composed) or a week a sweep of an earlier version left quiet
        (``weekly_quiet``, which is no longer written), whichever is later."""
        ids = sorted(set(project_ids))
        out: dict[str, dict[str, date]] = {}
        day = day_reader(self.engine)
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 5000):
                chunk = ids[start : start + 5000]
                queued = (
                    select(outbox.c.project_id, outbox.c.key_email, func.max(outbox.c.key_on))
                    .where(
                        among(connection, outbox.c.project_id, chunk),
                        outbox.c.kind == "status",
                        outbox.c.key_reason == "weekly",
                    )
                    .group_by(outbox.c.project_id, outbox.c.key_email)
                )
                quiet = select(weekly_quiet.c.project_id, weekly_quiet.c.email, weekly_quiet.c.slot_on).where(
                    among(connection, weekly_quiet.c.project_id, chunk)
                )
                # one statement, its rows as the driver reads them: a sweep asks it of every active project
                for project_id, email, as_of in driver_rows(connection, union_all(queued, quiet)):
                    known = out.setdefault(project_id, {})
                    as_of = day(as_of)
                    if email not in known or known[email] < as_of:
                        known[email] = as_of
        return out

    def weekly_unsettled(self, project_ids: Sequence[str], *, now: datetime) -> list[str]:
        """By the primary key: the projects' two threshold columns beside their version."""
        unsettled: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(project_ids), 5000):
                chunk = list(project_ids[start : start + 5000])
                query = select(projects.c.id).where(among(connection, projects.c.id, chunk), _weekly_unsettled(now))
                unsettled.update(connection.execute(query).scalars())
        return [p for p in project_ids if p in unsettled]

    def weekly_unsettled_active(self, *, now: datetime) -> list[str]:
        """One pass over the projects' rows (a few hundred thousand at most): cheaper than looking each up."""
        query = select(projects.c.id).where(projects.c.state == "active", _weekly_unsettled(now))
        with self.engine.connect() as connection:
            return [r[0] for r in connection.execute(query.order_by(projects.c.id))]

    def record_weekly_due(self, due: Mapping[str, WeeklyDue]) -> None:
        """One statement for them all, in the order of the primary key (as ``save_many`` takes its row locks); no
        project version is bumped: the threshold is the sweep's note of the project, not a change of it."""
        if not due:
            return
        listed = [(d.due_at.astimezone(UTC) if d.due_at else None, d.version, pid) for pid, d in sorted(due.items())]
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":  # one statement for many rows, as ``_update_tasks``
                columns = [projects.c.weekly_due_at, projects.c.weekly_due_version, projects.c.id]
                run_listed(
                    connection,
                    "UPDATE projects SET weekly_due_at = v.at, weekly_due_version = v.version "  # noqa: S608
                    f"FROM {unnested(connection, columns)} AS v(at, version, id) WHERE projects.id = v.id",
                    listed,
                )
                return
            statement = (
                update(projects)
                .where(projects.c.id == bindparam("b_id"))
                .values(weekly_due_at=bindparam("b_at"), weekly_due_version=bindparam("b_version"))
            )
            connection.execute(statement, [{"b_at": at, "b_version": v, "b_id": pid} for at, v, pid in listed])

    def outbox_due(self, *, now: datetime, lease: timedelta) -> list[MessageLine]:
        """What a delivery now would claim (as ``SqlOutbox.claim`` chooses, in its order), only read."""
        query = waiting_first(
            select(outbox.c.kind, outbox.c.recipients, outbox.c.cc, outbox.c.subject).where(due(now=now, lease=lease))
        )
        with self.engine.connect() as connection:
            return [
                MessageLine(kind, tuple(p["email"] for p in (*to, *(cc or ()))), subject)
                for kind, to, cc, subject in connection.execute(query.order_by(outbox.c.id))
            ]

    def sweep_history(self) -> SweepHistory:
        """The latest day swept, and whether the database was created as a simulation."""
        with self.engine.connect() as connection:
            latest = connection.execute(select(func.max(sweep_days.c.swept_on))).scalar_one_or_none()
            marked = connection.execute(
                select(database_marks.c.name).where(database_marks.c.name == SIMULATION)
            ).scalar_one_or_none()
        return SweepHistory(latest_swept_on=_day(latest), simulation=marked is not None)

    def record_sweep(self, *, at: datetime, ran_at: datetime) -> bool:
        """Record a sweep as of ``at`` (its UTC day), unless a later day is swept already: then record nothing
        and return False. One transaction that holds the table (PostgreSQL) or the write lock (SQLite), so
        that two sweeps of different days cannot both pass."""
        day = at.astimezone(UTC).date()
        with writing(self.engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("LOCK TABLE sweep_days IN SHARE ROW EXCLUSIVE MODE"))
            latest = _day(connection.execute(select(func.max(sweep_days.c.swept_on))).scalar_one_or_none())
            if latest is not None and latest > day:
                return False
            again = connection.execute(
                update(sweep_days)
                .where(sweep_days.c.swept_on == day)
                .values(sweeps=sweep_days.c.sweeps + 1, last_as_of_at=at, last_ran_at=ran_at)
            )
            if again.rowcount == 0:
                connection.execute(
                    insert(sweep_days).values(
                        swept_on=day, sweeps=1, last_as_of_at=at, first_ran_at=ran_at, last_ran_at=ran_at
                    )
                )
        return True

    def mark_simulation(self, *, at: datetime) -> None:
        """Mark a new database as a simulation, whose sweeps may run as of later days than today.

        Only a database with no project and no day swept yet can become one: a real
        database is never turned into a simulation (``RuntimeError``, a programming error).
        """
        with writing(self.engine) as connection:
            used = (
                connection.execute(select(projects.c.id).limit(1)).first()
                or connection.execute(select(sweep_days.c.swept_on).limit(1)).first()
            )
            if used is not None:
                raise RuntimeError("only a new, empty database can be marked as a simulation")
            marked = connection.execute(select(database_marks.c.name).where(database_marks.c.name == SIMULATION))
            if marked.first() is None:
                connection.execute(insert(database_marks).values(name=SIMULATION, value="true", marked_at=at))

    def count(self, table: str) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(Base.metadata.tables[table])).scalar_one())


def _day(value: date | str | None) -> date | None:
    """A day read back from the driver (``max`` of a date column is text on some SQLite paths)."""
    return date.fromisoformat(value) if isinstance(value, str) else value


def _tasks_first(query: Select[Any], name: str) -> CTE:
    """The query as a materialised CTE: the database finds these task rows first, then joins to them."""
    return query.cte(name).prefix_with("MATERIALIZED")


def _passes(f: NudgeFilter) -> ColumnElement[bool]:
    """The filter as SQL on the task nudge index; an owner's zone is looked up only for the tasks it decides."""
    last = tasks.c.last_nudged_on
    base = and_(tasks.c.target_due_on < f.due_before, or_(last.is_(None), last < f.nudged_before))
    if not f.ahead_zones or f.ahead_due_before is None or f.ahead_nudged_before is None:
        return base
    owner_ahead = (
        select(bindings.c.project_id)
        .where(
            bindings.c.project_id == tasks.c.project_id,
            bindings.c.role == tasks.c.owner_role,
            bindings.c.timezone.in_(sorted(f.ahead_zones)),
        )
        .exists()
    )
    ahead = and_(
        tasks.c.target_due_on < f.ahead_due_before, or_(last.is_(None), last < f.ahead_nudged_before), owner_ahead
    )
    return or_(base, ahead)


def _count_nudges(connection: Connection, fresh: Sequence[Nudge]) -> None:
    """Each nudged task's counter up by its nudges recorded now and its last nudge day theirs (the last one's, in
    order), unless it was finished meanwhile or re-dated since (another due version). The rows are taken in order
    of project and task; their projects' rows are locked already."""
    counted: dict[tuple[str, str, int], tuple[int, date]] = {}
    for n in fresh:
        earlier, _day = counted.get((n.project_id, n.task_key, n.due_version), (0, n.nudged_on))
        counted[n.project_id, n.task_key, n.due_version] = (earlier + 1, n.nudged_on)
    rows = [(*task, number, on) for task, (number, on) in sorted(counted.items())]
    if connection.dialect.name == "postgresql":
        columns = [tasks.c.project_id, tasks.c.key, tasks.c.due_version, tasks.c.nudges_sent, tasks.c.last_nudged_on]
        run_listed(
            connection,
            "UPDATE tasks SET nudges_sent = tasks.nudges_sent + v.counted, last_nudged_on = v.nudged_on "  # noqa: S608
            f"FROM {unnested(connection, columns)} AS v(project_id, key, due_version, counted, nudged_on) "
            "WHERE tasks.project_id = v.project_id AND tasks.key = v.key AND tasks.due_version = v.due_version "
            "AND tasks.state NOT IN ('done', 'skipped')",
            rows,
        )
        return
    connection.execute(
        update(tasks)
        .where(
            and_(
                tasks.c.project_id == bindparam("p"),
                tasks.c.key == bindparam("k"),
                tasks.c.due_version == bindparam("v"),
                tasks.c.state != "done",  # finished meanwhile: its counters stay as they are
                tasks.c.state != "skipped",
            )
        )
        .values(nudges_sent=tasks.c.nudges_sent + bindparam("n"), last_nudged_on=bindparam("on")),
        [{"p": p, "k": k, "v": v, "n": number, "on": on} for p, k, v, number, on in rows],
    )


def _weekly_unsettled(now: datetime) -> ColumnElement[bool]:
    """A project whose weekly threshold is missing, was found at another version than its own, or has come."""
    return or_(
        projects.c.weekly_due_version.is_(None),
        projects.c.weekly_due_version != projects.c.version,
        projects.c.weekly_due_at <= now.astimezone(UTC),
    )
