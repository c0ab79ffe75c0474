"""The team's pages rendered: ``render(request, template, **context)`` with the headers every team page carries.

Templates live in ``templates/team/`` and extend ``team/_layout.html`` (the nav, the
member's name, sign-out); a page that htmx updates in part has a ``_partial.html``
that its handler renders alone for a request with ``HX-Request``. Every page gets
``member`` (the signed-in member, or None), ``csrf`` and ``csrf_field`` (the hidden
field every form carries), ``nonce`` (for an inline ``<style>``) and ``product``.

The Content-Security-Policy allows scripts only from this server (htmx at
``/static``), styles from this server or with the page's nonce, forms and requests
back to it, and no framing; pages are never cached (they show one member's work).

Not here: who is signed in and the CSRF check (``session``), the pages' handlers.
"""

from __future__ import annotations

import secrets
from datetime import date
from functools import cache
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from onboarding.bootstrap import Application
from onboarding.web.team.session import csrf_field, csrf_token, set_visitor_cookie
from onboarding.web.templating import day_words, page_templates

HEADERS = {
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def day(value: date | None) -> str:
    """A day as the pages write it: ``Mon 7 Dec 2026`` (``-`` for none)."""
    return day_words(value) if value is not None else "-"


@cache
def _templates() -> jinja2.Environment:
    return page_templates(day=day)


def content_security_policy(nonce: str) -> str:
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` (under ``templates/``, e.g. ``team/my_tasks.html``) with ``context``, as a response."""
    application: Application = request.app.state.application
    nonce = secrets.token_urlsafe(16)
    html = (
        _templates()
        .get_template(template)
        .render(
            product=application.settings.sender_name,
            nonce=nonce,
            member=getattr(request.state, "team_member", None),
            csrf=csrf_token(request),
            csrf_field=csrf_field(request),
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(
        html, status_code=status, headers={"Content-Security-Policy": content_security_policy(nonce), **HEADERS}
    )
    set_visitor_cookie(request, response)
    return response
