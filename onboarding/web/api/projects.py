"""Projects over HTTP: launch (safe to retry), list, read, move a task, hold and resume.

- ``POST /api/v1/projects`` launches. Safe to retry: the same ``external_id``, or the
  same ``Idempotency-Key`` header with the same body, answers the first launch (201
  when it made the project, 200 when it found it; a replayed key answers as the first
  request was answered, with ``Idempotent-Replayed: true``); another body, 409 naming
  each field that differs.
- ``GET /api/v1/projects`` lists by kickoff then id, a page at a time: ``next_cursor``
  in the body and a ``Link: <...>; rel="next"`` header.
- ``GET /api/v1/projects/{project}`` (an id or an external id) is ``onboarding status``.
- ``POST .../tasks/{task}/{action}``, ``POST .../hold`` and ``POST .../resume`` change it.
  Two changes of one project at once never lose one: the second is made on the state
  the first left, or refused with 409 (``concurrent-change``), never written over it.

Changes are recorded under the API key's name; a body's ``by`` (who did the work, for
a key shared by a team's tool) is recorded beside it as ``<by> via <key name>``.

Not here: launch, status and lifecycle rules (services and core).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.lifecycle import Action, ProjectState
from onboarding.core.messages import Person
from onboarding.core.plan_view import plan_document
from onboarding.core.projects import ProjectRecord, status_document
from onboarding.services.keys import ApiKey
from onboarding.services.launches import MAX_KEY_LENGTH
from onboarding.services.projects import LaunchRequest
from onboarding.web.api.bodies import ModelResponse
from onboarding.web.deps import App, Reader, Writer

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectRef = Annotated[str, Path(description="The project's id or external id.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonIn(_Strict):
    name: str | None = Field(None, max_length=200, description="Default: the email address.")
    email: str = Field(max_length=320)
    time_zone: str = Field("UTC", max_length=64, description="IANA name, e.g. America/Chicago.")


class LaunchIn(_Strict):
    blueprint: str = Field(description="A published blueprint's key (publish with `onboarding blueprint publish`).")
    blueprint_version: str | None = Field(None, description="Default: the latest published version.")
    customer: str = Field(min_length=1, max_length=200)
    kickoff_on: date
    pay_schedule: str | None = Field(None, description="e.g. biweekly:2026-01-02; default: the blueprint's.")
    bindings: dict[str, PersonIn] = Field(
        default_factory=dict,
        description="The blueprint's roles, each bound to a person; a vendor role left out takes the team's default.",
    )
    segment: str | None = Field(None, max_length=64)
    external_id: str | None = Field(None, min_length=1, max_length=128, description="Your CRM's id.")
    contract_signed_on: date | None = None
    customer_country: str | None = Field(
        None, max_length=8, description="The customer's own calendar: ISO 3166-1 country (default: the blueprint's)."
    )
    customer_subdivision: str | None = Field(None, max_length=32, description="Its state or region, e.g. QC.")
    customer_closed_days: list[date] = Field(default_factory=list, description="Days the customer is closed.")
    customer_time_zone: str | None = Field(None, max_length=64, description="IANA name, e.g. America/Toronto.")


class TaskChangeIn(_Strict):
    on: date | None = Field(None, description="The day it happened (default: today).")
    by: str | None = Field(None, max_length=100, description="Who did it; recorded beside the key's name.")
    reason: str | None = Field(None, max_length=2000)
    force: bool = Field(default=False, description="Record it though predecessors are not done.")
    force_date: bool = Field(default=False, description="Record a day the date rules refuse.")


class HoldIn(_Strict):
    on: date | None = None
    by: str | None = Field(None, max_length=100)
    reason: str | None = Field(None, max_length=2000)


class ResumeIn(_Strict):
    on: date | None = None
    by: str | None = Field(None, max_length=100)


class BlueprintOut(BaseModel):
    key: str
    version: str
    title: str


class GoLiveOut(BaseModel):
    committed_on: date | None
    projected_on: date
    in_committed_window: bool


class MilestoneOut(BaseModel):
    key: str
    title: str
    state: str
    start_on: date
    due_on: date


class TaskOut(BaseModel):
    key: str
    title: str
    milestone: str
    owner_role: str
    owner: str | None
    side: str
    state: str
    start_on: date = Field(description="Projected start.")
    due_on: date = Field(description="Projected due date.")
    target_due_on: date = Field(description="Expected by, given when its predecessors really finished.")
    started_on: date | None
    done_on: date | None
    overdue: bool
    critical: bool
    customer_visible: bool


class FailedEmailOut(BaseModel):
    id: int | None
    state: str
    kind: str
    subject: str
    to: list[str]
    attempts: int
    error: str


class WaitingEmailsOut(BaseModel):
    pending: int
    pending_since: datetime | None
    claimed: int
    claimed_since: datetime | None
    stranded: int
    stranded_since: datetime | None
    stranded_until: datetime | None


class ProjectOut(BaseModel):
    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint: BlueprintOut
    state: ProjectState
    version: int = Field(description="Grows by one with every change.")
    as_of: date
    kickoff_on: date
    finish_on: date
    go_live: GoLiveOut | None
    milestones: list[MilestoneOut]
    tasks: list[TaskOut]
    overdue: list[str]
    customer_calendar: dict[str, Any] | None = Field(
        None, description="The customer's own calendar and time zone given at launch (null: the blueprint's)."
    )


class ProjectStatusOut(ProjectOut):
    failed_emails: list[FailedEmailOut] = Field(description="Emails that failed or are held: resend them.")
    waiting_emails: WaitingEmailsOut


class LaunchOut(BaseModel):
    created: bool = Field(description="False: a launch with this external id or key answered before.")
    project: ProjectOut
    plan: dict[str, Any] = Field(
        description="The plan as launched: tasks with their dates, and go_live with the chosen day, the reason "
        "for it and every earlier date refused (rejected), as `onboarding plan --format json` prints it."
    )


class ProjectSummaryOut(BaseModel):
    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint: str
    blueprint_version: str
    state: ProjectState
    kickoff_on: date
    committed_go_live_on: date | None
    projected_go_live_on: date | None


class ProjectPageOut(BaseModel):
    projects: list[ProjectSummaryOut]
    next_cursor: str | None = Field(description="Ask again with cursor=this for the next page; null: no more.")


def _actor(key: ApiKey, by: str | None) -> str:
    return f"{by.strip()} via {key.name}" if by and by.strip() else key.name


def _project(project: ProjectRecord, app: App) -> ProjectOut:
    return ProjectOut.model_validate(status_document(project, today=app.clock.today()))


def _answer(project: ProjectRecord, app: App) -> ModelResponse:
    return ModelResponse(_project(project, app))


@router.post(
    "",
    status_code=201,
    response_model=LaunchOut,
    summary="Launch a project (safe to retry)",
    responses={200: {"model": LaunchOut, "description": "A launch with this external id or key answered before"}},
)
def launch(
    body: LaunchIn,
    app: App,
    key: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            max_length=MAX_KEY_LENGTH,
            description="A unique value per launch (a UUID), sent again on every retry of it.",
        ),
    ] = None,
) -> Response:
    blueprint = f"{body.blueprint}@{body.blueprint_version}" if body.blueprint_version else body.blueprint
    request = LaunchRequest(
        blueprint,
        customer=body.customer,
        kickoff_on=body.kickoff_on,
        bindings={role: Person(p.name or p.email, p.email, p.time_zone) for role, p in body.bindings.items()},
        pay_schedule=body.pay_schedule,
        segment=body.segment,
        external_id=body.external_id,
        contract_signed_on=body.contract_signed_on,
        customer_country=body.customer_country,
        customer_subdivision=body.customer_subdivision,
        customer_closed_days=tuple(body.customer_closed_days),
        customer_time_zone=body.customer_time_zone,
    )
    # A request from outside names a published blueprint: never a file on the server.
    result = app.launches.launch(request, actor=key.name, idempotency_key=idempotency_key, published_only=True)
    headers = {"Location": f"/api/v1/projects/{result.project.id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return ModelResponse(
        LaunchOut(created=result.created, project=_project(result.project, app), plan=plan_document(result.plan)),
        status_code=201 if result.created else 200,
        headers=headers,
    )


@router.get("", response_model=ProjectPageOut, summary="List projects, a page at a time")
def list_projects(
    request: Request,
    response: Response,
    app: App,
    _key: Reader,
    state: ProjectState | None = None,
    blueprint: Annotated[str | None, Query(description="A blueprint key.")] = None,
    segment: str | None = None,
    customer: Annotated[
        str | None, Query(max_length=200, description="Part of the customer's name, any case (% and _ as typed).")
    ] = None,
    at_risk: Annotated[  # noqa: FBT002 - a query parameter, never passed positionally
        bool,
        Query(
            description="Only projects at risk, as the portfolio report counts them: past their window, "
            "customer work overdue, blocked or on hold."
        ),
    ] = False,
    cursor: Annotated[str | None, Query(description="The previous page's next_cursor.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProjectPageOut:
    page = app.projects.page(
        state=state.value if state else None,
        blueprint=blueprint,
        segment=segment,
        customer=customer,
        at_risk=at_risk,
        cursor=cursor,
        limit=limit,
    )
    if page.next_cursor is not None:
        asked = {k: v for k, v in request.query_params.items() if k != "cursor"}
        following = f"{request.url.path}?{urlencode({**asked, 'cursor': page.next_cursor})}"
        response.headers["Link"] = f'<{following}>; rel="next"'
    return ProjectPageOut(
        projects=[
            ProjectSummaryOut(
                id=p.id,
                external_id=p.external_id,
                customer=p.customer,
                segment=p.segment,
                blueprint=p.blueprint_key,
                blueprint_version=p.blueprint_version,
                state=p.state,
                kickoff_on=p.kickoff_on,
                committed_go_live_on=p.committed_go_live_on,
                projected_go_live_on=p.projected_go_live_on,
            )
            for p in page.projects
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/{project}",
    response_model=ProjectStatusOut,
    summary="A project: milestones, tasks, go-live against the committed window, undelivered emails",
)
def read_project(project: ProjectRef, app: App, _key: Reader) -> Response:
    return ModelResponse(ProjectStatusOut.model_validate(app.status.status(project).as_json()))


@router.post("/{project}/tasks/{task}/{action}", response_model=ProjectOut, summary="Start, complete... a task")
def change_task(
    project: ProjectRef,
    task: str,
    action: Action,
    app: App,
    key: Writer,
    body: Annotated[TaskChangeIn | None, Body()] = None,
) -> Response:
    asked = body or TaskChangeIn()
    changed = app.projects.change_task(
        project,
        task,
        action,
        on=asked.on,
        by=_actor(key, asked.by),
        reason=asked.reason,
        force=asked.force,
        force_date=asked.force_date,
    )
    return _answer(changed, app)


@router.post("/{project}/hold", response_model=ProjectOut, summary="Put a project on hold")
def hold(project: ProjectRef, app: App, key: Writer, body: Annotated[HoldIn | None, Body()] = None) -> Response:
    asked = body or HoldIn()
    return _answer(app.projects.hold(project, on=asked.on, by=_actor(key, asked.by), reason=asked.reason), app)


@router.post("/{project}/resume", response_model=ProjectOut, summary="Resume a held project and re-forecast it")
def resume(project: ProjectRef, app: App, key: Writer, body: Annotated[ResumeIn | None, Body()] = None) -> Response:
    asked = body or ResumeIn()
    return _answer(app.projects.resume(project, on=asked.on, by=_actor(key, asked.by)), app)
