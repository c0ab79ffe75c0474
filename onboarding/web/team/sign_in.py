"""Signing in to the team's pages by an emailed link, signing out, and the demo's sign-in without email.

``GET /team/sign-in`` asks for an address; its POST answers every address alike ("if
you are on the team, a link is on its way": no page tells who is on the team) and
queues the email for a member. ``GET /team/sign-in/{token}`` shows a "Sign in" button
and changes nothing (mail scanners open every link); its POST uses the link, once,
starts the session and sets its cookie. ``POST /team/sign-out`` ends it.
``/team/demo-sign-in`` signs in as a member of the demo's database without email,
and is refused on any other database.

Not here: the session cookie's reading and the CSRF check (``session``), the rules
(``services/team_members``).
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.core.team_members import SIGN_IN_LINK_LIFETIME
from onboarding.errors import AddressInvalid, ProblemsError, SignInRefused
from onboarding.services.team_members import StartedSession
from onboarding.web.team.pages import render
from onboarding.web.team.session import (
    COOKIE,
    RETURN_COOKIE,
    SIGN_IN_PATH,
    VISITOR_COOKIE,
    CheckedForm,
    SignedIn,
    returning_to,
    secure_cookies,
)

router = APIRouter(tags=["team pages"], include_in_schema=False)

HOME = "/team"

# What a person is told of each refusal: a heading, what it means, what to do.
_REFUSALS: dict[str, tuple[str, str, str]] = {
    "sign-in-link-unknown": (
        "This sign-in link does not work",
        "The link was not made here, or part of it was lost when it was copied.",
        "Open the link straight from the email, or ask for a new one.",
    ),
    "sign-in-link-used": (
        "This sign-in link was used already",
        "Each sign-in link works once.",
        "Ask for a new link.",
    ),
    "sign-in-link-expired": (
        "This sign-in link has expired",
        f"A sign-in link works for {int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)} minutes.",
        "Ask for a new link.",
    ),
    "not-a-team-member": (
        "This address is not on the team",
        "The link was for an address that is no longer on the team.",
        "Ask a team admin to add you to the team.",
    ),
    "not-a-demo-database": (
        "Demo sign-in is not available here",
        "Signing in without email works only on the database the demo made; this is not it.",
        "Ask for a sign-in link with your address on the team.",
    ),
}


def _application(request: Request) -> Application:
    app: Application = request.app.state.application
    return app


def _refused(request: Request, error: ProblemsError, *, status: int = 400) -> HTMLResponse:
    code = error.codes[0] if error.codes else ""
    heading, explanation, advice = _REFUSALS.get(
        code, ("You could not be signed in", "The sign-in could not be done.", "Ask for a new link.")
    )
    return render(request, "team/refused.html", status=status, heading=heading, explanation=explanation, advice=advice)


def _signed_in_response(request: Request, started: StartedSession) -> Response:
    """To the page asked for before signing in (a team page of this site), else My tasks; with the cookie."""
    back = returning_to(request.cookies.get(RETURN_COOKIE)) or HOME
    response = RedirectResponse(back, status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(RETURN_COOKIE, path="/team")
    response.set_cookie(
        COOKIE,
        started.secret,
        max_age=max(int((started.expires_at - _application(request).clock.now()).total_seconds()), 1),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    response.delete_cookie(VISITOR_COOKIE, path="/team")
    return response


@router.get(SIGN_IN_PATH, response_class=HTMLResponse)
def sign_in_page(request: Request) -> HTMLResponse:
    return render(request, "team/sign_in.html", email="", error=None)


@router.post(SIGN_IN_PATH, response_class=HTMLResponse)
async def ask_for_link(request: Request, form: CheckedForm, background: BackgroundTasks) -> HTMLResponse:
    """Queue a sign-in email for a member; the same answer for any address (no one learns who is on the team)."""
    email = form.get("email", "").strip()
    application = _application(request)
    try:
        await run_in_threadpool(application.team_members.request_sign_in, email)
    except AddressInvalid:
        return render(
            request,
            "team/sign_in.html",
            status=400,
            email=email,
            error="That is not an email address: write it as name@example.com.",
        )
    background.add_task(application.deliver_outbox)  # the link is good for minutes: it leaves now, not at a sweep
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    return render(request, "team/sign_in_sent.html", email=email, minutes=minutes)


@router.get(SIGN_IN_PATH + "/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str) -> HTMLResponse:
    """Whom the link signs in, and a button that POSTs it; nothing changes here."""
    try:
        member = _application(request).team_members.check_link(token)
    except SignInRefused as error:
        return _refused(request, error)
    return render(request, "team/sign_in_confirm.html", signing_in=member, action=f"{SIGN_IN_PATH}/{token}")


@router.post(SIGN_IN_PATH + "/{token}")
async def use_link(request: Request, token: str, _form: CheckedForm) -> Response:
    try:
        started = await run_in_threadpool(_application(request).team_members.sign_in, token)
    except SignInRefused as error:
        return _refused(request, error)
    return _signed_in_response(request, started)


@router.post("/team/sign-out")
async def sign_out(request: Request, _member: SignedIn, _form: CheckedForm) -> Response:
    secret = request.cookies.get(COOKIE, "")
    await run_in_threadpool(_application(request).team_members.sign_out, secret)
    response = RedirectResponse(SIGN_IN_PATH, status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
    return response


@router.get("/team/demo-sign-in", response_class=HTMLResponse)
def demo_sign_in_page(request: Request) -> HTMLResponse:
    """On the demo's database, the members to sign in as (no email); on any other, a refusal."""
    service = _application(request).team_members
    try:
        service.require_demo()
    except SignInRefused as error:
        return _refused(request, error, status=403)
    return render(request, "team/demo_sign_in.html", people=service.members())


@router.post("/team/demo-sign-in")
async def demo_sign_in(request: Request, form: CheckedForm) -> Response:
    service = _application(request).team_members
    try:
        started = await run_in_threadpool(service.demo_sign_in, form.get("email", ""))
    except (SignInRefused, AddressInvalid) as error:
        return _refused(request, error, status=403)
    return _signed_in_response(request, started)
