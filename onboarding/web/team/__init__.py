"""The team's pages: signed in by an emailed link, then My tasks, the portfolio, the project pages and reports.

What the pages share, for every page module here:

    from onboarding.web.team import CheckedForm, Manager, SignedIn, render

    @router.get("/team/thing", response_class=HTMLResponse)
    def thing(request: Request, member: SignedIn) -> HTMLResponse:
        return render(request, "team/thing.html", ...)

``SignedIn`` (``Manager``, ``Admin``) gives the member or sends the browser to sign
in (a 403 page for a role that may not); ``CheckedForm`` gives a POST's fields once
its CSRF token matched; ``render`` sets the headers every team page carries.
``install(app)`` adds the routers of this package and the answers to those refusals.

URLs: ``/team`` (My tasks), ``/team/portfolio`` (and ``.csv``), ``/team/projects/{id}``,
``/team/reports``, ``/team/sign-in``, ``/team/sign-out``, ``/team/demo-sign-in``.
"""

from __future__ import annotations

from onboarding.web.team.pages import render
from onboarding.web.team.session import (
    Admin,
    CheckedForm,
    Manager,
    SignedIn,
    checked_form,
    csrf_field,
    csrf_token,
    signed_in,
)

__all__ = [
    "Admin",
    "CheckedForm",
    "Manager",
    "SignedIn",
    "checked_form",
    "csrf_field",
    "csrf_token",
    "render",
    "signed_in",
]
