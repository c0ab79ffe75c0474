"""The team's project page: a project's plan, timeline and history, and the changes the team makes to it.

``GET /team/projects/{id}`` (signed in) shows the milestones and tasks (state,
owner, target and projected dates, slack, critical path), the go-live with why
that date and the committed window, the timeline (``web/timeline.py``), the event
history, and a form for each change. Every form carries the team's CSRF token and
the project version the page showed, so a change made on a page that is out of
date is refused rather than applied to a state nobody saw.

Changes that may move dates (a task started, completed, skipped, blocked,
unblocked or reopened; the project held or resumed) POST to ``.../preview``
first, which computes, and stores nothing of, what they would do
(``ProjectService.preview_*``): when some date moves, it shows which (before and
after) and whether the go-live leaves its committed window, with Confirm (a POST
to ``.../changes`` that applies it) and Cancel; when none does, it applies the
change at once. Cancel, recommit and rebind (managers and admins only) and notes
move no date and apply at once. After a change the browser is sent back to the
project page (303), which shows the re-forecast.

A change the engine refuses (a bad date, a task not found, a task already done,
a page out of date) shows the page again with what was wrong and what to do.

Not here: signing in, sessions and CSRF (``team/session.py``), the page frame
(``team/pages.py``), the rules (services and core).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.core.lifecycle import TRANSITIONS, Action, Event, ProjectState
from onboarding.core.messages import Person
from onboarding.core.project_changes import HistoryQuery
from onboarding.core.team_members import TeamMember
from onboarding.errors import ChangeConflict, OnboardingError, ProblemsError, ProjectNotFound
from onboarding.services.projects import ChangePreview
from onboarding.web.team import CheckedForm, Manager, SignedIn, render
from onboarding.web.timeline import timeline_svg

router = APIRouter(prefix="/team/projects", tags=["pages"], include_in_schema=False)

HISTORY_SHOWN = 50
PROJECT_CHANGES = ("hold", "resume")  # changes of the project that may move dates; the rest are task actions
TASK_ACTIONS = tuple(a.value for a in Action)
ACTION_WORDS = {
    "start": "Start",
    "complete": "Complete",
    "skip": "Skip",
    "block": "Block",
    "unblock": "Unblock",
    "reopen": "Reopen",
    "hold": "Put on hold",
    "resume": "Resume",
}


@dataclass(frozen=True, slots=True)
class DatedChange:
    """A change that may move dates, as its form gives it: what, to which task, on which day, why."""

    change: str  # a task action, "hold" or "resume"
    task: str | None
    on: date | None
    reason: str | None
    version: int | None

    @property
    def words(self) -> str:
        return ACTION_WORDS.get(self.change, self.change)


class FormInvalid(Exception):
    """A field of a team form that cannot be read: said next to the form, nothing changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _day(fields: Mapping[str, str], name: str = "on") -> date | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FormInvalid(f"{text[:40]!r} is not a day: give it as YYYY-MM-DD, or leave it empty for today") from None


