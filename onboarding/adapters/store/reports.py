"""The manager reports' questions to the database, and the TTFV read model they are answered from.

The TTFV figures come from the event log. Folding 250,000 projects' events at
every report would take far longer than the report may, so each project keeps one
row in ``project_ttfv``: its facts folded from its whole event history by
``core.ttfv.ttfv_facts``, rewritten in the same transaction as every event the
project appends (``SqlProjectStore.create_many`` and ``save_many`` call
``insert_ttfv`` and ``replace_ttfv``). ``rebuild_ttfv`` folds every project's events again from
scratch (after a change of definition, or to check the read model); a test
holds the two equal for random histories.

A value (or skip) later undone by a reopen is kept in ``project_ttfv_undone`` with
the day it was undone, so that a report as of a day gives the figures as they
stood that day (``core.ttfv`` says which day each change counts from).

The report then reads one narrow row per project in one query (dates as they are
stored, no ORM objects), plus the undone values that stood on the report's day
(none for a report as of today), and hands numpy columns to the core. The portfolio report
reads projects, their tasks and the days their blocks began in three queries.

Not here: the figures themselves (core/ttfv.py, core/portfolio.py), which calendar a snapshot
uses (services/reports.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, case, delete, func, insert, inspect, literal_column, or_, select

from onboarding.adapters.blueprint_files import parse_blueprint_text
from onboarding.adapters.store.portfolio_tallies import PROJECT_COLUMNS, blocked_since, portfolio_project
from onboarding.adapters.store.portfolio_tallies import portfolio_at_risk as sql_portfolio_at_risk
from onboarding.adapters.store.portfolio_tallies import portfolio_members as sql_portfolio_members
from onboarding.adapters.store.portfolio_tallies import portfolio_tallies as sql_portfolio_tallies
from onboarding.adapters.store.rows import among, customer_calendar_of, day_reader, driver_rows, utc_instant
from onboarding.adapters.store.tables import Base
from onboarding.core.blueprint import TTFV, Blueprint, CalendarName
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.lifecycle import Event
from onboarding.core.messages import Person
from onboarding.core.planning import scheduling_calendars
from onboarding.core.portfolio import PortfolioFigure, PortfolioProject, PortfolioTallies, PortfolioTask, ProjectAtRisk
from onboarding.core.projects import ProjectRecord
from onboarding.core.ttfv import (
    NONE_LABEL,
    OWNER_ROLE,
    Dimension,
    TtfvObservations,
    TtfvRows,
    customer_timezone,
    ttfv_facts,
)
from onboarding.errors import BlueprintInvalid

project_ttfv = Base.metadata.tables["project_ttfv"]
project_ttfv_undone = Base.metadata.tables["project_ttfv_undone"]
projects = Base.metadata.tables["projects"]
blueprints = Base.metadata.tables["blueprints"]
bindings = Base.metadata.tables["bindings"]
tasks = Base.metadata.tables["tasks"]
events = Base.metadata.tables["events"]

_BATCH = 5000
UNDONE = "undone"  # the key of a read-model row's undone closures (rows of project_ttfv_undone)


def blueprint_id_of(text: str) -> str:
    """A snapshot's id: the SHA-256 of its text (as ``SqlProjectStore`` keeps it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class SnapshotTtfv:
    """What the read model needs of a blueprint snapshot: its TTFV definition and its customer calendar."""

    definition: TTFV
    customer_calendar: BusinessCalendar | None  # None: the snapshot no longer reads (no business days then)


class TtfvDefinitions:
    """Each snapshot's TTFV definition and customer calendar, read once per snapshot (and once per project
    customer calendar given at launch, which takes the place of the snapshot's)."""

    def __init__(self) -> None:
        self._known: dict[str, SnapshotTtfv] = {}
        self._blueprints: dict[str, Blueprint] = {}
        self._own: dict[tuple[str, CustomerCalendar], SnapshotTtfv] = {}

    def of(self, blueprint_id: str, text: str, *, customer: CustomerCalendar | None = None) -> SnapshotTtfv:
        if blueprint_id not in self._known:
            try:
                blueprint = parse_blueprint_text(text, source=f"snapshot {blueprint_id[:12]}").blueprint
            except BlueprintInvalid:
                # Checked when its projects were launched; a later, stricter engine may refuse it. The report
                # then measures those projects from their kickoff, without business days, rather than failing.
                self._known[blueprint_id] = SnapshotTtfv(TTFV(), None)
            else:
                calendar = scheduling_calendars(blueprint)[CalendarName.customer]
                self._known[blueprint_id] = SnapshotTtfv(blueprint.ttfv or TTFV(), calendar)
                self._blueprints[blueprint_id] = blueprint
        known = self._known[blueprint_id]
        if customer is None or not customer.changes_calendar or blueprint_id not in self._blueprints:
            return known
        if (blueprint_id, customer) not in self._own:
            calendars = scheduling_calendars(self._blueprints[blueprint_id], customer=customer)
            self._own[blueprint_id, customer] = SnapshotTtfv(known.definition, calendars[CalendarName.customer])
        return self._own[blueprint_id, customer]


