"""The plan as people and machines read it.

``plan_document``: the plan as a plain document, what ``onboarding plan --format
json`` prints; every date is an ISO string; milestone dependencies appear expanded
to tasks.

``project_plan``: a running project's plan as the team's project page and its
timeline show it: milestones with their tasks (state, owner, target and projected
dates, slack, critical path, overdue), the go-live with why that date and the
window committed for it. Typed values; the page and the timeline only lay them out.

Not here: terminal tables (the CLI), HTML and SVG (the web pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from onboarding.core.lifecycle import FINISHED, OPEN, ProjectState, TaskState
from onboarding.core.planning import Plan
from onboarding.core.projects import ProjectRecord


def plan_document(plan: Plan) -> dict[str, Any]:
    graph = plan.graph
    go_live = plan.go_live
    return {
        "blueprint": {"key": plan.blueprint_key, "version": plan.blueprint_version},
        "kickoff_on": plan.kickoff_on.isoformat(),
        "finish_on": plan.finish_on.isoformat(),
        "pay_schedule": plan.pay_schedule.spec() if plan.pay_schedule else None,
        "calendars": {
            name.value: {
                "country": key.country,
                "subdivision": key.subdivision,
                "market": key.market,
                "closed_days": [day.isoformat() for day, _reason in key.closed_days],
            }
            for name, key in plan.calendars.items()
        },
        "tasks": [
            {
                "key": t.task.key,
                "title": t.task.title,
                "milestone": t.task.milestone,
                "owner": t.task.owner,
                "side": t.task.side,
                "calendar": t.task.calendar.value,
                "kind": t.task.kind.value,
                "duration_business_days": t.task.duration_business_days,
                "customer_visible": t.task.customer_visible,
                "first_value": t.task.first_value,
                "launch": t.task.launch,
                "depends_on": [
                    {"task": e.predecessor, "type": e.type.value, "lag_business_days": e.lag_business_days}
                    | ({"via_milestone": e.milestone} if e.milestone else {})
                    for e in graph.predecessors[t.task.key]
                ],
                "start_on": t.start_on.isoformat(),
                "due_on": t.due_on.isoformat(),
                "late_start_on": t.late_start_on.isoformat(),
                "late_due_on": t.late_due_on.isoformat(),
                "slack_business_days": t.slack_business_days,
                "critical": t.critical,
            }
            for t in plan.tasks
        ],
        "milestones": [
            {"key": m.key, "title": m.title, "start_on": m.start_on.isoformat(), "due_on": m.due_on.isoformat()}
            for m in plan.milestones
        ],
        "go_live": None
        if go_live is None
        else {
            "task": go_live.task,
            "kind": go_live.kind,
            "earliest_on": go_live.earliest_on.isoformat(),
            "chosen_on": go_live.chosen_on.isoformat(),
            "reason": go_live.reason,
            "horizon_on": go_live.horizon_on.isoformat() if go_live.horizon_on else None,
            "check_date_class": go_live.check_date_class,
            "pinned": {task: day.isoformat() for task, day in sorted(go_live.pins.items())},
            "deadlines": {task: day.isoformat() for task, day in sorted(go_live.deadlines.items())},
            "balance_conversion_needed": go_live.balance_conversion_needed,
            "rejected": [
                {"date": r.on.isoformat(), "reason": r.reason}
                | ({"scheduled_on": r.scheduled_on.isoformat()} if r.scheduled_on else {})
                for r in go_live.rejected
            ],
        },
        "pay_dates": [p.paid_on.isoformat() for p in plan.pay_dates],
        "warnings": list(plan.warnings),
    }


@dataclass(frozen=True, slots=True)
class TaskLine:
    """One task of a project as the team reads it."""

    key: str
    title: str
    state: TaskState
    kind: str  # human | automated | checkpoint
    owner_role: str
    owner: str | None  # the name of the person bound to the role; None when nobody is
    side: str  # vendor | customer
    customer_visible: bool
    launch: bool
    start_on: date  # projected
    due_on: date  # projected
    target_due_on: date  # expected by
    started_on: date | None
    done_on: date | None
    slack_business_days: int
    critical: bool
    overdue: bool

    @property
    def open(self) -> bool:
        return self.state in OPEN


@dataclass(frozen=True, slots=True)
class MilestoneLine:
    key: str
    title: str
    state: str  # upcoming | in_progress | done | cancelled
    start_on: date
    due_on: date
    tasks: tuple[TaskLine, ...]


@dataclass(frozen=True, slots=True)
class GoLiveLine:
    """The go-live: projected (or the day it happened), why that date, and the committed window's last day."""

    projected_on: date | None
    committed_on: date | None
    launch_committed_on: date | None  # committed at launch (before any recommit)
    went_live_on: date | None
    reason: str | None  # the launch window's reason for the projected date; None when not known

    @property
    def outside_window(self) -> bool:
        return self.projected_on is not None and self.committed_on is not None and self.projected_on > self.committed_on


