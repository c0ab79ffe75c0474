"""The manager reports' questions to the database, and the TTFV read model they are answered from.

The TTFV figures come from the event log. Folding 250,000 projects' events at
every report would take far longer than the report may, so each project keeps one
row in ``project_ttfv``: its facts folded from its whole event history by
``core.metrics.ttfv_facts``, rewritten in the same transaction as every event the
project appends (``SqlProjectStore.create_many`` and ``save`` call
``write_ttfv``). ``rebuild_ttfv`` folds every project's events again from
scratch (after a change of definition, or to check the read model); a test
holds the two equal for random histories.

The report then reads one narrow row per project in one query (dates as they are
stored, no ORM objects) and hands numpy columns to the core. The portfolio report
reads projects, their tasks and the days their blocks began in three queries.

Not here: the figures themselves (core/metrics.py), which calendar a snapshot
uses (services/reports.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import yaml
from sqlalchemy import Connection, Engine, String, delete, insert, select, type_coerce

from onboarding.adapters.store.tables import Base
from onboarding.core.blueprint import TTFV
from onboarding.core.lifecycle import Event
from onboarding.core.messages import Person
from onboarding.core.metrics import (
    NONE_LABEL,
    OWNER_ROLE,
    PortfolioProject,
    PortfolioTask,
    TtfvRows,
    customer_timezone,
    ttfv_facts,
)
from onboarding.core.projects import ProjectRecord
from onboarding.services.ports import TtfvInput

project_ttfv = Base.metadata.tables["project_ttfv"]
projects = Base.metadata.tables["projects"]
blueprints = Base.metadata.tables["blueprints"]
bindings = Base.metadata.tables["bindings"]
tasks = Base.metadata.tables["tasks"]
events = Base.metadata.tables["events"]

_BATCH = 5000


def blueprint_id_of(text: str) -> str:
    """A snapshot's id: the SHA-256 of its text (as ``SqlProjectStore`` keeps it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TtfvDefinitions:
    """Each snapshot's TTFV definition, read once (the text was checked when the project was launched)."""

    def __init__(self) -> None:
        self._known: dict[str, TTFV] = {}

    def of(self, blueprint_id: str, text: str) -> TTFV:
        if blueprint_id not in self._known:
            document = yaml.safe_load(text)
            section = document.get("ttfv") if isinstance(document, dict) else None
            self._known[blueprint_id] = TTFV.model_validate(section or {})
        return self._known[blueprint_id]


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
    definition: TTFV,
) -> dict[str, Any]:
    """The read-model row of one project."""
    timezone = customer_timezone(owners, {role: p.timezone for role, p in people.items()})
    facts = ttfv_facts(
        history,
        value_task=value_task,
        start_event=definition.start_event,
        kickoff_on=kickoff_on,
        timezone=timezone,
    )
    reached = facts.start_on is not None and facts.value_on is not None
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
        "calendar_days": (facts.value_on - facts.start_on).days if reached else None,  # type: ignore[operator]
        "held_days": facts.held_days,
        "held_since": facts.held_since,
        "target_calendar_days": definition.target_calendar_days,
    }


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
        definition=definitions.of(blueprint_id, project.blueprint_text),
    )