EPOCH = date(1970, 1, 1)
_BITS = 17  # each packed count of days below 2**17 (359 years; the calendars span 1950 to 2150)
_MASK = (1 << _BITS) - 1
_STARTED, _REACHED, _STOPPED = 4, 2, 1


def pack_observation(*, status: int, days: int, held_days: int = 0, business_days: int = -1) -> int:
    """One integer for an observation that no longer changes: status bits, days, held days, business days + 1."""
    return (((status << _BITS | days) << _BITS | held_days) << _BITS) | (business_days + 1)


def day_number(day: date | None) -> int | None:
    return None if day is None else (day - EPOCH).days


@dataclass(frozen=True, slots=True)
class _Owner:
    position: int
    owner_role: str
    side: str
    first_value: bool


def ttfv_values(
    *,
    project_id: str,
    blueprint_id: str,
    blueprint_key: str,
    blueprint_version: str,
    segment: str | None,
    kickoff_on: date,
    owners: Sequence[_Owner] | Sequence[Any],
    value_task: str | None,
    people: Mapping[str, Person],
    history: Iterable[Event],
    snapshot: SnapshotTtfv,
    time_zone: str | None = None,
) -> dict[str, Any]:
    """The read-model row of one project; ``time_zone``: the customer's, when the launch gave it."""
    timezone = customer_timezone(owners, {role: p.timezone for role, p in people.items()}, declared=time_zone)
    definition = snapshot.definition
    facts = ttfv_facts(
        history,
        value_task=value_task,
        start_event=definition.start_event,
        kickoff_on=kickoff_on,
        timezone=timezone,
    )
    business_days: int | None = None
    calendar_days: int | None = None
    observation = closed = None
    start, value, stopped = facts.start_on, facts.value_on, facts.stopped_on
    calendar = snapshot.customer_calendar
    if start is not None and value is not None:
        observation, business_days = _observed(start, value, reached=True, held_days=facts.held_days, calendar=calendar)
        calendar_days = (value - start).days
        closed = day_number(value)
    elif start is not None and stopped is not None:
        observation, _ = _observed(start, stopped, reached=False, held_days=0, calendar=None)
        closed = day_number(stopped)
    undone = [
        {
            "project_id": project_id,
            "closed_day": day_number(u.closed_on),
            "undone_day": day_number(u.undone_on),
            "observation": _observed(
                start, u.closed_on, reached=u.reached, held_days=u.held_days, calendar=calendar if u.reached else None
            )[0],
        }
        for u in facts.undone
        if start is not None
    ]
    owner = people.get(OWNER_ROLE)
    return {
        "project_id": project_id,
        "blueprint_id": blueprint_id,
        "blueprint_key": blueprint_key,
        "blueprint_version": blueprint_version,
        "segment": segment,
        "owner": owner.name if owner is not None else None,
        "start_on": facts.start_on,
        "value_on": facts.value_on,
        "stopped_on": facts.stopped_on,
        "start_day": day_number(facts.start_on),
        "value_day": day_number(facts.value_on),
        "stopped_day": day_number(facts.stopped_on),
        "cohort_month": facts.start_on.strftime("%Y-%m") if facts.start_on else None,
        "calendar_days": calendar_days,
        "business_days": business_days,
        "held_days": facts.held_days,
        "held_since": facts.held_since,
        "target_calendar_days": definition.target_calendar_days,
        "closed_day": closed,
        "observation": observation,
        UNDONE: undone,  # rows of project_ttfv_undone, which insert_ttfv writes apart
    }


