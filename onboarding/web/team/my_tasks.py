"""My tasks (``/team``): the signed-in member's open tasks across projects, and completing or blocking them.

The page lists the open tasks of the roles bound to the member's address in active
projects, overdue, due today and next (``TeamMemberService.my_tasks``). Each row's
forms POST to ``/team/tasks/{project}/{task}/{action}`` (complete, block with a
reason, unblock) and the change is the project service's, as the API's is, recorded
under the member's name. With htmx the answer is the row alone, swapped in place;
without, a redirect back to the page.

Not here: which tasks are whose and the grouping (``services/team_members``,
``core/team_members``), the project page (``/team/projects/{id}``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.core.lifecycle import Action
from onboarding.core.team_members import MemberTask
from onboarding.errors import OnboardingError, ProblemsError
from onboarding.web.problems import status_of
from onboarding.web.team.pages import render
from onboarding.web.team.session import CheckedForm, SignedIn

router = APIRouter(tags=["team pages"], include_in_schema=False)

HOME = "/team"
ACTIONS = {"complete": Action.complete, "block": Action.block, "unblock": Action.unblock}


def _application(request: Request) -> Application:
    app: Application = request.app.state.application
    return app


def _page(request: Request, member: SignedIn, *, status: int = 200, error: str | None = None) -> HTMLResponse:
    application = _application(request)
    return render(
        request,
        "team/my_tasks.html",
        status=status,
        tasks=application.team_members.my_tasks(member),
        today=application.clock.today(),
        error=error,
        row_error=None,
        done=None,
        missing=None,
    )


@router.get(HOME, response_class=HTMLResponse)
def my_tasks(request: Request, member: SignedIn) -> HTMLResponse:
    return _page(request, member)


def _said(error: OnboardingError) -> str:
    """What a person is told of a refused change: the problems' messages, with their hints."""
    if isinstance(error, ProblemsError) and error.problems:
        return " ".join(
            f"{p.message[0].upper()}{p.message[1:]}" + (f" ({p.hint})." if p.hint else ".") for p in error.problems
        )
    return "The change could not be made."


@router.post("/team/tasks/{project_id}/{task_key}/{action}")
async def change_task(
    request: Request, project_id: str, task_key: str, action: str, member: SignedIn, form: CheckedForm
) -> Response:
    """Complete, block (with a reason) or unblock a task from My tasks: the row again (htmx), else back."""
    htmx = bool(request.headers.get("HX-Request"))
    application = _application(request)
    reason = form.get("reason", "").strip() or None
    task: MemberTask | None = None
    if action not in ACTIONS:
        return render(
            request,
            "team/refused.html",
            status=404,
            heading="There is no such action",
            explanation="My tasks completes, blocks and unblocks tasks; nothing else.",
            advice="Go back to My tasks and use its buttons.",
        )
    try:
        task = await run_in_threadpool(
            application.team_members.change_task, member, project_id, task_key, ACTIONS[action], reason=reason
        )
    except OnboardingError as error:
        if htmx:  # htmx swaps only a 2xx: the row says what went wrong, in place
            before = await run_in_threadpool(_row_of, application, member, project_id, task_key)
            return render(
                request,
                "team/_task_row.html",
                task=before,
                today=application.clock.today(),
                row_error=_said(error),
                done=None,
                missing=(project_id, task_key),
            )
        return _page(request, member, status=status_of(error), error=_said(error))
    if not htmx:
        return RedirectResponse(HOME, status_code=303, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "team/_task_row.html",
        task=task,
        today=application.clock.today(),
        row_error=None,
        done=None if task is not None else _done_title(application, project_id, task_key),
        missing=(project_id, task_key),
    )


def _row_of(application: Application, member: SignedIn, project_id: str, task_key: str) -> MemberTask | None:
    tasks = application.team_members.my_tasks(member)
    return next(
        (
            t
            for t in (*tasks.overdue, *tasks.today, *tasks.next)
            if (t.project_id, t.task_key) == (project_id, task_key)
        ),
        None,
    )


def _done_title(application: Application, project_id: str, task_key: str) -> str:
    project = application.projects.get(project_id)
    return f"{project.task(task_key).title} ({project.customer})"
