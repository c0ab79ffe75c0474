"""Projects as domain values: one customer's run of one blueprint, its people and its tasks.

A ``ProjectRecord`` is what the store keeps and the services change: the
blueprint text it was launched from (so later re-forecasts use the same
version), the role bindings, each task's progress and projected dates, and the
go-live committed at launch. ``apply_plan`` writes a fresh plan's dates onto the
tasks; ``kickoff_messages`` says who is told what at launch.

Not here: storage (adapters/store), the rules of planning or of the lifecycle.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import NamedTuple

from onboarding.core.addresses import reply_to_text
from onboarding.core.blueprint import Blueprint
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.graph import TaskGraph
from onboarding.core.lifecycle import FINISHED, OPEN, ProjectState, TaskProgress, TaskState
from onboarding.core.messages import (
    ContactView,
    GoLiveView,
    KickoffContext,
    MessageKind,
    MilestoneView,
    OutgoingMessage,
    Person,
    ProjectView,
    TaskView,
)
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.planning import Plan, PlanInputs, PlannedDates, plan_project, planned_dates
from onboarding.errors import OnboardingError


class TaskRecord(NamedTuple):
    """A task row as the store keeps it: its blueprint fields, progress, planned dates and nudge counters.

    A named tuple rather than a frozen dataclass: a sweep, a page or a report makes rows by the hundred
    thousand, and a tuple is made in an eighth of the time (a frozen dataclass sets each of its 25 fields
    through ``object.__setattr__``). Immutable all the same; changed with ``_replace`` or ``redated``.
    """

    key: str
    position: int
    title: str
    milestone_key: str
    milestone_title: str
    owner_role: str
    side: str
    calendar: str
    kind: str
    duration_business_days: int
    customer_visible: bool
    first_value: bool
    launch: bool
    state: TaskState
    started_on: date | None
    done_on: date | None
    start_on: date
    due_on: date  # projected
    target_due_on: date  # expected by (overdue and nudges follow it)
    late_due_on: date
    slack_business_days: int
    critical: bool
    due_version: int = 1
    nudges_sent: int = 0
    last_nudged_on: date | None = None

    @property
    def progress(self) -> TaskProgress:
        return TaskProgress(self.state, self.started_on, self.done_on)

    def redated(
        self, *, start_on: date, due_on: date, late_due_on: date, slack_business_days: int, critical: bool
    ) -> TaskRecord:
        """The row with a plan's dates (``redated_tasks``): ``_replace`` spelled out by position, at three fifths
        of its cost."""
        return TaskRecord(
            self.key,
            self.position,
            self.title,
            self.milestone_key,
            self.milestone_title,
            self.owner_role,
            self.side,
            self.calendar,
            self.kind,
            self.duration_business_days,
            self.customer_visible,
            self.first_value,
            self.launch,
            self.state,
            self.started_on,
            self.done_on,
            start_on,
            due_on,
            self.target_due_on,
            late_due_on,
            slack_business_days,
            critical,
            self.due_version,
            self.nudges_sent,
            self.last_nudged_on,
        )


def replan_after(tasks: Iterable[TaskRecord]) -> date | None:
    """The last day a project's plan holds as it is; None when no work is left.

    A re-forecast starts nothing not yet started before today and projects work in
    progress due no earlier than today; nothing else a project keeps of its plan
    depends on today (the launch window's trace of rejected dates does, but it is
    not kept). So the plan moves on the first day after the earliest projected start
    of work not started and the earliest projected due date of work in progress, and
    not before: a daily sweep re-plans a project when today is past this date.
    """
    return min(
        (
            t.due_on if t.started_on is not None and t.duration_business_days > 0 else t.start_on
            for t in tasks
            if t.state in OPEN
        ),
        default=None,
    )


@dataclass(frozen=True)
class ProjectRecord:
    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint_key: str
    blueprint_version: str
    blueprint_title: str
    blueprint_source: str
    blueprint_text: str
    kickoff_on: date
    pay_schedule: str | None
    state: ProjectState
    committed_go_live_on: date | None
    projected_go_live_on: date | None
    finish_on: date
    bindings: Mapping[str, Person]
    tasks: tuple[TaskRecord, ...]
    created_at: datetime
    updated_at: datetime
    version: int = 1
    # The customer's own calendar and time zone given at launch (None: the blueprint's customer calendar).
    customer_calendar: CustomerCalendar | None = None
    # The go-live committed at launch (``committed_go_live_on`` is the latest commitment, moved by a recommit):
    # the portfolio's on-time rate measures against this one. None before the first recommit means the same.
    first_committed_go_live_on: date | None = None
    recommits: int = 0
    # The last day a re-forecast moved the projected go-live (None: never since launch): news for the weekly update.
    go_live_moved_on: date | None = None
    # The last day a daily sweep may leave the project as stored (``sweep_after``): its projected go-live holds
    # until then, while the dates of late work move with each day and are worked out when read (``as_of``).
    # None: not worked out since the plan last changed, and the plan's own ``replan_after`` stands.
    go_live_holds_until: date | None = None

    @property
    def sweep_after(self) -> date | None:
        """The last day a daily sweep may leave the project as stored (it re-forecasts it after that); None when
        no day will move it."""
        return self.go_live_holds_until if self.go_live_holds_until is not None else replan_after(self.tasks)

    @property
    def launch_commitment(self) -> date | None:
        """The go-live committed at launch, whatever recommits came after."""
        return self.first_committed_go_live_on if self.recommits else self.committed_go_live_on

    def task(self, key: str) -> TaskRecord:
        return next(t for t in self.tasks if t.key == key)

    @cached_property
    def progress(self) -> Mapping[str, TaskProgress]:
        """Each started task's progress, by key: worked out once a record (a change, its re-forecast and the plan
        of its targets each read it), read-only (a record is never changed: ``replace`` makes another)."""
        return MappingProxyType({t.key: t.progress for t in self.tasks if t.state is not TaskState.pending})

    def overdue(self, today: date) -> list[TaskRecord]:
        return [t for t in self.tasks if t.state in OPEN and t.target_due_on < today]

    def at_risk(self, today: date) -> bool:
        """At risk as the portfolio report counts it (``core.portfolio``): active or on hold, and its projected
        go-live past the committed one, or a customer task overdue, or a task blocked, or the project on hold."""
        if self.state not in (ProjectState.active, ProjectState.on_hold):
            return False
        committed, projected = self.committed_go_live_on, self.projected_go_live_on
        return (
            (committed is not None and projected is not None and projected > committed)
            or self.state is ProjectState.on_hold
            or any(t.state is TaskState.blocked for t in self.tasks)
            or any(t.side == "customer" for t in self.overdue(today))
        )


def new_project_id(customer: str) -> str:
    """A readable, unique id: the customer's name as a slug and a random suffix."""
    slug = re.sub(r"[^a-z0-9]+", "-", customer.lower()).strip("-")[:40] or "project"
    return f"{slug}-{secrets.token_hex(3)}"


