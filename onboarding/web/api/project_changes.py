"""The verbs of a live project over HTTP: cancel, recommit, rebind, note, and its event history.

``{project}`` is the project's id or its external id. Changes need a key with the
``write`` scope and are recorded under the key's name; the history needs ``read``.
A change may carry the ``version`` of the project it was decided on: when the
project changed since, it is refused with 409 (``concurrent-change``) and nothing is
written; without it, a change racing another is applied on the state that won,
never over it.

Not here: the rules (``core/lifecycle``, ``core/project_changes``), the use cases
(``services/projects``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.messages import Person
from onboarding.core.project_changes import MAX_HISTORY_LIMIT, HistoryEntry, HistoryQuery
from onboarding.core.projects import ProjectRecord
from onboarding.web.deps import App, Reader, Writer

router = APIRouter(prefix="/projects/{project}", tags=["project changes"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReasonedChange(_Body):
    reason: str = Field(description="Why; kept in the project's history.")
    on: date | None = Field(default=None, description="The day it happened (default: today).")
    version: int | None = Field(
        default=None, description="The project's version this change was decided on: refused (409) if it changed since."
    )


class Binding(_Body):
    name: str
    email: str
    time_zone: str = Field(default="UTC", description="An IANA zone, e.g. America/Chicago.")
    note: str | None = Field(default=None, description="Why; kept in the project's history.")
    version: int | None = None


class NoteBody(_Body):
    text: str
    task: str | None = Field(default=None, description="A task key of the project; none: a note on the project.")
    version: int | None = None


class PersonOut(BaseModel):
    name: str
    email: str
    time_zone: str


class ProjectChanged(BaseModel):
    """The project as the change left it."""

    id: str
    external_id: str | None
    state: str
    version: int
    committed_go_live_on: date | None
    launch_committed_go_live_on: date | None
    projected_go_live_on: date | None
    recommits: int
    bindings: dict[str, PersonOut]


class EventOut(BaseModel):
    seq: int = Field(description="Its position in the project's log (1: the first); the cursor of a page.")
    kind: str
    at: datetime
    actor: str
    task: str | None
    data: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    total: int = Field(description="Events matching the filters, on every page.")
    next_after: int | None = Field(description="Pass as `after` for the next page; null on the last.")


def _changed(project: ProjectRecord) -> ProjectChanged:
    return ProjectChanged(
        id=project.id,
        external_id=project.external_id,
        state=project.state.value,
        version=project.version,
        committed_go_live_on=project.committed_go_live_on,
        launch_committed_go_live_on=project.launch_commitment,
        projected_go_live_on=project.projected_go_live_on,
        recommits=project.recommits,
        bindings={
            role: PersonOut(name=p.name, email=p.email, time_zone=p.timezone)
            for role, p in sorted(project.bindings.items())
        },
    )


def _event(entry: HistoryEntry) -> EventOut:
    e = entry.event
    return EventOut(seq=entry.seq, kind=e.kind, at=e.at, actor=e.actor, task=e.task_key, data=dict(e.data))


@router.post("/cancel", response_model=ProjectChanged, summary="Cancel the project for good, with a reason")
def cancel(project: str, body: ReasonedChange, app: App, key: Writer) -> ProjectChanged:
    """Active or held projects only (409 otherwise). Its emails not yet delivered are suppressed; the sweep
    leaves it alone; reports count it apart."""
    changed = app.projects.cancel(project, reason=body.reason, on=body.on, by=key.name, expected_version=body.version)
    return _changed(changed)


@router.post("/recommit", response_model=ProjectChanged, summary="Accept the projected go-live as the new commitment")
def recommit(project: str, body: ReasonedChange, app: App, key: Writer) -> ProjectChanged:
    """409 (``nothing-to-recommit``) when the projected go-live is within the committed one."""
    changed = app.projects.recommit(project, reason=body.reason, on=body.on, by=key.name, expected_version=body.version)
    return _changed(changed)


@router.put("/bindings/{role}", response_model=ProjectChanged, summary="Bind another person to a role")
def rebind(project: str, role: str, body: Binding, app: App, key: Writer) -> ProjectChanged:
    """The emails decided from now on (nudges, status, digests, alerts) go to this person."""
    person = Person(body.name, body.email, body.time_zone)
    changed = app.projects.rebind(project, role, person, note=body.note, by=key.name, expected_version=body.version)
    return _changed(changed)


@router.post("/notes", response_model=EventOut, status_code=status.HTTP_201_CREATED, summary="A note in the history")
def add_note(project: str, body: NoteBody, app: App, key: Writer) -> EventOut:
    """A comment on the project or one of its tasks, kept in its history as a ``noted`` event."""
    event = app.projects.note(project, body.text, task=body.task, by=key.name, expected_version=body.version)
    seq = app.projects.history(project, HistoryQuery(newest_first=True, limit=1)).total
    return _event(HistoryEntry(seq, event))


@router.get("/events", response_model=EventPage, summary="The project's history, filtered and paged")
def events(
    project: str,
    app: App,
    _key: Reader,
    kind: Annotated[list[str] | None, Query(description="Event kinds; repeat for several.")] = None,
    task: str | None = None,
    since: Annotated[date | None, Query(description="On or after this day (UTC).")] = None,
    until: Annotated[date | None, Query(description="On or before this day (UTC).")] = None,
    by: Annotated[str | None, Query(description="Only what this actor did.")] = None,
    order: Literal["oldest", "newest"] = "oldest",
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_LIMIT)] = 100,
    after: Annotated[int | None, Query(ge=0, description="The `next_after` of the previous page.")] = None,
) -> EventPage:
    page = app.projects.history(
        project,
        HistoryQuery(
            kinds=tuple(kind or ()),
            task=task,
            since=since,
            until=until,
            actor=by,
            newest_first=order == "newest",
            limit=limit,
            after=after,
        ),
    )
    return EventPage(events=[_event(h) for h in page.entries], total=page.total, next_after=page.next_after)
