"""Who is signed in to the team's pages, what they may see, and the CSRF check of their forms.

A session lives in the ``onboarding_team`` cookie (a random secret; the store keeps
only its digest): HttpOnly, SameSite=Lax, Path=/, Secure when the public URL is
https. Handlers take the member as a parameter:

    def page(request: Request, member: SignedIn) -> HTMLResponse: ...

``SignedIn`` gives the active member of a live session, else sends a page to the
sign-in page (a 303; ``HX-Redirect`` for htmx); ``Manager`` also needs the role
manager or admin, ``Admin`` admin (else a 403 page).

Every form carries a ``csrf`` field (``csrf_field(request)``, or ``csrf_field`` in
a template) and every POST handler takes ``CheckedForm``: the form's fields, once
the token matched, else a 403 page and nothing done. The token is derived from the
session's secret, or, before signing in, from a visitor cookie of its own
(``onboarding_team_visitor``): a site that cannot read the cookies cannot make it.

Not here: rendering (``pages``), the sign-in pages (``sign_in``), the rules
(``core/team_members``, ``services/team_members``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import parse_qsl, quote

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from onboarding.bootstrap import Application
from onboarding.core.team_members import TeamMember, TeamRole, csrf_matches
from onboarding.core.team_members import csrf_token as derived_csrf_token

COOKIE = "onboarding_team"
VISITOR_COOKIE = "onboarding_team_visitor"
RETURN_COOKIE = "onboarding_team_return"  # the page asked for before signing in, opened after it
SIGN_IN_PATH = "/team/sign-in"
_LARGEST_FORM = 64 * 1024
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 50


class SignInNeeded(Exception):
    """No live session: the page sends the browser to the sign-in page."""


class NotAllowed(Exception):
    """A member whose role does not allow the page."""

    def __init__(self, needs: TeamRole) -> None:
        super().__init__(needs.value)
        self.needs = needs


class CsrfRefused(Exception):
    """A POST whose ``csrf`` field is missing or does not match the session's."""


class FormUnreadable(Exception):
    """A POST whose body is not a form of these pages."""


def _application(request: Request) -> Application:
    app: Application = request.app.state.application
    return app


def secure_cookies(request: Request) -> bool:
    """Whether cookies need https: when people reach the pages over https."""
    return _application(request).settings.effective_public_url.startswith("https://")


async def signed_in(request: Request) -> TeamMember:
    """The member of the request's live session; ``SignInNeeded`` when there is none."""
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise SignInNeeded
    members = _application(request).team_members
    member = members.remembered(secret)  # checked on the event loop; only the store's answer needs a thread
    if member is None:
        member = await run_in_threadpool(members.signed_in, secret)
    if member is None:
        raise SignInNeeded
    request.state.team_member = member
    return member


SignedIn = Annotated[TeamMember, Depends(signed_in)]


async def manager(member: SignedIn) -> TeamMember:
    if not member.role.manages:
        raise NotAllowed(TeamRole.manager)
    return member


async def admin(member: SignedIn) -> TeamMember:
    if member.role is not TeamRole.admin:
        raise NotAllowed(TeamRole.admin)
    return member


Manager = Annotated[TeamMember, Depends(manager)]
Admin = Annotated[TeamMember, Depends(admin)]


# -- CSRF ---------------------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The token this request's forms carry: the session's, else the visitor cookie's (made if need be)."""
    secret = request.cookies.get(COOKIE) or request.cookies.get(VISITOR_COOKIE)
    if not secret:
        secret = getattr(request.state, "new_visitor", None)
        if secret is None:
            secret = secrets.token_urlsafe(32)
            request.state.new_visitor = secret
    return derived_csrf_token(secret)


def csrf_field(request: Request) -> Markup:
    """The hidden ``csrf`` field of a form."""
    return Markup('<input type="hidden" name="csrf" value="{}">').format(escape(csrf_token(request)))


