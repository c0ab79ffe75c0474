"""The unsubscribe pages: where the link in every customer email leads (``/unsubscribe?token=...``).

``GET /unsubscribe`` shows what the link asks for and a button; it changes nothing,
whoever opens it (mail scanners and link previews open every link in an email).
``POST /unsubscribe`` records the opt-out: the confirmation form's, and the one-click
POST a mail client sends to the List-Unsubscribe URL (RFC 8058, body
``List-Unsubscribe=One-Click``), both answered 200 with the done page. The signed
token is what allows the change (only this engine can make one, for one recipient
and project), so the form needs no other CSRF token; it comes in the query, as the
email's link carries it, or as the form's ``token`` field. A second POST says the
opt-out was already recorded. A missing, forged or altered token gets a 400 page
and changes nothing. No API key: the people who follow these links have none.

Every page is rendered on the server (jinja2, autoescaped, ``templates/``) and sent
with a Content-Security-Policy that allows nothing but its own nonce'd style and a
form posting back here, no referrer (the URL holds the token) and no caching.

Not here: reading tokens and recording (``UnsubscribeService``), signing links
(``adapters/email``).
"""

from __future__ import annotations

import secrets
from functools import cache
from typing import Any
from urllib.parse import parse_qs, quote

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.errors import OnboardingError, ProblemsError, ProjectNotFound, UnsubscribeRefused
from onboarding.services.unsubscribe import Unsubscription
from onboarding.web.problems import status_of
from onboarding.web.templating import page_templates

router = APIRouter(tags=["pages"], include_in_schema=False)

PATH = "/unsubscribe"
_LARGEST_FORM = 16 * 1024  # a token is a few hundred bytes; a larger body is not a form of these pages
_FORM = "application/x-www-form-urlencoded"


@cache
def _templates() -> jinja2.Environment:
    return page_templates()


def _page(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    application: Application = request.app.state.application
    nonce = secrets.token_urlsafe(16)
    html = _templates().get_template(template).render(product=application.settings.sender_name, nonce=nonce, **context)
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'nonce-{nonce}'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            ),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        },
    )


# What a person is told of each refusal: a heading, what it means, what to do.
_REFUSALS: dict[str, tuple[str, str, str]] = {
    "missing-token": (
        "This unsubscribe link is incomplete",
        "The link has no token: part of it was lost when it was copied.",
        "Open the link straight from the email, or copy all of it.",
    ),
    "invalid-unsubscribe-token": (
        "This unsubscribe link is not valid",
        "The link was not made by us, or it was altered or cut short.",
        "Open the link straight from the email, or copy all of it. If it still fails, reply to the email and "
        "ask us to stop: we will do it by hand.",
    ),
    "unsubscribe-every-project": (
        "This link cannot unsubscribe you here",
        "The link asks to stop the emails of every onboarding at once; we record that per onboarding.",
        "Use the unsubscribe link of an email about the onboarding you want no more emails about, or reply to "
        "the email and tell us which ones.",
    ),
    "project-not-found": (
        "This onboarding is not known here",
        "The link is valid, but the onboarding it names is not kept on this server.",
        "Reply to the email and ask us to stop: we will do it by hand.",
    ),
}
_GENERIC_REFUSAL = (
    "We could not unsubscribe you just now",
    "Something on our side failed while reading the link.",
    "Try again in a few minutes, or reply to the email and ask us to stop.",
)


def error_page(request: Request, *, status: int, words: tuple[str, str, str], code: str) -> HTMLResponse:
    """The answer to a request no unsubscribe route answers (``problems``): a page, not a document."""
    heading, explanation, advice = words
    return _page(
        request, "unsubscribe_refused.html", status=status, heading=heading, explanation=explanation, advice=advice,
        code=code,
    )  # fmt: skip


def _refused(request: Request, code: str, *, status: int) -> HTMLResponse:
    heading, explanation, advice = _REFUSALS.get(code, _GENERIC_REFUSAL)
    return _page(
        request,
        "unsubscribe_refused.html",
        status=status,
        heading=heading,
        explanation=explanation,
        advice=advice,
        code=code,
    )


def _refusal(request: Request, error: OnboardingError) -> HTMLResponse:
    code = error.codes[0] if isinstance(error, ProblemsError) and error.codes else "invalid-request"
    if isinstance(error, UnsubscribeRefused):
        return _refused(request, code, status=400)
    if isinstance(error, ProjectNotFound):
        return _refused(request, "project-not-found", status=404)
    return _refused(request, code, status=status_of(error))


async def _form_token(request: Request) -> str | None:
    """The ``token`` field of a form-encoded body (the confirmation form's), if it has one."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _LARGEST_FORM:
            return None
    try:  # bytes or escapes that are not UTF-8, or too many fields: a form no page of ours sent
        fields = parse_qs(body.decode("utf-8"), max_num_fields=20, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None
    values = fields.get("token")
    return values[0] if values else None


@router.api_route(PATH, methods=["GET", "HEAD"], response_class=HTMLResponse)
def confirmation_page(request: Request, token: str | None = None) -> HTMLResponse:
    """What the link asks for, and a button that POSTs it; nothing is recorded here."""
    if not token:
        return _refused(request, "missing-token", status=400)
    application: Application = request.app.state.application
    try:
        unsubscription: Unsubscription = application.unsubscribe.check(token)
    except OnboardingError as error:
        return _refusal(request, error)
    return _page(
        request, "unsubscribe.html", unsubscription=unsubscription, token=token, action=f"?token={quote(token)}"
    )


@router.post(PATH, response_class=HTMLResponse)
async def unsubscribe(request: Request, token: str | None = None) -> HTMLResponse:
    """Record the opt-out: the confirmation form's POST and the one-click POST of RFC 8058 alike."""
    token = token or await _form_token(request)
    if not token:
        return _refused(request, "missing-token", status=400)
    application: Application = request.app.state.application
    try:
        unsubscription = await _confirm(application, token)
    except OnboardingError as error:
        return _refusal(request, error)
    return _page(request, "unsubscribed.html", unsubscription=unsubscription)


async def _confirm(application: Application, token: str) -> Unsubscription:
    """The service call off the event loop (it waits on the database)."""
    return await run_in_threadpool(application.unsubscribe.confirm, token)
