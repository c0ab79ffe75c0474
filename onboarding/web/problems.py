"""The engine's errors as ``application/problem+json`` (RFC 9457), carrying its problem codes and locations.

One body for every error: ``type`` (``urn:onboarding:problem:<code>``), ``title``
(what the code means), ``status``, ``detail`` (what went wrong), ``instance`` (the
path asked for), ``code`` (the first problem's) and ``problems``, every problem with
its code, message, location and hint (and ``detail``, the lines that say what differs,
when it has them). A status per error class; services never know about HTTP. At the
address of a page (``/team``, ``/c``, ``/unsubscribe``), an error no route answered
itself (a 404, a 405, a 500) is that kind of page's refusal page instead: a browser
shows it, where it would show a document as raw JSON.

Not here: what the problems are (``onboarding/errors.py``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from onboarding.adapters.store.sql import store_failure
from onboarding.errors import (
    CODES,
    ApiKeyRefused,
    BlueprintNotFound,
    BlueprintVersionExists,
    ChangeConflict,
    DeliveryInProgress,
    HookSourceExists,
    HookSourceNotFound,
    LaunchConflict,
    MessageNotFound,
    NotAuthenticated,
    NotPermitted,
    OnboardingError,
    PayloadUnreadable,
    Problem,
    ProblemsError,
    ProjectNotFound,
    SignatureRefused,
    SignInRefused,
    StoreUnavailable,
    TeamMemberNotFound,
    TransitionRefused,
    WebhookNotFound,
    render_loc,
)

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("onboarding.web")

# The status of each error class; the first class an error is an instance of wins. Anything else the engine
# raises on purpose is a request it cannot act on (422).
STATUS_OF: list[tuple[type[OnboardingError], int]] = [
    (NotAuthenticated, 401),
    (NotPermitted, 403),
    (ProjectNotFound, 404),
    (MessageNotFound, 404),
    (HookSourceNotFound, 404),
    (WebhookNotFound, 404),
    (TeamMemberNotFound, 404),
    (SignInRefused, 403),
    (SignatureRefused, 401),
    (PayloadUnreadable, 400),
    (DeliveryInProgress, 409),
    (HookSourceExists, 409),
    (BlueprintNotFound, 404),
    (LaunchConflict, 409),
    (BlueprintVersionExists, 409),
    (ChangeConflict, 409),
    (TransitionRefused, 409),
    (ApiKeyRefused, 409),
    (StoreUnavailable, 503),
]
# A code whose status differs from its class's (for that class only).
STATUS_OF_CODE: dict[str, int] = {
    "api-key-not-found": 404,
    "payload-too-large": 413,
    "team-default-not-found": 404,
}
STATUS_OF_CLASS_CODE: list[tuple[type[OnboardingError], str, int]] = [
    (TransitionRefused, "unknown-task", 404),  # a task of the path that the project does not have
]


def status_of(error: OnboardingError) -> int:
    if isinstance(error, ProblemsError):
        for problem in error.problems:
            if problem.code in STATUS_OF_CODE:
                return STATUS_OF_CODE[problem.code]
            for cls, code, status in STATUS_OF_CLASS_CODE:
                if isinstance(error, cls) and problem.code == code:
                    return status
    return next((status for cls, status in STATUS_OF if isinstance(error, cls)), 422)


# How the API words the fix of a problem whose hint says it in general terms (the engine's hints name no command,
# option or field: each edge adds its own words, as the command line does with its options).
API_FIX: dict[str, str] = {
    "message-not-found": "GET /api/v1/outbox lists the messages",
    "invalid-period": "send since on or before until",
}


def _hint(problem: Problem) -> str | None:
    fix = API_FIX.get(problem.code)
    if fix and problem.hint:
        return f"{problem.hint}; {fix}"
    return fix or problem.hint or None


def problem_document(status: int, problems: Sequence[Problem], *, instance: str) -> dict[str, Any]:
    first = problems[0]
    return {
        "type": f"urn:onboarding:problem:{first.code}",
        "title": CODES.get(first.code, first.code),
        "status": status,
        "detail": "; ".join(p.message for p in problems),
        "instance": instance,
        "code": first.code,
        "problems": [
            {"code": p.code, "message": p.message, "loc": render_loc(p.loc) or None, "hint": _hint(p)}
            | ({"detail": list(p.detail)} if p.detail else {})
            for p in problems
        ],
    }


def problem_response(
    status: int, problems: Sequence[Problem], *, request: Request, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem_document(status, problems, instance=request.url.path),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _problems_of(error: OnboardingError) -> tuple[Problem, ...]:
    if isinstance(error, ProblemsError) and error.problems:
        return error.problems
    return (Problem("invalid-request", str(error) or type(error).__name__),)


async def _engine_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OnboardingError)  # noqa: S101 - registered for this class only
    status = status_of(exc)
    headers = (
        {"WWW-Authenticate": 'Bearer realm="onboarding"'}
        if status == 401 and not isinstance(exc, SignatureRefused)
        else None
    )
    return problem_response(status, _problems_of(exc), request=request, headers=headers)


async def _unreadable_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101
    problems = [
        Problem(
            "invalid-request",
            str(error.get("msg", "cannot be read")),
            tuple(str(part) if not isinstance(part, int) else part for part in error.get("loc", ())),
            "send the field as the API documentation (/api/docs) describes it",
        )
        for error in exc.errors()
    ]
    return problem_response(
        422, problems or [Problem("invalid-request", "the request cannot be read")], request=request
    )


# What a person is told when a page's address is not one the server answers, by status.
_PAGE_WORDS: dict[int, tuple[str, str, str]] = {
    404: (
        "This page does not exist",
        "The address is not one of this site's pages: it may be mistyped, or cut short when it was copied.",
        "Open the link from its email again, or go to the first page.",
    ),
    405: (
        "This page cannot be used that way",
        "The page was asked for in a way it does not answer.",
        "Open it from its link or its page's buttons.",
    ),
    500: (
        "Something failed on our side",
        "The page could not be made just now; nothing was changed.",
        "Try again in a few minutes; if it persists, tell us.",
    ),
}
_PAGE_DEFAULT = ("This request could not be read", "The page was asked for in a way it cannot read.", "Try again.")


def _page_answer(request: Request, status: int, code: str, headers: dict[str, str] | None) -> Response | None:
    """For a page's address (the team's, a customer's, unsubscribe), the error as a page; None for the API."""
    path = request.url.path
    words = _PAGE_WORDS.get(status, _PAGE_DEFAULT)
    if path == "/team" or path.startswith("/team/"):
        from onboarding.web.team.pages import render  # imported when needed: the page modules import this one

        heading, explanation, advice = words
        page: Response = render(
            request, "team/refused.html", status=status, heading=heading, explanation=explanation, advice=advice
        )
    elif path == "/c" or path.startswith("/c/"):
        from onboarding.web.customer import error_page

        page = error_page(request, status=status, words=words, code=code)
    elif path == "/unsubscribe" or path.startswith("/unsubscribe/"):
        from onboarding.web.unsubscribe import error_page as unsubscribe_page

        page = unsubscribe_page(request, status=status, words=words, code=code)
    else:
        return None
    page.headers.update(headers or {})
    return page


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101
    code = "not-found" if exc.status_code == 404 else "invalid-request"
    page = _page_answer(request, exc.status_code, code, getattr(exc, "headers", None))
    if page is not None:
        return page
    detail = exc.detail if isinstance(exc.detail, str) else "the request cannot be served"
    hint = "see /api/docs for the paths this server serves" if exc.status_code == 404 else ""
    return problem_response(
        exc.status_code, [Problem(code, detail, hint=hint)], request=request, headers=getattr(exc, "headers", None)
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    application = getattr(request.app.state, "application", None)
    url = application.settings.effective_database_url if application is not None else "the database"
    failure = store_failure(exc, url)
    return problem_response(503, failure.problems, request=request)


async def _unexpected(request: Request, exc: Exception) -> Response:
    _log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    with contextlib.suppress(Exception):  # the page itself failing: the document below still answers
        page = _page_answer(request, 500, "internal-error", None)
        if page is not None:
            return page
    return problem_response(
        500,
        [Problem("internal-error", "the server failed on this request", hint="try again; if it persists, see the log")],
        request=request,
    )


def install(app: FastAPI) -> None:
    """Every error of the app as problem+json."""
    app.add_exception_handler(OnboardingError, _engine_error)
    app.add_exception_handler(RequestValidationError, _unreadable_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