def write_ttfv(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the read-model rows of these projects (inside the caller's transaction)."""
    if not rows:
        return
    ids = [r["project_id"] for r in rows]
    for start in range(0, len(ids), _BATCH):
        connection.execute(delete(project_ttfv).where(project_ttfv.c.project_id.in_(ids[start : start + _BATCH])))
    connection.execute(insert(project_ttfv), list(rows))


def history_of(connection: Connection, project_id: str) -> list[Event]:
    rows = connection.execute(
        select(events.c.kind, events.c.at, events.c.actor, events.c.task_key, events.c.data)
        .where(events.c.project_id == project_id, events.c.kind.in_(_TTFV_EVENT_KINDS))
        .order_by(events.c.id)
    )
    return [Event(r.kind, _aware(r.at), r.actor, r.task_key, r.data or {}) for r in rows]


def rebuild_ttfv(connection: Connection) -> int:
    """Fold every project's events again and replace the whole read model; returns how many projects."""
    definitions = TtfvDefinitions()
    texts = {r.id: r.text for r in connection.execute(select(blueprints.c.id, blueprints.c.text))}
    people: dict[str, dict[str, Person]] = {}
    for b in connection.execute(select(bindings.c.project_id, bindings.c.role, bindings.c.name, bindings.c.timezone)):
        people.setdefault(b.project_id, {})[b.role] = Person(b.name, "", b.timezone)
    owners: dict[str, list[_Owner]] = {}
    value_tasks: dict[str, str] = {}
    owner_rows = connection.execute(
        select(
            tasks.c.project_id, tasks.c.key, tasks.c.position, tasks.c.owner_role, tasks.c.side, tasks.c.first_value
        ).where((tasks.c.side == "customer") | tasks.c.first_value)
    )
    for t in owner_rows:
        owners.setdefault(t.project_id, []).append(_Owner(t.position, t.owner_role, t.side, bool(t.first_value)))
        if t.first_value:
            value_tasks[t.project_id] = t.key
    histories: dict[str, list[Event]] = {}
    event_rows = connection.execute(
        select(events.c.project_id, events.c.kind, events.c.at, events.c.actor, events.c.task_key, events.c.data)
        .where(events.c.kind.in_(_TTFV_EVENT_KINDS))
        .order_by(events.c.project_id, events.c.id)
    )
    for e in event_rows:
        histories.setdefault(e.project_id, []).append(Event(e.kind, _aware(e.at), e.actor, e.task_key, e.data or {}))
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
            definition=definitions.of(p.blueprint_id, texts[p.blueprint_id]),
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
    connection.execute(delete(project_ttfv))
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(project_ttfv), rows[start : start + _BATCH])
    return len(rows)


# What the fold reads; other kinds (reforecasts, window jumps, nudges) never change a TTFV fact.
_TTFV_EVENT_KINDS = (
    "project_launched",
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

    def ttfv_rows(self, *, since: date | None = None, until: date | None = None) -> TtfvInput:
        t = project_ttfv
        # Dates come back as the driver gives them (ISO text on SQLite, dates on PostgreSQL): numpy reads
        # both, and no per-row conversion runs in Python.
        query = select(
            t.c.blueprint_id,
            t.c.blueprint_key,
            t.c.blueprint_version,
            t.c.segment,
            t.c.owner,
            type_coerce(t.c.start_on, String),
            type_coerce(t.c.value_on, String),
            type_coerce(t.c.stopped_on, String),
            t.c.held_days,
            t.c.target_calendar_days,
        )
        if since is not None:
            query = query.where(t.c.start_on >= since)
        if until is not None:
            query = query.where(t.c.start_on <= until)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return ttfv_input(rows)

    def snapshots(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        query = select(blueprints.c.id, blueprints.c.text, blueprints.c.source)
        if ids is not None:
            query = query.where(blueprints.c.id.in_(sorted(set(ids))))
        with self.engine.connect() as connection:
            return {r.id: (r.text, r.source) for r in connection.execute(query)}

    def portfolio_projects(
        self, *, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> list[PortfolioProject]:
        with self.engine.connect() as connection:
            project_rows = connection.execute(
                select(
                    projects.c.id,
                    projects.c.external_id,
                    projects.c.customer,
                    projects.c.blueprint_key,
                    projects.c.blueprint_id,
                    projects.c.state,
                    projects.c.kickoff_on,
                    projects.c.committed_go_live_on,
                    projects.c.projected_go_live_on,
                    project_ttfv.c.owner,
                    project_ttfv.c.held_since,
                )
                .outerjoin(project_ttfv, project_ttfv.c.project_id == projects.c.id)
                .order_by(projects.c.id)
            ).all()
            blocked_since: dict[tuple[str, str], date] = {}
            block_rows = connection.execute(
                select(events.c.project_id, events.c.task_key, events.c.data)
                .join(tasks, (tasks.c.project_id == events.c.project_id) & (tasks.c.key == events.c.task_key))
                .where(tasks.c.state == "blocked", events.c.kind == "task_blocked")
                .order_by(events.c.id)
            )
            for b in block_rows:
                blocked_since[(b.project_id, b.task_key)] = date.fromisoformat(str(b.data["on"]))
            by_project: dict[str, list[PortfolioTask]] = {}
            task_rows = connection.execute(
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
                ).order_by(tasks.c.project_id, tasks.c.position)
            )
            graph_of = {p.id: predecessors.get(p.blueprint_id, {}) for p in project_rows}
            for r in task_rows:
                by_project.setdefault(r.project_id, []).append(
                    PortfolioTask(
                        key=r.key,
                        title=r.title,
                        milestone_key=r.milestone_key,
                        milestone_title=r.milestone_title,
                        side=r.side,
                        state=r.state,
                        started_on=r.started_on,
                        done_on=r.done_on,
                        target_due_on=r.target_due_on,
                        launch=bool(r.launch),
                        predecessors=graph_of.get(r.project_id, {}).get(r.key, ()),
                        blocked_since=blocked_since.get((r.project_id, r.key)),
                    )
                )
        return [
            PortfolioProject(
                project_id=p.id,
                external_id=p.external_id,
                customer=p.customer,
                blueprint_key=p.blueprint_key,
                owner=p.owner or NONE_LABEL,
                state=p.state,
                kickoff_on=p.kickoff_on,
                committed_go_live_on=p.committed_go_live_on,
                projected_go_live_on=p.projected_go_live_on,
                tasks=tuple(by_project.get(p.id, ())),
                held_since=p.held_since,
            )
            for p in project_rows
        ]


def ttfv_input(rows: Sequence[Sequence[Any]]) -> TtfvInput:
    """Numpy columns from the read model's rows (blueprint id, key, version, segment, owner, start, value,
    stopped, held days, target), with each row's snapshot as an index into the snapshot ids."""
    if not rows:
        columns: list[Sequence[Any]] = [[] for _ in range(10)]
    else:
        columns = list(zip(*rows, strict=True))
    snapshot_ids, calendar = np.unique(np.array(columns[0], dtype=np.str_), return_inverse=True)
    key = np.array(columns[1], dtype=np.str_)
    version = np.char.add(np.char.add(key, "@"), np.array(columns[2], dtype=np.str_)) if len(key) else key
    return TtfvInput(
        rows=TtfvRows(
            blueprint=key,
            version=version,
            segment=_text(columns[3]),
            owner=_text(columns[4]),
            start=np.array(columns[5], dtype="datetime64[D]"),
            value=np.array(columns[6], dtype="datetime64[D]"),
            stopped=np.array(columns[7], dtype="datetime64[D]"),
            held_days=np.array(columns[8], dtype=np.int64),
            calendar=calendar.reshape(-1).astype(np.int64),
            target=np.array([-1 if v is None else v for v in columns[9]], dtype=np.int64),
        ),
        snapshots=tuple(str(s) for s in snapshot_ids),
    )


def _text(values: Sequence[str | None]) -> Any:
    return np.array([NONE_LABEL if v is None else v for v in values], dtype=np.str_)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