def _observed(
    start: date, closed: date, *, reached: bool, held_days: int, calendar: BusinessCalendar | None
) -> tuple[int, int | None]:
    """The packed observation of a project closed on ``closed`` (value reached, or the value task skipped),
    and its business days to value when its calendar is known."""
    business_days: int | None = None
    if reached and calendar is not None:
        first, last = calendar.prev_on_or_before(start), calendar.prev_on_or_before(closed)
        business_days = max(0, calendar.business_days_between(first, last))
    observation = pack_observation(
        status=_STARTED | (_REACHED if reached else _STOPPED),
        days=max(0, (closed - start).days),
        held_days=held_days if reached else 0,
        business_days=-1 if business_days is None else business_days,
    )
    return observation, business_days


def project_ttfv_values(
    project: ProjectRecord, history: Iterable[Event], definitions: TtfvDefinitions
) -> dict[str, Any]:
    blueprint_id = blueprint_id_of(project.blueprint_text)
    return ttfv_values(
        project_id=project.id,
        blueprint_id=blueprint_id,
        blueprint_key=project.blueprint_key,
        blueprint_version=project.blueprint_version,
        segment=project.segment,
        kickoff_on=project.kickoff_on,
        owners=project.tasks,
        value_task=next((t.key for t in project.tasks if t.first_value), None),
        people=project.bindings,
        history=history,
        snapshot=definitions.of(blueprint_id, project.blueprint_text, customer=project.customer_calendar),
        time_zone=project.customer_calendar.time_zone if project.customer_calendar else None,
    )