@dataclass(frozen=True, slots=True)
class LaunchInputs:
    """What a launch asks for, as far as relaunching the same external id must match it."""

    blueprint_key: str
    blueprint_version: str
    customer: str
    kickoff_on: date
    pay_schedule: str | None
    segment: str | None
    bindings: Mapping[str, Person]
    contract_signed_on: date | None
    customer_calendar: CustomerCalendar | None = None


def launch_differences(launched: LaunchInputs, asked: LaunchInputs) -> list[str]:
    """How a relaunch of an external id differs from its first launch, one line per difference (none: the same).

    Retrying a launch is safe; asking the same external id for another blueprint,
    customer, kickoff, pay schedule, segment, contract day or other people is a
    different request, and these lines say what differs.
    """

    def shown(value: object) -> str:
        if value is None:
            return "none"
        if isinstance(value, CustomerCalendar):
            return value.describe()
        if isinstance(value, Person):
            return f"{value.name} <{value.email}>" + (f";tz={value.timezone}" if value.timezone != "UTC" else "")
        return repr(value) if isinstance(value, str) else str(value)

    pairs: list[tuple[str, object, object]] = [
        (
            "blueprint",
            f"{launched.blueprint_key} {launched.blueprint_version}",
            f"{asked.blueprint_key} {asked.blueprint_version}",
        ),
        ("customer", launched.customer, asked.customer),
        ("kickoff", launched.kickoff_on, asked.kickoff_on),
        ("pay schedule", launched.pay_schedule, asked.pay_schedule),
        ("segment", launched.segment, asked.segment),
        ("contract signed", launched.contract_signed_on, asked.contract_signed_on),
        ("customer calendar", launched.customer_calendar, asked.customer_calendar),
    ]
    pairs += [
        (f"role {role}", launched.bindings.get(role), asked.bindings.get(role))
        for role in sorted({*launched.bindings, *asked.bindings})
    ]
    return [
        f"{name}: launched with {shown(before)}, now asked for {shown(after)}"
        for name, before, after in pairs
        if before != after
    ]