def _version(fields: Mapping[str, str]) -> int | None:
    text = fields.get("version", "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise FormInvalid("the page sent a version that is not a number: open the project page again")
    return int(text)


def _text(fields: Mapping[str, str], name: str) -> str | None:
    text = fields.get(name, "").strip()
    return text or None


def dated_change(fields: Mapping[str, str]) -> DatedChange:
    change = fields.get("change", "").strip()
    if change not in TASK_ACTIONS and change not in PROJECT_CHANGES:
        raise FormInvalid(f"no change {change[:40]!r}: choose one of the page's buttons")
    task = _text(fields, "task")
    if change in TASK_ACTIONS and task is None:
        raise FormInvalid("choose the task to change")
    return DatedChange(
        change=change,
        task=task if change in TASK_ACTIONS else None,
        on=_day(fields),
        reason=_text(fields, "reason"),
        version=_version(fields),
    )


def allowed_actions(state: ProjectState) -> dict[str, list[str]]:
    """The task actions a task in each state offers (the lifecycle's table; on hold, only a block)."""
    if state is ProjectState.cancelled:
        return {}
    allowed: dict[str, list[str]] = {}
    for task_state, action in TRANSITIONS:
        if state is ProjectState.on_hold and action is not Action.block:
            continue
        allowed.setdefault(task_state.value, []).append(action.value)
    return allowed


def _actor(member: TeamMember) -> str:
    """Who the history says made the change: the signed-in member's name (as My tasks records it)."""
    return member.name


# -- the page ------------------------------------------------------------------------------------------------------


def project_page(
    request: Request,
    application: Application,
    project_id: str,
    member: TeamMember,
    *,
    status: int = 200,
    problems: tuple[str, ...] = (),
    notice: str | None = None,
) -> HTMLResponse:
    """The project page, with ``problems`` (what a refused change got wrong) said at the top."""
    try:
        view = application.projects.plan_view(project_id)
        history = application.projects.history(view.project_id, HistoryQuery(newest_first=True, limit=HISTORY_SHOWN))
        project = application.projects.get(view.project_id)
    except ProjectNotFound:
        return not_found(request, project_id)
    roles = application.projects.blueprint_of(project).blueprint.roles
    return render(
        request,
        "team/project.html",
        status=status,
        view=view,
        timeline=Markup(timeline_svg(view)),  # noqa: S704 - every text in it is escaped by timeline_svg
        history=history,
        people=sorted(project.bindings.items()),
        roles=roles,
        problems=problems,
        notice=notice,
        manager=member.role.manages,
        actions=ACTION_WORDS,
        allowed=allowed_actions(view.state),
        task_actions=TASK_ACTIONS,
        changeable=view.state is not ProjectState.cancelled,
        summary=event_summary,
    )


SUMMARY_LEFT_OUT = frozenset({"closed_tasks", "binding_sources", "customer_calendar", "causes"})


def event_summary(event: Event) -> str:
    """What an entry of the history says beyond its kind, task, time and actor, in one line."""
    parts: list[str] = []
    for key, value in event.data.items():
        if key in SUMMARY_LEFT_OUT or value in (None, "", {}, []):
            continue
        if key == "moved" and isinstance(value, Mapping):
            parts.append(f"{len(value)} task{'s' if len(value) != 1 else ''} moved")
        elif isinstance(value, Mapping):
            shown = value.get("name") or value.get("email") or ", ".join(f"{k} {v}" for k, v in value.items())
            parts.append(f"{key.replace('_', ' ')}: {shown}")
        else:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return "; ".join(parts)


def not_found(request: Request, project_id: str) -> HTMLResponse:
    return render(request, "team/project_not_found.html", status=404, project_id=project_id)


def refused(error: OnboardingError | FormInvalid) -> tuple[str, ...]:
    """What a refused change got wrong, each with what to do, in words for the page."""
    if isinstance(error, FormInvalid):
        return (error.message,)
    if isinstance(error, ProblemsError) and error.problems:
        return tuple(f"{p.message}" + (f": {p.hint}" if p.hint else "") for p in error.problems)
    return (str(error),)


def _status(error: OnboardingError | FormInvalid) -> int:
    if isinstance(error, ChangeConflict):
        return 409
    return 400


async def refused_page(
    request: Request,
    application: Application,
    project_id: str,
    member: TeamMember,
    error: OnboardingError | FormInvalid,
) -> HTMLResponse:
    """The project page again, saying what was wrong with the change (nothing of it was stored)."""
    page = partial(
        project_page, request, application, project_id, member, status=_status(error), problems=refused(error)
    )
    return await run_in_threadpool(page)


def back_to(project_id: str, *, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/team/projects/{project_id}{anchor}", status_code=303)


@router.get("/{project_id}", response_class=HTMLResponse)
def show(request: Request, project_id: str, member: SignedIn) -> HTMLResponse:
    """The project page (changes nothing)."""
    application: Application = request.app.state.application
    return project_page(request, application, project_id, member)


# -- changes that may move dates: preview, then apply ----------------------------------------------------------------


def _preview(application: Application, project_id: str, change: DatedChange, actor: str) -> ChangePreview:
    projects = application.projects
    if change.change == "hold":
        return projects.preview_hold(project_id, on=change.on, by=actor, reason=change.reason)
    if change.change == "resume":
        return projects.preview_resume(project_id, on=change.on, by=actor)
    assert change.task is not None  # noqa: S101 - dated_change requires it
    return projects.preview_task_change(
        project_id, change.task, Action(change.change), on=change.on, by=actor, reason=change.reason
    )


def _apply(application: Application, project_id: str, change: DatedChange, actor: str, version: int | None) -> None:
    projects = application.projects
    if change.change == "hold":
        projects.hold(project_id, on=change.on, by=actor, reason=change.reason, expected_version=version)
    elif change.change == "resume":
        projects.resume(project_id, on=change.on, by=actor, expected_version=version)
    else:
        assert change.task is not None  # noqa: S101 - dated_change requires it
        projects.change_task(
            project_id,
            change.task,
            Action(change.change),
            on=change.on,
            by=actor,
            reason=change.reason,
            expected_version=version,
        )


@router.post("/{project_id}/preview", response_class=HTMLResponse)
async def preview(request: Request, project_id: str, member: SignedIn, fields: CheckedForm) -> Response:
    """What the change would move (nothing stored); applied at once when it moves nothing."""
    application: Application = request.app.state.application
    actor = _actor(member)
    try:
        change = dated_change(fields)
        previewed = await run_in_threadpool(_preview, application, project_id, change, actor)
        if previewed.dates.moves_nothing:
            version = change.version if change.version is not None else previewed.project.version
            await run_in_threadpool(_apply, application, project_id, change, actor, version)
            return back_to(project_id)
    except ProjectNotFound:
        return not_found(request, project_id)
    except (OnboardingError, FormInvalid) as error:
        return await refused_page(request, application, project_id, member, error)
    task_title = None
    if change.task is not None:
        task_title = next((t.title for t in previewed.project.tasks if t.key == change.task), change.task)
    return render(
        request,
        "team/preview.html",
        project=previewed.project,
        dates=previewed.dates,
        change=change,
        task_title=task_title,
        version=change.version if change.version is not None else previewed.project.version,
    )


@router.post("/{project_id}/changes", response_class=HTMLResponse)
async def apply_change(request: Request, project_id: str, member: SignedIn, fields: CheckedForm) -> Response:
    """Apply a previewed change (the preview page's Confirm), at the version the preview was made on."""
    application: Application = request.app.state.application
    try:
        change = dated_change(fields)
        await run_in_threadpool(_apply, application, project_id, change, _actor(member), change.version)
    except ProjectNotFound:
        return not_found(request, project_id)
    except (OnboardingError, FormInvalid) as error:
        return await refused_page(request, application, project_id, member, error)
    return back_to(project_id)


# -- changes that move no date: at once ------------------------------------------------------------------------------


async def _at_once(
    request: Request, project_id: str, member: TeamMember, fields: Mapping[str, str], verb: str
) -> Response:
    application: Application = request.app.state.application
    actor = _actor(member)
    try:
        version = _version(fields)
        projects = application.projects
        if verb == "cancel":
            reason = fields.get("reason", "")
            await run_in_threadpool(
                lambda: projects.cancel(project_id, reason=reason, by=actor, expected_version=version)
            )
        elif verb == "recommit":
            reason = fields.get("reason", "")
            await run_in_threadpool(
                lambda: projects.recommit(project_id, reason=reason, by=actor, expected_version=version)
            )
        elif verb == "rebind":
            role = fields.get("role", "").strip()
            person = Person(fields.get("name", "").strip(), fields.get("email", "").strip())
            note = _text(fields, "note")
            await run_in_threadpool(
                lambda: projects.rebind(project_id, role, person, note=note, by=actor, expected_version=version)
            )
        else:
            text, task = fields.get("text", ""), _text(fields, "task")
            await run_in_threadpool(
                lambda: projects.note(project_id, text, task=task, by=actor, expected_version=version)
            )
    except ProjectNotFound:
        return not_found(request, project_id)
    except (OnboardingError, FormInvalid) as error:
        return await refused_page(request, application, project_id, member, error)
    return back_to(project_id, anchor="#history" if verb == "note" else "")


@router.post("/{project_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, project_id: str, member: Manager, fields: CheckedForm) -> Response:
    """Cancel the project for good, with a reason (managers and admins)."""
    return await _at_once(request, project_id, member, fields, "cancel")


@router.post("/{project_id}/recommit", response_class=HTMLResponse)
async def recommit(request: Request, project_id: str, member: Manager, fields: CheckedForm) -> Response:
    """Accept the projected go-live as the commitment, with a reason (managers and admins)."""
    return await _at_once(request, project_id, member, fields, "recommit")


@router.post("/{project_id}/rebind", response_class=HTMLResponse)
async def rebind(request: Request, project_id: str, member: Manager, fields: CheckedForm) -> Response:
    """Bind another person to a role, with a note (managers and admins)."""
    return await _at_once(request, project_id, member, fields, "rebind")


@router.post("/{project_id}/notes", response_class=HTMLResponse)
async def add_note(request: Request, project_id: str, member: SignedIn, fields: CheckedForm) -> Response:
    """Record a note on the project or one of its tasks."""
    return await _at_once(request, project_id, member, fields, "note")