@dataclass(frozen=True, slots=True)
class ProjectPlan:
    project_id: str
    customer: str
    blueprint_title: str
    state: ProjectState
    version: int
    kickoff_on: date
    finish_on: date
    as_of: date
    milestones: tuple[MilestoneLine, ...]
    go_live: GoLiveLine

    @property
    def tasks(self) -> tuple[TaskLine, ...]:
        return tuple(t for m in self.milestones for t in m.tasks)


def project_plan(project: ProjectRecord, *, today: date, plan: Plan | None = None) -> ProjectPlan:
    """A project as its page shows it; ``plan``: its re-forecast as of today, which says why the go-live falls
    where it does (when the stored projection is that plan's date)."""
    overdue = {t.key for t in project.overdue(today)}
    by_milestone: dict[str, list[TaskLine]] = {}
    titles: dict[str, str] = {}
    for t in sorted(project.tasks, key=lambda t: t.position):
        person = project.bindings.get(t.owner_role)
        titles.setdefault(t.milestone_key, t.milestone_title)
        by_milestone.setdefault(t.milestone_key, []).append(
            TaskLine(
                key=t.key,
                title=t.title,
                state=t.state,
                kind=t.kind,
                owner_role=t.owner_role,
                owner=person.name if person is not None else None,
                side=t.side,
                customer_visible=t.customer_visible,
                launch=t.launch,
                start_on=t.start_on,
                due_on=t.due_on,
                target_due_on=t.target_due_on,
                started_on=t.started_on,
                done_on=t.done_on,
                slack_business_days=t.slack_business_days,
                critical=t.critical and t.state in OPEN,
                overdue=t.key in overdue,
            )
        )
    milestones = tuple(
        MilestoneLine(
            key=key,
            title=titles[key],
            state=_milestone_state(tasks),
            start_on=min(t.start_on for t in tasks),
            due_on=max(t.due_on for t in tasks),
            tasks=tuple(tasks),
        )
        for key, tasks in by_milestone.items()
    )
    launch = next((t for t in project.tasks if t.launch), None)
    went_live = launch.done_on if launch is not None and launch.state is TaskState.done else None
    decision = plan.go_live if plan is not None else None
    reason = None
    if went_live is not None:
        reason = f"it went live on {went_live.isoformat()}"
    elif decision is not None and decision.chosen_on == project.projected_go_live_on:
        reason = decision.reason
    return ProjectPlan(
        project_id=project.id,
        customer=project.customer,
        blueprint_title=project.blueprint_title,
        state=project.state,
        version=project.version,
        kickoff_on=project.kickoff_on,
        finish_on=project.finish_on,
        as_of=today,
        milestones=milestones,
        go_live=GoLiveLine(
            projected_on=project.projected_go_live_on,
            committed_on=project.committed_go_live_on,
            launch_committed_on=project.launch_commitment,
            went_live_on=went_live,
            reason=reason,
        ),
    )


def _milestone_state(tasks: list[TaskLine]) -> str:
    if any(t.state is TaskState.cancelled for t in tasks):
        return "cancelled"
    if all(t.state in FINISHED for t in tasks):
        return "done"
    if any(t.state is not TaskState.pending for t in tasks):
        return "in_progress"
    return "upcoming"