def insert_ttfv(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The read-model rows of new projects (as ``ttfv_values`` makes them; inside the caller's transaction)."""
    if rows:
        connection.execute(insert(project_ttfv), [{k: v for k, v in r.items() if k != UNDONE} for r in rows])
        undone = [u for r in rows for u in r.get(UNDONE, ())]
        if undone:
            connection.execute(insert(project_ttfv_undone), undone)


def replace_ttfv(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rewrite the read-model rows of these projects (inside the caller's transaction)."""
    ids = [r["project_id"] for r in rows]
    for start in range(0, len(ids), _BATCH):
        some = ids[start : start + _BATCH]
        connection.execute(delete(project_ttfv_undone).where(among(connection, project_ttfv_undone.c.project_id, some)))
        connection.execute(delete(project_ttfv).where(among(connection, project_ttfv.c.project_id, some)))
    insert_ttfv(connection, rows)


def histories_of(connection: Connection, project_ids: Sequence[str]) -> dict[str, list[Event]]:
    """The events the TTFV fold reads of each of these projects, in the order they were recorded."""
    out: dict[str, list[Event]] = {pid: [] for pid in project_ids}
    for start in range(0, len(project_ids), _BATCH):
        rows = connection.execute(
            select(events.c.project_id, events.c.kind, events.c.at, events.c.actor, events.c.task_key, events.c.data)
            .where(
                among(connection, events.c.project_id, project_ids[start : start + _BATCH]),
                events.c.kind.in_(TTFV_EVENT_KINDS),
            )
            .order_by(events.c.id)
        )
        for r in rows:
            out[r.project_id].append(Event(r.kind, utc_instant(r.at), r.actor, r.task_key, r.data or {}))
    return out


def rebuild_ttfv(connection: Connection, *, projects_table: bool = True, undone_table: bool = True) -> int:
    """Fold every project's events again and replace the whole read model; returns how many projects.

    A migration rewrites only the table it makes (``project_ttfv`` or ``project_ttfv_undone``): the other
    one may not exist yet, or not yet have the columns this code writes."""
    definitions = TtfvDefinitions()
    texts = {r.id: r.text for r in connection.execute(select(blueprints.c.id, blueprints.c.text))}
    people: dict[str, dict[str, Person]] = {}
    for b in connection.execute(select(bindings.c.project_id, bindings.c.role, bindings.c.name, bindings.c.timezone)):
        people.setdefault(b.project_id, {})[b.role] = Person(b.name, "", b.timezone)
    # What customer_timezone reads of the tasks: the value task, and the first customer-side task by position.
    owners: dict[str, list[_Owner]] = {}
    value_tasks: dict[str, str] = {}
    first_customer = (
        select(tasks.c.project_id, func.min(tasks.c.position).label("position"))
        .where(tasks.c.side == "customer")
        .group_by(tasks.c.project_id)
        .subquery()
    )
    owner_rows = connection.execute(
        select(tasks.c.project_id, tasks.c.key, tasks.c.position, tasks.c.owner_role, tasks.c.side, tasks.c.first_value)
        .where(tasks.c.first_value)
        .union_all(
            select(
                tasks.c.project_id, tasks.c.key, tasks.c.position, tasks.c.owner_role, tasks.c.side, tasks.c.first_value
            ).join(
                first_customer,
                (first_customer.c.project_id == tasks.c.project_id) & (first_customer.c.position == tasks.c.position),
            )
        )
    )
    for t in owner_rows:
        owners.setdefault(t.project_id, []).append(_Owner(t.position, t.owner_role, t.side, bool(t.first_value)))
        if t.first_value:
            value_tasks[t.project_id] = t.key
    histories: dict[str, list[Event]] = {}
    own = _customer_calendars(connection)
    event_rows = connection.execute(
        select(events.c.project_id, events.c.kind, events.c.at, events.c.actor, events.c.task_key, events.c.data)
        .where(events.c.kind.in_(TTFV_EVENT_KINDS))
        .order_by(events.c.project_id, events.c.id)
    )
    for e in event_rows:
        histories.setdefault(e.project_id, []).append(
            Event(e.kind, utc_instant(e.at), e.actor, e.task_key, e.data or {})
        )
    rows = [
        ttfv_values(
            project_id=p.id,
            blueprint_id=p.blueprint_id,
            blueprint_key=p.blueprint_key,
            blueprint_version=p.blueprint_version,
            segment=p.segment,
            kickoff_on=p.kickoff_on,
            owners=owners.get(p.id, []),
            value_task=value_tasks.get(p.id),
            people=people.get(p.id, {}),
            history=histories.get(p.id, []),
            snapshot=definitions.of(p.blueprint_id, texts[p.blueprint_id], customer=own.get(p.id)),
            time_zone=own[p.id].time_zone if p.id in own else None,
        )
        for p in connection.execute(
            select(
                projects.c.id,
                projects.c.blueprint_id,
                projects.c.blueprint_key,
                projects.c.blueprint_version,
                projects.c.segment,
                projects.c.kickoff_on,
            )
        )
    ]
    if undone_table:
        connection.execute(delete(project_ttfv_undone))
        undone = [u for r in rows for u in r[UNDONE]]
        for start in range(0, len(undone), _BATCH):
            connection.execute(insert(project_ttfv_undone), undone[start : start + _BATCH])
    if projects_table:
        connection.execute(delete(project_ttfv))
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            connection.execute(insert(project_ttfv), [{k: v for k, v in r.items() if k != UNDONE} for r in batch])
    return len(rows)


def _customer_calendars(connection: Connection) -> dict[str, CustomerCalendar]:
    """The projects launched with their customer's own calendar or time zone (none before migration 0021)."""
    if "customer_country" not in {c["name"] for c in inspect(connection).get_columns("projects")}:
        return {}
    c = projects.c
    rows = connection.execute(
        select(c.id, c.customer_country, c.customer_subdivision, c.customer_closed_days, c.customer_time_zone).where(
            or_(
                c.customer_country.is_not(None),
                c.customer_subdivision.is_not(None),
                c.customer_closed_days.is_not(None),
                c.customer_time_zone.is_not(None),
            )
        )
    )
    return {
        r.id: calendar
        for r in rows
        if (
            calendar := customer_calendar_of(
                r.customer_country, r.customer_subdivision, r.customer_closed_days, r.customer_time_zone
            )
        )
        is not None
    }


# What the fold reads; other kinds (reforecasts, window jumps, nudges) never change a TTFV fact.
TTFV_EVENT_KINDS = (
    "project_launched",
    "cancelled",  # stops the observation (censored at the cancel day)
    "rebound",  # the owner (csm) and the customer's time zone come from the people bound
    "project_held",
    "project_resumed",
    "task_completed",
    "task_skipped",
    "task_reopened",
)


class SqlReportStore:
    """The reports' reads (the real ``ReportStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ttfv_observations(
        self,
        *,
        as_of: date,
        dimensions: Sequence[Dimension],
        since: date | None = None,
        until: date | None = None,
    ) -> TtfvObservations:
        """Projects observed as of a day (``core.ttfv.observe``'s rule), grouped: those closed by then
        (value reached or skipped) by their packed observation, the others by start day. A few thousand
        rows come back whatever the portfolio's size."""
        t = project_ttfv
        today = day_number(as_of)
        keys = [_dimension(d) for d in dimensions]
        window = []
        if since is not None:
            window.append(t.c.start_day >= day_number(since))
        if until is not None:
            window.append(t.c.start_day <= day_number(until))
        target = t.c.target_calendar_days
        with self.engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # One scan into a hash aggregate: the day is an int literal, not a bound parameter, so
                # that PostgreSQL sees the same expressions in GROUP BY (given by position).
                is_closed = t.c.closed_day <= literal_column(str(int(today or 0)))
                columns = [
                    *keys,
                    target,
                    case((is_closed, t.c.observation)),
                    case((is_closed, None), else_=t.c.start_day),
                ]
                query = (
                    select(*columns, func.count())
                    .where(*window)
                    .group_by(*(literal_column(str(i + 1)) for i in range(len(columns))))
                )
                n = len(keys)
                closed_rows, open_rows = [], []
                for row in connection.execute(query):
                    if row[n + 1] is not None:
                        closed_rows.append((*row[: n + 2], row[n + 3]))
                    else:
                        open_rows.append((*row[: n + 1], row[n + 2], row[n + 3]))
            else:
                # SQLite: two queries, each reading an index in order (no sort of the portfolio).
                closed = (
                    select(*keys, target, t.c.observation, func.count())
                    .where(t.c.closed_day <= today, *window)
                    .group_by(*keys, target, t.c.observation)
                )
                still_open = (
                    select(*keys, target, t.c.start_day, func.count())
                    .where(or_(t.c.closed_day.is_(None), t.c.closed_day > today), *window)
                    .group_by(*keys, target, t.c.start_day)
                )
                closed_rows = list(connection.execute(closed).tuples())
                open_rows = list(connection.execute(still_open).tuples())
            # Projects whose value (or skip) of that day was undone later: the queries above count them open;
            # they count as closed as they stood (few rows: only values undone after the report's day).
            u = project_ttfv_undone
            undone_rows = [
                tuple(r)
                for r in connection.execute(
                    select(*keys, target, u.c.observation, t.c.start_day, func.count())
                    .select_from(u.join(t, t.c.project_id == u.c.project_id))
                    .where(u.c.undone_day > today, u.c.closed_day <= today, *window)
                    .group_by(*keys, target, u.c.observation, t.c.start_day)
                )
            ]
        return observations(closed_rows, open_rows, dimensions, today=today or 0, undone_rows=undone_rows)

    def ttfv_rows(
        self,
        *,
        dimensions: Sequence[Dimension],
        key: Sequence[str],
        since: date | None = None,
        until: date | None = None,
    ) -> tuple[TtfvRows, list[str]]:
        """The read-model rows of the projects of one group (``key``: a value per dimension; empty: all) whose
        start day is in [since, until] or unknown, and the project of each row (a drill-down: one row per
        project of the group, not grouped)."""
        t, u = project_ttfv, project_ttfv_undone
        where = [_dimension(d) == value for d, value in zip(dimensions, key, strict=True)] if key else []
        if since is not None:
            where.append(or_(t.c.start_day.is_(None), t.c.start_day >= day_number(since)))
        if until is not None:
            where.append(or_(t.c.start_day.is_(None), t.c.start_day <= day_number(until)))
        columns = [
            t.c.project_id,
            t.c.blueprint_key,
            t.c.blueprint_version,
            t.c.segment,
            t.c.owner,
            t.c.start_on,
            t.c.value_on,
            t.c.stopped_on,
            t.c.held_days,
            t.c.target_calendar_days,
            t.c.business_days,
        ]
        with self.engine.connect() as connection:
            values = [dict(r._mapping) for r in connection.execute(select(*columns).where(*where))]
            undone = [
                dict(r._mapping)
                for r in connection.execute(
                    select(u.c.project_id, u.c.closed_day, u.c.undone_day, u.c.observation)
                    .select_from(u.join(t, t.c.project_id == u.c.project_id))
                    .where(*where)
                )
            ]
        return read_model_stretches(values, undone)

    def snapshots(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        query = select(blueprints.c.id, blueprints.c.text, blueprints.c.source)
        if ids is not None:
            query = query.where(blueprints.c.id.in_(sorted(set(ids))))
        with self.engine.connect() as connection:
            return {r.id: (r.text, r.source) for r in connection.execute(query)}

    def portfolio_tallies(
        self, *, as_of: date, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> PortfolioTallies:
        return sql_portfolio_tallies(self.engine, as_of=as_of, predecessors=predecessors)

    def portfolio_at_risk(self, *, as_of: date) -> tuple[ProjectAtRisk, ...]:
        return sql_portfolio_at_risk(self.engine, as_of=as_of)

    def portfolio_members(self, figure: PortfolioFigure, *, as_of: date, item: str | None) -> tuple[str, ...]:
        return sql_portfolio_members(self.engine, figure, as_of=as_of, item=item)

    def portfolio_projects(
        self, *, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> list[PortfolioProject]:
        with self.engine.connect() as connection:
            project_rows = connection.execute(
                select(*PROJECT_COLUMNS)
                .outerjoin(project_ttfv, project_ttfv.c.project_id == projects.c.id)
                .order_by(projects.c.id)
            ).all()
            since = blocked_since(connection)
            by_project: dict[str, list[PortfolioTask]] = {}
            task_rows = driver_rows(  # every task of the portfolio: the driver's tuples, not result objects
                connection,
                select(
                    tasks.c.project_id,
                    tasks.c.key,
                    tasks.c.title,
                    tasks.c.milestone_key,
                    tasks.c.milestone_title,
                    tasks.c.side,
                    tasks.c.state,
                    tasks.c.started_on,
                    tasks.c.done_on,
                    tasks.c.target_due_on,
                    tasks.c.launch,
                ).order_by(tasks.c.project_id, tasks.c.position),
            )
            day = day_reader(self.engine)
            graph_of = {p.id: predecessors.get(p.blueprint_id, {}) for p in project_rows}
            no_graph: Mapping[str, tuple[str, ...]] = {}
            previous, graph, project_tasks = None, no_graph, []
            for row in task_rows:  # the columns above, in their order
                pid, key, started, done, target = row[0], row[1], row[7], row[8], row[9]
                if pid != previous:
                    previous, graph = pid, graph_of.get(pid, no_graph)
                    project_tasks = by_project.setdefault(pid, [])
                project_tasks.append(
                    PortfolioTask(
                        key,
                        row[2],  # title
                        row[3],  # milestone key
                        row[4],  # milestone title
                        row[5],  # side
                        row[6],  # state
                        started and day(started),
                        done and day(done),
                        day(target),
                        bool(row[10]),
                        graph.get(key, ()),
                        since.get((pid, key)),
                    )
                )
        return [portfolio_project(p, by_project.get(p.id, ())) for p in project_rows]


def _dimension(dimension: Dimension) -> Any:
    t = project_ttfv
    if dimension is Dimension.blueprint:
        return t.c.blueprint_key
    if dimension is Dimension.version:
        return t.c.blueprint_key + "@" + t.c.blueprint_version
    column = {Dimension.segment: t.c.segment, Dimension.owner: t.c.owner, Dimension.cohort_month: t.c.cohort_month}
    return func.coalesce(column[dimension], NONE_LABEL)


def observations(
    closed_rows: Sequence[Sequence[Any]],
    open_rows: Sequence[Sequence[Any]],
    dimensions: Sequence[Dimension],
    *,
    today: int,
    undone_rows: Sequence[Sequence[Any]] = (),
) -> TtfvObservations:
    """Observations from the two grouped queries: (dimension values..., target, packed observation or start
    day, count); ``undone_rows`` (dimension values..., target, packed observation, start day, count): projects
    the open rows count that stood closed on the report's day (a value or skip undone later)."""
    n = len(dimensions)
    if undone_rows:
        closed_rows = [*closed_rows, *((*r[: n + 2], r[n + 3]) for r in undone_rows)]
        still_open: dict[tuple[Any, ...], int] = {}
        for r in open_rows:
            still_open[tuple(r[: n + 2])] = still_open.get(tuple(r[: n + 2]), 0) + r[n + 2]
        for r in undone_rows:
            key = (*r[: n + 1], r[n + 2])
            still_open[key] = still_open.get(key, 0) - r[n + 3]
        open_rows = [(*key, count) for key, count in still_open.items() if count]

    def columns(rows: Sequence[Sequence[Any]]) -> list[Sequence[Any]]:
        return list(zip(*rows, strict=True)) if rows else [[] for _ in range(n + 3)]

    shut, still = columns(closed_rows), columns(open_rows)
    packed = np.array(shut[n + 1], dtype=np.int64)
    start = np.array([-1 if v is None else v for v in still[n + 1]], dtype=np.int64)
    started_open = start >= 0
    status = np.concatenate([packed >> (3 * _BITS), np.where(started_open, _STARTED, 0)])
    days = np.concatenate([(packed >> (2 * _BITS)) & _MASK, np.where(started_open, np.maximum(today - start, 0), 0)])
    held = np.concatenate([(packed >> _BITS) & _MASK, np.zeros(len(start), dtype=np.int64)])
    business = np.concatenate([(packed & _MASK) - 1, np.full(len(start), -1, dtype=np.int64)])
    reached = (status & _REACHED) > 0
    return TtfvObservations(
        keys={d: _text([*shut[i], *still[i]]) for i, d in enumerate(dimensions)},
        started=(status & _STARTED) > 0,
        reached=reached,
        stopped=(status & _STOPPED) > 0,
        days=days,
        business_days=business,
        net_days=np.where(reached, days - held, days),
        target=np.array([-1 if v is None else v for v in (*shut[n], *still[n])], dtype=np.int64),
        count=np.array([*shut[n + 2], *still[n + 2]], dtype=np.int64),
    )


def read_model_rows(values: Sequence[dict[str, Any]], undone: Sequence[dict[str, Any]] | None = None) -> TtfvRows:
    """Read-model rows (as ``ttfv_values`` makes them) as the core's columns: a project whose value (or skip)
    was undone has a row for each stretch of days (``TtfvRows``). ``undone``: the rows of
    ``project_ttfv_undone`` (default: those each row carries)."""
    return read_model_stretches(values, undone)[0]


def read_model_stretches(
    values: Sequence[dict[str, Any]], undone: Sequence[dict[str, Any]] | None = None
) -> tuple[TtfvRows, list[str]]:
    """``read_model_rows``, and the project of each row."""
    by_project: dict[str, list[dict[str, Any]]] = {}
    for u in undone if undone is not None else [u for v in values for u in v.get(UNDONE, ())]:
        by_project.setdefault(u["project_id"], []).append(u)
    stretches: list[dict[str, Any]] = []
    for v in values:
        since: date | None = None
        plain = {**v, "valid_from": None, "valid_until": None}
        for u in sorted(by_project.get(v["project_id"], ()), key=lambda u: int(u["closed_day"])):
            closed, until = _day(u["closed_day"]), _day(u["undone_day"])
            packed = int(u["observation"])
            reached = bool((packed >> (3 * _BITS)) & _REACHED)
            if since is None or since < closed:
                stretches.append(
                    {**plain, "value_on": None, "stopped_on": None, "valid_from": since, "valid_until": closed}
                )
            stretches.append(
                {
                    **plain,
                    "value_on": closed if reached else None,
                    "stopped_on": None if reached else closed,
                    "held_days": (packed >> _BITS) & _MASK,
                    "business_days": None if (packed & _MASK) == 0 else (packed & _MASK) - 1,
                    "valid_from": closed,
                    "valid_until": until,
                }
            )
            since = until
        stretches.append({**plain, "valid_from": since})
    rows = TtfvRows.build(
        blueprint=[v["blueprint_key"] for v in stretches],
        version=[f"{v['blueprint_key']}@{v['blueprint_version']}" for v in stretches],
        segment=[v["segment"] for v in stretches],
        owner=[v["owner"] for v in stretches],
        start=[v["start_on"] for v in stretches],
        value=[v["value_on"] for v in stretches],
        stopped=[v["stopped_on"] for v in stretches],
        held_days=[v["held_days"] for v in stretches],
        calendar=[0] * len(stretches),
        target=[v["target_calendar_days"] for v in stretches],
        business_days=[v["business_days"] for v in stretches],
        valid_from=[v["valid_from"] for v in stretches],
        valid_until=[v["valid_until"] for v in stretches],
    )
    return rows, [v["project_id"] for v in stretches]


def _day(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def _text(values: Sequence[str | None]) -> Any:
    return np.array([NONE_LABEL if v is None else v for v in values], dtype=np.str_)
