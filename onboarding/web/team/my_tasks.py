"""My tasks (``/team``): the signed-in member's open tasks across projects."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from onboarding.web.team.pages import render
from onboarding.web.team.session import SignedIn

router = APIRouter(tags=["team pages"], include_in_schema=False)


@router.get("/team", response_class=HTMLResponse)
def my_tasks(request: Request, member: SignedIn) -> HTMLResponse:
    return render(request, "team/my_tasks.html")
