"""``POST /api/v1/plans``: a plan preview of a published blueprint (read scope; nothing is stored).

The body names a published blueprint by key (and version: the latest when left
out), a kickoff day and a pay schedule (the blueprint's when left out); the answer
is the plan document ``onboarding plan --format json`` prints: every task dated,
the critical path, and the go-live with why it was chosen and why each earlier
candidate was not.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from onboarding.core.plan_view import plan_document
from onboarding.web.deps import App, Reader

router = APIRouter(prefix="/plans", tags=["plans"])


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    blueprint: str = Field(description="A published blueprint's key.", examples=["payroll_implementation"])
    version: str | None = Field(default=None, description="A published version; the latest when left out.")
    kickoff_on: date = Field(description="The kickoff day (YYYY-MM-DD).")
    pay_schedule: str | None = Field(
        default=None,
        description="The customer's pay schedule, e.g. biweekly:2026-01-02; the blueprint's when left out.",
        examples=["biweekly:2026-01-02"],
    )


class PlanPreview(BaseModel):
    """A dated plan, as ``onboarding plan --format json`` prints it."""

    blueprint: dict[str, str]
    kickoff_on: date
    finish_on: date
    pay_schedule: str | None
    calendars: dict[str, Any]
    tasks: list[dict[str, Any]]
    milestones: list[dict[str, Any]]
    go_live: dict[str, Any] | None = Field(
        description="The go-live day chosen, why, and every earlier candidate rejected with its reason."
    )
    pay_dates: list[date]
    warnings: list[str]


@router.post("", response_model=PlanPreview, summary="Plan a published blueprint (a preview: nothing is stored)")
def preview_plan(request: PlanRequest, app: App, _key: Reader) -> dict[str, Any]:
    plan = app.planning.plan_published(
        request.blueprint, version=request.version, kickoff_on=request.kickoff_on, pay_schedule=request.pay_schedule
    )
    return plan_document(plan)