def task_records(
    plan: Plan,
    blueprint: Blueprint,
    *,
    progress: Mapping[str, TaskProgress] | None = None,
    previous: Mapping[str, TaskRecord] | None = None,
    targets: Mapping[str, date] | None = None,
) -> tuple[TaskRecord, ...]:
    """Task rows for a plan, keeping progress and nudge counters.

    ``targets`` is each task's due date in the plan from the actual dates without
    "not before today" (the dates work was expected by, ``planned_dates``); at launch
    they are the plan's own. A finished task keeps the target it had while open (the
    targets plan dates it by its own finish). A changed target bumps the task's
    due_version, which starts its nudges afresh (so does reopening a task:
    ``ProjectService.change_task``).
    """
    expected = targets if targets is not None else {t.task.key: t.due_on for t in plan.tasks}
    titles = {m.key: m.title for m in blueprint.milestones}
    out: list[TaskRecord] = []
    for planned in plan.tasks:
        t = planned.task
        before = (previous or {}).get(t.key)
        p = (progress or {}).get(t.key, TaskProgress())
        due_version = before.due_version if before else 1
        nudges_sent = before.nudges_sent if before else 0
        last_nudged_on = before.last_nudged_on if before else None
        target = expected[t.key]
        if before is not None and p.state in FINISHED:
            # a finished task keeps the date it was expected by while open: its own lateness is its slip
            target = before.target_due_on
        if before is not None and before.target_due_on != target:
            due_version, nudges_sent, last_nudged_on = due_version + 1, 0, None
        out.append(
            TaskRecord(
                key=t.key,
                position=t.position,
                title=t.title,
                milestone_key=t.milestone,
                milestone_title=titles[t.milestone],
                owner_role=t.owner,
                side=t.side,
                calendar=t.calendar.value,
                kind=t.kind.value,
                duration_business_days=t.duration_business_days,
                customer_visible=t.customer_visible,
                first_value=t.first_value,
                launch=t.launch,
                state=p.state,
                started_on=p.started_on,
                done_on=p.done_on,
                start_on=planned.start_on,
                due_on=planned.due_on,
                target_due_on=target,
                late_due_on=planned.late_due_on,
                slack_business_days=planned.slack_business_days,
                critical=planned.critical,
                due_version=due_version,
                nudges_sent=nudges_sent,
                last_nudged_on=last_nudged_on,
            )
        )
    return tuple(out)


def with_plan(
    project: ProjectRecord,
    plan: Plan,
    blueprint: Blueprint,
    *,
    at: datetime,
    today: date,
    targets: Mapping[str, date] | None = None,
    keep_targets: bool = False,
) -> ProjectRecord:
    """The project with a re-forecast applied to its tasks and projected dates (and targets: from ``targets``,
    ``task_records``); a moved go-live is dated ``today``. ``keep_targets``: a plan of the progress as stored
    (targets depend on progress, not on today: a re-forecast of unchanged progress needs no targets plan), its
    dates put on the stored rows (``redated_tasks``)."""
    if keep_targets:
        tasks = redated_tasks(project.tasks, plan)
    else:
        previous = {t.key: t for t in project.tasks}
        tasks = task_records(plan, blueprint, progress=project.progress, previous=previous, targets=targets)
    go_live = _go_live(tasks, plan.go_live.chosen_on if plan.go_live else None)
    return replace(
        project,
        tasks=tasks,
        projected_go_live_on=go_live,
        finish_on=plan.finish_on,
        updated_at=at,
        go_live_moved_on=_moved_on(project, go_live, today=today),
        go_live_holds_until=None,  # a new plan: how long its go-live holds is worked out anew
    )


