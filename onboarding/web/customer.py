"""The customer pages: where the links in customer emails lead (``/c/{token}...``), with no account.

- ``GET /c/{token}``: the person's status page: go-live and why, the committed
  window and why it moved, what we need from them (each task with Done, Stuck and
  Snooze), milestones with progress, a timeline.
- ``GET /c/{token}/tasks/{task}/done|stuck|snooze``: a confirmation form; it changes
  nothing, whoever opens it (mail scanners and link previews open every link).
  Its ``POST`` records the change through the service, with the person's name as
  actor. The form carries an anti-forgery value made for that link, action and task
  (``core/customer_links.form_token``); a POST without it, or from another site's
  page (an ``Origin`` that is not this server's), is refused and changes nothing.
- ``GET /c/{token}/project.ics`` and ``/c/{token}/mine.ics``: the calendar feeds.

The signed token is the permission. A link that is altered, revoked, expired, or
names a task already done gets a page that says what happened and what to do (never
a stack trace); HEAD answers as GET does without a body.

Every page is rendered on the server (jinja2, autoescaped, ``templates/customer/``)
and sent with a Content-Security-Policy that allows nothing but its own nonce'd
style and forms posting back here; ``frame-ancestors`` is the
``ONBOARDING_FRAME_ANCESTORS`` setting (``'none'`` by default), so a vendor may
show the status page in its customer portal. No referrer (the URL holds the token),
no caching.

Not here: tokens, what a customer may see or do (``CustomerLinkService``, core).
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.core.customer_links import action_path, person_calendar_path, project_calendar_path, status_path
from onboarding.core.customer_status import CUSTOMER_ACTIONS
from onboarding.errors import (
    CustomerActionRefused,
    CustomerLinkRefused,
    OnboardingError,
    ProblemsError,
    TransitionRefused,
)
from onboarding.services.customer_links import CustomerActionDone, CustomerLinkService, TaskAsk
from onboarding.web.templating import day_words, page_templates

router = APIRouter(tags=["pages"], include_in_schema=False)

_LARGEST_FORM: Final = 16 * 1024
_FORM: Final = "application/x-www-form-urlencoded"


def _day(value: date | None) -> str:
    if value is None:
        return ""
    return day_words(value)


@cache
def _templates() -> jinja2.Environment:
    return page_templates(day=_day)


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    application: Application = request.app.state.application
    nonce = secrets.token_urlsafe(16)
    html = _templates().get_template(template).render(product=application.settings.sender_name, nonce=nonce, **context)
    return HTMLResponse(html, status_code=status, headers=headers(application, nonce=nonce))


def headers(application: Application, *, nonce: str) -> dict[str, str]:
    """The headers of every customer page: a strict CSP (frames as the setting allows), no referrer, no cache."""
    ancestors = application.settings.frame_ancestors
    found = {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
            f"frame-ancestors {ancestors}; base-uri 'none'"
        ),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if ancestors == "'none'":
        found["X-Frame-Options"] = "DENY"  # for browsers that predate frame-ancestors
    return found


# What a person is told of each refusal: a heading, what it means, what to do.
_REFUSALS: Final[dict[str, tuple[str, str, str]]] = {
    "customer-link-invalid": (
        "This link is not valid",
        "The link was not made by us, or part of it was changed or lost when it was copied.",
        "Open the link straight from the email, or copy all of it. If it still fails, reply to the email and we "
        "will send you a new one.",
    ),
    "customer-link-revoked": (
        "This link was replaced",
        "The links to this onboarding were renewed after this one was sent, so it no longer opens.",
        "Use the link in the latest email about your onboarding, or reply to any of our emails for a new one.",
    ),
    "customer-link-expired": (
        "This onboarding has ended",
        "The onboarding this link belongs to is finished or was stopped, so its links no longer open.",
        "If you need anything about it, reply to any of our emails: it reaches your contact.",
    ),
    "customer-not-on-project": (
        "This link is no longer yours to use",
        "The person this link was made for is no longer a contact on this onboarding.",
        "Ask your contact at the vendor to add you, or to send a link to whoever took over.",
    ),
    "task-not-yours": (
        "This task is not on your list",
        "The link names a task that is not one we need from you.",
        "Open your status page to see the tasks we need from you.",
    ),
    "task-not-open": (
        "Nothing more is needed for this task",
        "The task is already done or closed.",
        "Your status page shows what is left, if anything.",
    ),
    "predecessors-not-done": (
        "This task cannot be marked done yet",
        "It waits for earlier steps of the onboarding that are not finished yet.",
        "If it really is done, reply to any of our emails: your contact will record it.",
    ),
    "date-before-start": (
        "This task cannot be marked done today",
        "The plan has it start after steps that are not finished yet.",
        "If it really is done, reply to any of our emails: your contact will record it.",
    ),
    "date-before-predecessor": (
        "This task cannot be marked done today",
        "The plan has it start after steps that are not finished yet.",
        "If it really is done, reply to any of our emails: your contact will record it.",
    ),
    "invalid-transition": (
        "This was already recorded",
        "The task is already reported stuck, or where it stands does not allow this change.",
        "Your status page shows where it stands; reply to any of our emails if something is wrong.",
    ),
    "date-before-kickoff": (
        "Your onboarding has not started yet",
        "Its tasks can be marked from its kickoff day on.",
        "Come back from then, or reply to any of our emails if something is in the way already.",
    ),
    "project-on-hold": (
        "Your onboarding is paused",
        "The onboarding is on hold, so its tasks do not change for now.",
        "Reply to any of our emails to ask when it resumes.",
    ),
    "forged-form": (
        "Please confirm again",
        "We could not tell that this came from the confirmation page we sent (it may have expired, or come from "
        "another site).",
        "Open the link from the email again and press the button on that page.",
    ),
    "project-not-found": (
        "This onboarding is not known here",
        "The link is valid, but the onboarding it names is not kept on this server.",
        "Reply to any of our emails and we will help.",
    ),
}
_GENERIC: Final = (
    "We could not do that just now",
    "Something on our side failed while reading the link.",
    "Try again in a few minutes, or reply to any of our emails.",
)
_CHANGE_REFUSED: Final = (  # a change the plan's rules refuse, with no words of its own above
    "This cannot be recorded now",
    "Where the onboarding stands does not allow this change today.",
    "Your status page shows where things stand; reply to any of our emails if something is wrong.",
)


def _refused(
    request: Request,
    code: str,
    *,
    status: int,
    detail: str | None = None,
    back: str | None = None,
    otherwise: tuple[str, str, str] = _GENERIC,
) -> HTMLResponse:
    heading, explanation, advice = _REFUSALS.get(code, otherwise)
    return _page(
        request,
        "customer/refused.html",
        status=status,
        heading=heading,
        explanation=detail or explanation,
        advice=advice,
        code=code,
        back=back,
    )


def error_page(request: Request, *, status: int, words: tuple[str, str, str], code: str) -> HTMLResponse:
    """A customer page's answer to a request no route of theirs answers (``problems``): a page, not a document."""
    heading, explanation, advice = words
    return _page(
        request, "customer/refused.html", status=status, heading=heading, explanation=explanation, advice=advice,
        code=code, back=None,
    )  # fmt: skip