def set_visitor_cookie(request: Request, response: Response) -> None:
    """Give the browser the visitor cookie that ``csrf_token`` made for this request's forms."""
    secret = getattr(request.state, "new_visitor", None)
    if secret is not None:
        response.set_cookie(
            VISITOR_COOKIE, secret, httponly=True, samesite="strict", secure=secure_cookies(request), path="/team"
        )


async def _form(request: Request) -> dict[str, str]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != _FORM:
        raise FormUnreadable
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _LARGEST_FORM:
            raise FormUnreadable
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError) as error:
        raise FormUnreadable from error
    return dict(pairs)


async def checked_form(request: Request) -> Mapping[str, str]:
    """The POSTed form's fields, once its ``csrf`` field matched this browser's token; else ``CsrfRefused``."""
    fields = await _form(request)
    secret = request.cookies.get(COOKIE) or request.cookies.get(VISITOR_COOKIE)
    given = fields.get("csrf", "")
    if not secret or not given or not csrf_matches(secret, given):
        raise CsrfRefused
    return fields


CheckedForm = Annotated[Mapping[str, str], Depends(checked_form)]


# -- answers to the refusals above ----------------------------------------------------------------


def returning_to(path: str | None) -> str | None:
    """``path`` if it is a team page of this site to come back to after signing in (never another site's)."""
    if not path or len(path) > 2000 or "\\" in path or any(ord(c) < 32 for c in path):
        return None
    if path != "/team" and not path.startswith(("/team/", "/team?")):
        return None
    if path.startswith(SIGN_IN_PATH) or path.startswith("/team/demo-sign-in"):
        return None
    return path


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page: a 303 for a page (remembering it, to come back to); for htmx, an ``HX-Redirect`` (it
    would swap a page into a row)."""
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": SIGN_IN_PATH, "Cache-Control": "no-store"})
    response = RedirectResponse(SIGN_IN_PATH, status_code=303, headers={"Cache-Control": "no-store"})
    # the path as it was sent (percent-encoded: a cookie holds ASCII only); a query that is not ASCII is not kept
    asked = quote(request.url.path, safe="/") + (f"?{request.url.query}" if request.url.query else "")
    if request.method == "GET" and asked.isascii() and returning_to(asked) is not None:
        response.set_cookie(
            RETURN_COOKIE,
            asked,
            max_age=3600,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/team",
        )
    return response


def install(app: FastAPI) -> None:
    """Answer the refusals of the team's pages with pages, never a problem document or a stack trace."""
    from onboarding.web.team.pages import render  # the renderer reads this module's tokens

    async def on_sign_in_needed(request: Request, _error: Exception) -> Response:
        return sign_in_redirect(request)

    async def on_not_allowed(request: Request, error: Exception) -> HTMLResponse:
        needs = error.needs if isinstance(error, NotAllowed) else TeamRole.admin
        return render(
            request,
            "team/refused.html",
            status=403,
            heading="This page is not for your role",
            explanation=f"It is for team members with the role {needs.value}"
            + (" or admin" if needs is TeamRole.manager else "")
            + ".",
            advice="Ask a team admin if you need it.",
        )

    async def on_csrf_refused(request: Request, _error: Exception) -> HTMLResponse:
        return render(
            request,
            "team/refused.html",
            status=403,
            heading="This form is out of date",
            explanation="The form was not sent from a page of this site open in this browser, or the "
            "page is older than your sign-in.",
            advice="Go back, reload the page and try again.",
        )

    async def on_form_unreadable(request: Request, _error: Exception) -> HTMLResponse:
        return render(
            request,
            "team/refused.html",
            status=400,
            heading="This form could not be read",
            explanation="What was sent is not a form of this site.",
            advice="Go back, reload the page and try again.",
        )

    app.add_exception_handler(SignInNeeded, on_sign_in_needed)
    app.add_exception_handler(NotAllowed, on_not_allowed)
    app.add_exception_handler(CsrfRefused, on_csrf_refused)
    app.add_exception_handler(FormUnreadable, on_form_unreadable)