def _go_live(tasks: Sequence[TaskRecord], chosen_on: date | None) -> date | None:
    """The projected go-live of a plan that chose ``chosen_on``: the day the go-live task was done, once it is."""
    launch = next((t for t in tasks if t.launch), None)
    return launch.done_on if launch is not None and launch.done_on is not None else chosen_on


def _moved_on(project: ProjectRecord, go_live: date | None, *, today: date) -> date | None:
    """The day the project's go-live last moved, once it projects ``go_live`` (``today`` when that moves it)."""
    if project.projected_go_live_on is not None and go_live != project.projected_go_live_on:
        return today
    return project.go_live_moved_on


def reforecast_project(
    project: ProjectRecord, blueprint: Blueprint, *, graph: TaskGraph, today: date, at: datetime
) -> tuple[ProjectRecord, Plan]:
    """The project re-planned from ``today`` as it stands (its progress, commitment and calendars), and the plan.

    Two plans: the re-forecast (nothing not yet started starts before today), whose dates the tasks take,
    and the same without "not before today", whose due dates are what each task was expected by given when its
    predecessors really finished (its target, ``task_records``): of that one, only its dates are worked out
    (``planned_dates``). When "not before today" moved no date of the re-forecast (``Plan.held_by_today``: no
    work late), the two are the same plan, made once.
    """
    plan = _planned(project, blueprint, graph, today)
    targets = _planned_dates(project, blueprint, graph, None).due if plan.held_by_today else None
    return with_plan(project, plan, blueprint, at=at, targets=targets, today=today), plan


def _planned(project: ProjectRecord, blueprint: Blueprint, graph: TaskGraph, day: date | None) -> Plan:
    """The project planned as it stands, nothing not yet started before ``day`` (None: from the actual dates)."""
    return plan_project(blueprint, **_plan_inputs(project, graph, day))


def _planned_dates(project: ProjectRecord, blueprint: Blueprint, graph: TaskGraph, day: date | None) -> PlannedDates:
    """``_planned``'s dates alone (``planned_dates``): its tasks' due dates and its go-live."""
    return planned_dates(blueprint, **_plan_inputs(project, graph, day))


def _plan_inputs(project: ProjectRecord, graph: TaskGraph, day: date | None) -> PlanInputs:
    """What the planner is given of a project as it stands, nothing not yet started before ``day``."""
    return {
        "kickoff_on": project.kickoff_on,
        "graph": graph,
        "pay_schedule": parse_pay_schedule(project.pay_schedule) if project.pay_schedule else None,
        "progress": project.progress,
        "today": day,
        "committed_go_live_on": project.committed_go_live_on,
        "customer_calendar": project.customer_calendar,
    }


HOLDS_AT_MOST = 366 * 3  # days: a go-live that holds longer is looked at again then