def _refusal(request: Request, error: OnboardingError, *, token: str) -> HTMLResponse:
    code = error.codes[0] if isinstance(error, ProblemsError) and error.codes else "invalid-request"
    if isinstance(error, CustomerLinkRefused):
        return _refused(request, code, status=410 if code == "customer-link-expired" else 403)
    if isinstance(error, CustomerActionRefused):
        message = error.problems[0].message if isinstance(error, ProblemsError) and error.problems else None
        detail = message[0].upper() + message[1:] + "." if message and code == "task-not-open" else None
        return _refused(request, code, status=409 if code == "task-not-open" else 404, detail=detail, back=token)
    if isinstance(error, TransitionRefused):  # said in the page's own words: the engine's would name task keys
        return _refused(request, code, status=409, back=token, otherwise=_CHANGE_REFUSED)
    return _refused(request, code, status=400)


def _links(token: str) -> dict[str, str]:
    return {
        "status": status_path(token),
        "project_ics": project_calendar_path(token),
        "mine_ics": person_calendar_path(token),
    }


@router.api_route("/c/{token}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def status_page(request: Request, token: str) -> HTMLResponse:
    """The customer's status page."""
    links = _service(request)
    try:
        status = links.status(token)
    except OnboardingError as error:
        return _refusal(request, error, token=token)
    return _page(
        request,
        "customer/status.html",
        view=status,
        links=_links(token),
        action_url=lambda key, action: action_path(token, key, action),
    )


@router.api_route("/c/{token}/tasks/{task}/{action}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def confirmation_page(request: Request, token: str, task: str, action: str) -> HTMLResponse:
    """What the link asks for, and a form that POSTs it; nothing is recorded here."""
    if action not in CUSTOMER_ACTIONS:
        return _refused(request, "task-not-yours", status=404, back=token)
    links = _service(request)
    try:
        ask = links.task(token, task)
    except OnboardingError as error:
        return _refusal(request, error, token=token)
    return _confirmation(request, links, token=token, action=action, ask=ask)


def _confirmation(
    request: Request,
    links: CustomerLinkService,
    *,
    token: str,
    action: str,
    ask: TaskAsk,
    problem: str | None = None,
    reason: str = "",
    until: str = "",
    status: int = 200,
) -> HTMLResponse:
    return _page(
        request,
        "customer/confirm.html",
        status=status,
        ask=ask,
        action=action,
        form_action=action_path(token, ask.task.key, action),
        csrf=links.form_token(token, action=action, task_key=ask.task.key),
        links=_links(token),
        problem=problem,
        reason=reason,
        until=until or ask.snooze_until.isoformat(),
    )


@router.post("/c/{token}/tasks/{task}/{action}", response_class=HTMLResponse)
async def act(request: Request, token: str, task: str, action: str) -> HTMLResponse:
    """Record the confirmed change (the form's POST, with its anti-forgery value)."""
    if action not in CUSTOMER_ACTIONS:
        return _refused(request, "task-not-yours", status=404, back=token)
    links = _service(request)
    fields = await _form(request)
    if not _same_origin(request) or not links.is_form_token(fields.get("csrf"), token, action=action, task_key=task):
        return _refused(request, "forged-form", status=403, back=token)
    reason = fields.get("reason", "")
    until_text = fields.get("until", "")
    try:
        if action == "done":
            done = await run_in_threadpool(links.done, token, task)
        elif action == "stuck":
            done = await run_in_threadpool(lambda: links.stuck(token, task, reason=reason))
        else:
            until = _date(until_text)
            if until is None:
                ask = await run_in_threadpool(links.task, token, task)
                return _confirmation(
                    request,
                    links,
                    token=token,
                    action=action,
                    ask=ask,
                    problem="Choose a day from the calendar (for example 2026-12-14).",
                    until=until_text,
                    status=422,
                )
            done = await run_in_threadpool(lambda: links.snooze(token, task, until=until))
    except CustomerActionRefused as error:
        code = error.codes[0] if error.codes else ""
        if code in ("reason-required", "text-too-long", "snooze-date-invalid"):
            try:
                ask = await run_in_threadpool(links.task, token, task)
            except OnboardingError as again:
                return _refusal(request, again, token=token)
            problem = error.problems[0]
            return _confirmation(
                request,
                links,
                token=token,
                action=action,
                ask=ask,
                problem=f"{problem.message[0].upper()}{problem.message[1:]}: {problem.hint}.",
                reason=reason,
                until=until_text,
                status=422,
            )
        return _refusal(request, error, token=token)
    except OnboardingError as error:
        return _refusal(request, error, token=token)
    page = _done_page(request, token=token, action=action, done=done)
    if action == "stuck":  # the vendor is told at once, not at the next sweep
        page.background = BackgroundTask(request.app.state.application.deliver_outbox)
    return page


def _done_page(request: Request, *, token: str, action: str, done: CustomerActionDone) -> HTMLResponse:
    return _page(request, "customer/done.html", action=action, done=done, links=_links(token))


def _calendar(request: Request, token: str, *, mine: bool) -> Response:
    links = _service(request)
    try:
        body = links.person_calendar(token) if mine else links.project_calendar(token)
    except OnboardingError as error:
        code = error.codes[0] if isinstance(error, ProblemsError) and error.codes else "invalid-request"
        heading, explanation, advice = _REFUSALS.get(code, _GENERIC)
        return Response(
            f"{heading}. {explanation} {advice}\n",
            status_code=410 if code == "customer-link-expired" else 403,
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{"my-tasks" if mine else "onboarding"}.ics"',
        },
    )


@router.api_route("/c/{token}/project.ics", methods=["GET", "HEAD"])
def project_calendar(request: Request, token: str) -> Response:
    """The project's customer-visible milestones and its go-live, as a subscribable calendar."""
    return _calendar(request, token, mine=False)


@router.api_route("/c/{token}/mine.ics", methods=["GET", "HEAD"])
def person_calendar(request: Request, token: str) -> Response:
    """The due dates of the person's own tasks, as a subscribable calendar."""
    return _calendar(request, token, mine=True)


# -- pieces --------------------------------------------------------------------------


def _service(request: Request) -> CustomerLinkService:
    application: Application = request.app.state.application
    return application.customer_links


def _same_origin(request: Request) -> bool:
    """False when the browser says the form came from another site (``Sec-Fetch-Site``, or an ``Origin`` that is
    not this server). Under ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null``, which says
    nothing; the form's anti-forgery value is required either way."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def _form(request: Request) -> dict[str, str]:
    """The fields of a form-encoded body (the first value of each); nothing for any other body."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _LARGEST_FORM:
            return {}
    try:  # bytes or escapes that are not UTF-8, or too many fields: a form no page of ours sent
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return {}
    return {name: values[0] for name, values in fields.items() if values}


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None