def go_live_holds_until(
    project: ProjectRecord, blueprint: Blueprint, *, graph: TaskGraph, today: date, plan: Plan | None = None
) -> date:
    """The last day on which re-forecasting ``project`` (re-forecast as of ``today``) still projects the go-live it
    projects today; ``date.max`` when no day moves it (no work left, no go-live to project, or gone live).

    Nothing a sweep does for a project depends on the dates of its late work but its go-live (a window jump,
    the day it last moved); those dates move with each day and are worked out when read (``as_of``). Its plan
    holds as a whole until ``replan_after``; after that, each later day starts late work later, so the go-live
    can only stay or move later (the planner is monotone in "not before today"): found by doubling, then
    halving, the days ahead, each a plan from the one planner. Capped at ``HOLDS_AT_MOST`` days ahead.

    The search starts from a guess the plan of ``today`` (``plan``, when the caller has it) gives: the
    latest start of the go-live's open predecessors not started, the latest due date of those under way.
    Most days that guess is the answer and two plans confirm it; the search is exact either way.
    """
    holds = replan_after(project.tasks)
    launch = next((t for t in project.tasks if t.launch), None)
    if holds is None or launch is None or launch.state in FINISHED or project.projected_go_live_on is None:
        return date.max

    def moves(day: date) -> bool:
        try:
            that_day = _planned_dates(project, blueprint, graph, day)
        except OnboardingError:
            return True  # no safe launch as of that day: the sweep re-plans by then, and says so
        return that_day.go_live_on != project.projected_go_live_on

    holds = max(holds, today)
    step, last = 1, today + timedelta(days=HOLDS_AT_MOST)
    chain = graph.ancestors(launch.key) | {launch.key}
    under_way = {t.key for t in project.tasks if t.started_on is not None}
    still_open = {t.key for t in project.tasks if t.state in OPEN} & chain
    try:
        planned = plan or _planned(project, blueprint, graph, today)
    except OnboardingError:
        planned = None
    latest = (
        (p.late_due_on if p.task.key in under_way else p.late_start_on)
        for p in (planned.tasks if planned else ())
        if p.task.key in still_open
    )
    guess = min(latest, default=None)
    if guess is not None and holds < guess < last and not moves(guess):
        holds = guess
    while holds < last and not moves(min(holds + timedelta(days=step), last)):
        holds, step = min(holds + timedelta(days=step), last), step * 2
    if holds >= last:
        return last
    moved = min(holds + timedelta(days=step), last)  # holds through ``holds``, moved by ``moved``
    while (moved - holds).days > 1:
        middle = holds + timedelta(days=(moved - holds).days // 2)
        if moves(middle):
            moved = middle
        else:
            holds = middle
    return holds


def moved_since_stored(project: ProjectRecord, *, today: date) -> bool:
    """Whether the stored plan of an active project no longer holds ``today`` (its late work's dates moved)."""
    after = replan_after(project.tasks)
    return project.state is ProjectState.active and after is not None and after < today


def as_of(project: ProjectRecord, blueprint: Blueprint, *, graph: TaskGraph, today: date) -> ProjectRecord:
    """The project as a reader sees it ``today``: as stored when its plan holds, else re-forecast from today
    (the dates of late work moved, the go-live as stored until ``sweep_after``), written nowhere. An active
    project only: one on hold or ended keeps its plan as it stood."""
    if not moved_since_stored(project, today=today):
        return project
    plan = _planned(project, blueprint, graph, today)  # progress unchanged: the targets stay as they are
    current = with_plan(project, plan, blueprint, at=project.updated_at, today=today, keep_targets=True)
    return replace(current, go_live_holds_until=project.go_live_holds_until)


def dated_as_of(project: ProjectRecord, blueprint: Blueprint, *, graph: TaskGraph, today: date) -> ProjectRecord:
    """``as_of`` for a reader of its dates alone (a status email): each task's start and due date, the go-live, the
    day it last moved and the finish, as ``as_of`` gives them, from the planner's dates alone (``planned_dates``,
    about a quarter of a whole plan); each task's late dates, slack and critical flag as stored, not as of today."""
    if not moved_since_stored(project, today=today):
        return project
    dates = _planned_dates(project, blueprint, graph, today)
    tasks = tuple(
        t
        if t.start_on == dates.start[t.key] and t.due_on == dates.due[t.key]
        else t.redated(
            start_on=dates.start[t.key],
            due_on=dates.due[t.key],
            late_due_on=t.late_due_on,
            slack_business_days=t.slack_business_days,
            critical=t.critical,
        )
        for t in project.tasks
    )
    go_live = _go_live(tasks, dates.go_live_on)
    return replace(
        project,
        tasks=tasks,
        projected_go_live_on=go_live,
        finish_on=max(dates.due.values()),
        go_live_moved_on=_moved_on(project, go_live, today=today),
    )


def redated_tasks(stored: Sequence[TaskRecord], plan: Plan) -> tuple[TaskRecord, ...]:
    """The stored task rows with the dates ``plan`` gives them, for a plan of the same progress: the rows
    ``task_records`` would make of it (progress unchanged, so the targets, nudge counters and blueprint fields
    are as stored), each row kept as it is where its dates did not move. A project is read as of today far
    more often than it changes (a status email, a page), and most of its rows keep their dates: rows made
    anew cost as much as the plan."""
    previous = {t.key: t for t in stored}
    out: list[TaskRecord] = []
    for planned in plan.tasks:
        before = previous[planned.task.key]
        if (
            before.start_on != planned.start_on
            or before.due_on != planned.due_on
            or before.late_due_on != planned.late_due_on
            or before.slack_business_days != planned.slack_business_days
            or before.critical != planned.critical
        ):
            before = before.redated(
                start_on=planned.start_on,
                due_on=planned.due_on,
                late_due_on=planned.late_due_on,
                slack_business_days=planned.slack_business_days,
                critical=planned.critical,
            )
        out.append(before)
    return tuple(out)


def project_view(project: ProjectRecord) -> ProjectView:
    return {
        "id": project.id,
        "customer": project.customer,
        "blueprint_title": project.blueprint_title,
        "external_id": project.external_id,
    }


def contact(person: Person, role_title: str | None = None) -> ContactView:
    view: ContactView = {"name": person.name, "email": person.email}
    if role_title:
        view["role"] = role_title
    return view


def project_contact(blueprint: Blueprint, bindings: Mapping[str, Person], *, fallback: Person) -> Person:
    """Who answers replies about a project: the person bound to the blueprint's contact role (``contact``, else
    ``csm``), or ``fallback`` (the engine's sender) when there is none."""
    role = blueprint.contact_role
    return bindings.get(role, fallback) if role is not None else fallback


def contact_of(blueprint: Blueprint, bindings: Mapping[str, Person], *, fallback: Person) -> ContactView:
    """``project_contact`` as the emails show it: name, address and the title of the role they answer for."""
    person = project_contact(blueprint, bindings, fallback=fallback)
    role = blueprint.contact_role
    answers = role is not None and role in bindings and role in blueprint.roles
    return contact(person, blueprint.roles[role].title if answers and role is not None else None)


def kickoff_messages(project: ProjectRecord, blueprint: Blueprint, *, vendor_contact: Person) -> list[OutgoingMessage]:
    """One kickoff email per bound person, listing the milestones and that person's own tasks."""
    messages: list[OutgoingMessage] = []
    milestones: dict[str, list[TaskRecord]] = {}
    for t in project.tasks:
        milestones.setdefault(t.milestone_key, []).append(t)

    def milestone_views(*, customer: bool) -> list[MilestoneView]:
        """Milestones as one audience sees them: a customer's dates come from visible tasks only."""
        views: list[MilestoneView] = []
        for ts in milestones.values():
            shown = [t for t in ts if t.customer_visible or not customer]
            if shown:
                views.append(
                    {
                        "title": shown[0].milestone_title,
                        "state": "upcoming",
                        "start_on": min(t.start_on for t in shown).isoformat(),
                        "due_on": max(t.due_on for t in shown).isoformat(),
                    }
                )
        return views

    by_audience = {False: milestone_views(customer=False), True: milestone_views(customer=True)}
    descriptions = {t.key: t.description for m in blueprint.milestones for t in m.tasks if t.description}
    contact_role = blueprint.contact_role
    answers = contact_role is not None and project.bindings.get(contact_role) == vendor_contact
    vendor = contact(vendor_contact, blueprint.roles[contact_role].title if answers and contact_role else None)
    for role_key, person in sorted(project.bindings.items()):
        role = blueprint.roles[role_key]
        customer = role.side.value == "customer"
        visible = [t for t in project.tasks if t.customer_visible or not customer]
        milestone_list = by_audience[customer]
        own: list[TaskView] = []
        for t in visible:
            if t.owner_role != role_key or t.kind == "checkpoint":
                continue
            view: TaskView = {
                "title": t.title,
                "milestone": t.milestone_title,
                "owner_name": person.name,
                "start_on": t.start_on.isoformat(),
                "due_on": t.due_on.isoformat(),
            }
            if t.key in descriptions:
                view["description"] = descriptions[t.key]
            if customer:
                view["key"] = t.key
            own.append(view)
        go_live: GoLiveView | None = None
        if project.projected_go_live_on is not None:
            go_live = {
                "projected_on": project.projected_go_live_on.isoformat(),
                "committed_on": project.committed_go_live_on.isoformat() if project.committed_go_live_on else None,
                "on_track": True,
            }
        context: KickoffContext = {
            "project": project_view(project),
            "recipient_name": person.name,
            "role_title": role.title,
            "kickoff_on": project.kickoff_on.isoformat(),
            "milestones": milestone_list,
            "your_tasks": own,
            "go_live": go_live,
            "vendor_contact": vendor,
        }
        messages.append(
            OutgoingMessage(
                idempotency_key=f"kickoff:{project.id}:{role_key}",
                kind=MessageKind.kickoff,
                to=(person,),
                subject=f"{project.customer}: your {project.blueprint_title} starts {project.kickoff_on:%A %d %B}",
                context=dict(context),
                customer_facing=customer,
                project_id=project.id,
                reply_to=reply_to_text([(vendor_contact.name, vendor_contact.email)]),
            )
        )
    return messages


def status_document(project: ProjectRecord, *, today: date) -> dict[str, object]:
    """The project's state for people and machines: milestones, tasks, overdue work, go-live vs commitment."""
    milestones: dict[str, list[TaskRecord]] = {}
    for t in project.tasks:
        milestones.setdefault(t.milestone_key, []).append(t)

    def milestone_state(ts: list[TaskRecord]) -> str:
        if any(t.state is TaskState.cancelled for t in ts):
            return "cancelled"
        if all(t.state in (TaskState.done, TaskState.skipped) for t in ts):
            return "done"
        if any(t.state is not TaskState.pending for t in ts):
            return "in_progress"
        return "upcoming"

    overdue = project.overdue(today)
    committed, projected = project.committed_go_live_on, project.projected_go_live_on
    return {
        "id": project.id,
        "external_id": project.external_id,
        "customer": project.customer,
        "segment": project.segment,
        "blueprint": {
            "key": project.blueprint_key,
            "version": project.blueprint_version,
            "title": project.blueprint_title,
        },
        "state": project.state.value,
        "version": project.version,
        "as_of": today.isoformat(),
        # the customer's own calendar given at launch; null: the blueprint's customer calendar
        "customer_calendar": project.customer_calendar.document() if project.customer_calendar else None,
        "kickoff_on": project.kickoff_on.isoformat(),
        "finish_on": project.finish_on.isoformat(),
        "go_live": None
        if projected is None
        else {
            "committed_on": committed.isoformat() if committed else None,
            "projected_on": projected.isoformat(),
            "in_committed_window": committed is None or projected <= committed,
        },
        "milestones": [
            {
                "key": key,
                "title": ts[0].milestone_title,
                "state": milestone_state(ts),
                "start_on": min(t.start_on for t in ts).isoformat(),
                "due_on": max(t.due_on for t in ts).isoformat(),
            }
            for key, ts in milestones.items()
        ],
        "tasks": [
            {
                "key": t.key,
                "title": t.title,
                "milestone": t.milestone_key,
                "owner_role": t.owner_role,
                "owner": project.bindings[t.owner_role].name if t.owner_role in project.bindings else None,
                "side": t.side,
                "state": t.state.value,
                "start_on": t.start_on.isoformat(),
                "due_on": t.due_on.isoformat(),
                "target_due_on": t.target_due_on.isoformat(),
                "started_on": t.started_on.isoformat() if t.started_on else None,
                "done_on": t.done_on.isoformat() if t.done_on else None,
                "overdue": t in overdue,
                "critical": t.critical,
                "customer_visible": t.customer_visible,
            }
            for t in project.tasks
        ],
        "overdue": [t.key for t in overdue],
    }
