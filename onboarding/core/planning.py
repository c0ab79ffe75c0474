"""Planning: the critical path method on business days, with the launch window.

``plan_project`` takes a checked blueprint, the kickoff date and the pay schedule
and returns a ``Plan``: every task dated on its own calendar, late dates and
slack from the backward pass, the critical path, milestone spans, the go-live
chosen by the launch-window solver and the pay dates of the plan's span. It is
pure: no clock, no I/O. The rules are DESIGN §3, in short:

- a task of d >= 1 days starting on S is due d-1 business days after S;
- FS lag L: start on the (1+L)-th business day after the predecessor's due date;
  SS: start no earlier than L business days after its start; FF: due no earlier
  than L business days after its due date; SF: due no earlier than L business
  days after its start; lags count on the successor's calendar (``step``);
- a checkpoint is due on the latest day its dependencies reach (``count_from``,
  from the last business day on or before), or on the kickoff day;
- nothing starts before the first business day on or after kickoff;
- the go-live is due on the date the solver chose; parallel runs are pinned to
  their pay cycle; banking-day prerequisites are deadlines;
- late dates come back from the project's finish with pinned tasks held.

Not here: which dates are allowed for go-live (``core/launch.py``), pay dates
(``core/payroll.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Required, TypedDict, Unpack

from onboarding.core.blueprint import Blueprint, CalendarName, DependencyType, calendar_keys
from onboarding.core.calendars import BusinessCalendar, CalendarKey, business_calendar
from onboarding.core.customer_calendar import CustomerCalendar, with_customer
from onboarding.core.graph import CompiledTask, TaskGraph, compile_blueprint
from onboarding.core.launch import LaunchDecision, LaunchInputs, Prerequisite, solve_launch
from onboarding.core.lifecycle import FINISHED, TaskProgress
from onboarding.core.payroll import PayDate, PaySchedule, extra_payday_warnings, pay_dates
from onboarding.errors import PlanInputInvalid, Problem

_FINISH_TYPES = (DependencyType.FS, DependencyType.FF)

# Holiday tables are meaningful for these years; a plan may run a few years past its kickoff.
MIN_KICKOFF_YEAR = 1950
MAX_KICKOFF_YEAR = 2150


@dataclass(frozen=True, slots=True)
class PlannedTask:
    task: CompiledTask
    start_on: date
    due_on: date
    late_start_on: date
    late_due_on: date
    slack_business_days: int
    critical: bool


@dataclass(frozen=True, slots=True)
class PlannedMilestone:
    key: str
    title: str
    start_on: date
    due_on: date


@dataclass(frozen=True)
class Plan:
    blueprint_key: str
    blueprint_version: str
    kickoff_on: date
    finish_on: date
    calendars: Mapping[CalendarName, CalendarKey]
    pay_schedule: PaySchedule | None
    graph: TaskGraph
    tasks: tuple[PlannedTask, ...]
    milestones: tuple[PlannedMilestone, ...]
    go_live: LaunchDecision | None
    pay_dates: tuple[PayDate, ...]
    warnings: tuple[str, ...]
    # A re-forecast's "nothing not yet started starts before today" (or "work overdue is projected due today")
    # may have moved a date: False when it moved none, so that this plan is also the plan from the actual dates
    # alone (``today=None``; the same dates, go-live and pins). True whenever it cannot tell.
    held_by_today: bool = False

    def task(self, key: str) -> PlannedTask:
        return self.tasks[self.graph.by_key[key].position]


@dataclass(frozen=True)
class _Dates:
    start: dict[str, date]
    due: dict[str, date]
    natural_due: dict[str, date]  # before pins: when the task could be due at the earliest
    held_by_today: bool  # a date was, or may have been, moved by today's floor rather than kickoff's


class _Scheduler:
    """One blueprint's graph on its calendars; passes are methods so the solver can re-run them."""

    def __init__(
        self,
        graph: TaskGraph,
        calendars: Mapping[CalendarName, BusinessCalendar],
        kickoff_on: date,
        *,
        progress: Mapping[str, TaskProgress] | None = None,
        today: date | None = None,
    ):
        self.graph = graph
        self.calendars = calendars
        self.cal = {t.key: calendars[t.calendar] for t in graph.tasks}
        # Nothing starts before kickoff; in a re-forecast, nothing not yet started starts before today.
        first = max(kickoff_on, today) if today is not None else kickoff_on
        self.floor = {name: cal.next_on_or_after(first) for name, cal in calendars.items()}
        self.today_floor = {name: cal.next_on_or_after(today or kickoff_on) for name, cal in calendars.items()}
        # the floors without a today (a plan from the actual dates), never later: a date is held by today where
        # its floor with today is later than what kickoff and its predecessors give it
        self.kickoff_floor = {name: cal.next_on_or_after(kickoff_on) for name, cal in calendars.items()}
        self.kickoff_on = kickoff_on
        self.progress: Mapping[str, TaskProgress] = progress or {}

    def forward(self, pins: Mapping[str, date]) -> _Dates:
        """Early dates; a pinned task is due on its pin (its natural due date is kept too)."""
        start: dict[str, date] = {}
        due: dict[str, date] = {}
        natural: dict[str, date] = {}
        by_key = self.graph.by_key
        predecessors = self.graph.predecessors
        progress = self.progress
        held = False
        for key in self.graph.order:
            task = by_key[key]
            cal = self.cal[key]
            floor = self.floor[task.calendar]
            kickoff_floor = self.kickoff_floor[task.calendar]
            actual = progress.get(key) if progress else None
            started_on: date | None = None
            if actual is not None:
                if actual.state in FINISHED and actual.done_on is not None:
                    # done and skipped tasks keep what happened
                    start[key] = min(actual.started_on or actual.done_on, actual.done_on)
                    due[key] = natural[key] = actual.done_on
                    continue
                if actual.started_on is not None and task.duration_business_days > 0:
                    started_on = actual.started_on
            if task.duration_business_days == 0:
                reached = kickoff_floor
                for edge in predecessors[key]:
                    anchor = due[edge.predecessor] if edge.type in _FINISH_TYPES else start[edge.predecessor]
                    day = cal.count_from(anchor, edge.lag_business_days)
                    if day > reached:
                        reached = day
                if reached < floor:
                    reached, held = floor, True
                natural[key] = reached
                pinned = pins.get(key, reached)
                start[key] = due[key] = pinned
                continue
            earliest_start = kickoff_floor
            earliest_due: date | None = None
            for edge in predecessors[key]:
                lag = edge.lag_business_days
                t = edge.type
                if t is DependencyType.FS:
                    day = cal.step(due[edge.predecessor], 1 + lag)
                elif t is DependencyType.SS:
                    day = cal.step(start[edge.predecessor], lag)
                else:
                    day = cal.step(due[edge.predecessor] if t is DependencyType.FF else start[edge.predecessor], lag)
                    if earliest_due is None or day > earliest_due:
                        earliest_due = day
                    continue
                if day > earliest_start:
                    earliest_start = day
            span = task.duration_business_days - 1
            if started_on is not None:
                # in progress: keeps its start and due date; once overdue it is projected due today
                begin = started_on
                end = cal.add(cal.next_on_or_after(started_on), span)
                if earliest_due is not None and earliest_due > end:
                    end = cal.next_on_or_after(earliest_due)
                today_floor = self.today_floor[task.calendar]
                if max(end, today_floor) != max(end, kickoff_floor):
                    held = True  # projected due today (or, started before kickoff, due by kickoff without one)
                end = max(end, today_floor)
                start[key] = begin
                due[key] = natural[key] = end
                continue
            if earliest_start < floor:
                earliest_start, held = floor, True
            begin = cal.next_on_or_after(earliest_start)
            end = cal.add(begin, span)
            if earliest_due is not None and earliest_due > end:
                end = cal.next_on_or_after(earliest_due)
                begin = cal.add(end, -span)
            natural[key] = end
            if key in pins:
                end = pins[key]
                begin = cal.add(end, -span)
            start[key] = begin
            due[key] = end
        return _Dates(start, due, natural, held)

    def backward(
        self, dates: _Dates, *, finish_on: date, holds: Mapping[str, date], deadlines: Mapping[str, date]
    ) -> tuple[dict[str, date], dict[str, date]]:
        """Late start and late due of every task, from the finish, holding pinned tasks."""
        late_start: dict[str, date] = {}
        late_due: dict[str, date] = {}
        by_key = self.graph.by_key
        successors = self.graph.successors
        progress = self.progress
        for key in reversed(self.graph.order):
            task = by_key[key]
            cal = self.cal[key]
            span = max(task.duration_business_days - 1, 0)
            actual = progress.get(key) if progress else None
            if actual is not None and actual.state in FINISHED:
                late_start[key], late_due[key] = dates.start[key], dates.due[key]
                continue
            if key in holds:
                late = holds[key]
            else:
                late = cal.prev_on_or_before(finish_on)
                if key in deadlines and deadlines[key] < late:
                    late = deadlines[key]
                for edge in successors[key]:
                    succ = edge.successor
                    scal = self.cal[succ]
                    lag = edge.lag_business_days
                    t = edge.type
                    if by_key[succ].duration_business_days == 0:
                        bound = scal.latest_before_count(cal, late_due[succ], lag)
                    elif t is DependencyType.FS:
                        bound = scal.latest_before_step(cal, late_start[succ], 1 + lag)
                    elif t is DependencyType.FF:
                        bound = scal.latest_before_step(cal, late_due[succ], lag)
                    elif t is DependencyType.SS:
                        bound = scal.latest_before_step(cal, late_start[succ], lag)
                    else:
                        bound = scal.latest_before_step(cal, late_due[succ], lag)
                    if t in (DependencyType.SS, DependencyType.SF):
                        bound = cal.add(bound, span)  # a bound on the start moves the due date with it
                    if bound < late:
                        late = bound
            late_due[key] = late
            late_start[key] = cal.add(late, -span)
            if actual is not None and actual.started_on is not None and span:
                late_start[key] = min(late_start[key], dates.start[key])  # a start in the past stays put
        return late_start, late_due


def scheduling_calendars(
    blueprint: Blueprint, *, customer: CustomerCalendar | None = None
) -> dict[CalendarName, BusinessCalendar]:
    """The blueprint's calendars by name, the project's own customer calendar in place of its customer one."""
    calendars = with_customer(blueprint.calendars, customer)
    return {name: business_calendar(key, name=name.value) for name, key in calendar_keys(calendars).items()}


class PlanInputs(TypedDict, total=False):
    """What a plan is made from besides its blueprint: ``plan_project``'s keywords."""

    kickoff_on: Required[date]
    pay_schedule: PaySchedule | None
    graph: TaskGraph | None
    progress: Mapping[str, TaskProgress] | None
    today: date | None
    committed_go_live_on: date | None
    customer_calendar: CustomerCalendar | None


def plan_project(blueprint: Blueprint, **inputs: Unpack[PlanInputs]) -> Plan:
    """A dated plan of a checked blueprint from its kickoff (pure; raises NoSafeLaunch, PlanInputInvalid).

    With ``progress`` and ``today`` it is a re-forecast: done and skipped tasks keep
    their actual dates, started ones their start, and nothing else starts before
    today. ``committed_go_live_on`` keeps the go-live no earlier than the date
    committed at launch (it moves later only when it can no longer be met).
    ``customer_calendar`` is the project's own (``core/customer_calendar``): customer-side
    tasks, and the go-live rules on the customer's calendar, run on it.
    """
    scheduled = _schedule(blueprint, **inputs)
    progress, pay_schedule, kickoff_on = inputs.get("progress"), inputs.get("pay_schedule"), inputs["kickoff_on"]
    scheduler, decision, dates = scheduled.scheduler, scheduled.decision, scheduled.dates
    graph, calendars = scheduler.graph, scheduler.calendars
    finish_on = max(dates.due.values())
    late_start, late_due = scheduler.backward(
        dates, finish_on=finish_on, holds=scheduled.holds, deadlines=scheduled.deadlines
    )

    planned: list[PlannedTask] = []
    for task in graph.tasks:
        cal = scheduler.cal[task.key]
        start = dates.start[task.key]
        actual = (progress or {}).get(task.key)
        if actual is not None and actual.state in FINISHED:
            end = dates.due[task.key]
            planned.append(PlannedTask(task, start, end, start, end, slack_business_days=0, critical=False))
            continue
        slack = cal.business_days_between(cal.next_on_or_after(start), cal.next_on_or_after(late_start[task.key]))
        planned.append(
            PlannedTask(task, start, dates.due[task.key], late_start[task.key], late_due[task.key], slack, slack <= 0)
        )
    milestones = tuple(
        PlannedMilestone(
            key=m.key,
            title=m.title,
            start_on=min(dates.start[t.key] for t in m.tasks),
            due_on=max(dates.due[t.key] for t in m.tasks),
        )
        for m in blueprint.milestones
    )
    span_dates: tuple[PayDate, ...] = ()
    warnings: list[str] = list(decision.warnings) if decision else []
    if pay_schedule is not None:
        settlement = calendars[CalendarName.settlement]
        span_dates = pay_dates(pay_schedule, settlement, start=kickoff_on, end=finish_on)
        years = range(kickoff_on.year, finish_on.year + 1)
        warnings.extend(w for w in extra_payday_warnings(pay_schedule, settlement, years=years) if w not in warnings)
    return Plan(
        blueprint_key=blueprint.key,
        blueprint_version=blueprint.version,
        kickoff_on=kickoff_on,
        finish_on=finish_on,
        calendars=calendar_keys(with_customer(blueprint.calendars, inputs.get("customer_calendar"))),
        pay_schedule=pay_schedule,
        graph=graph,
        tasks=tuple(planned),
        milestones=milestones,
        go_live=decision,
        pay_dates=span_dates,
        warnings=tuple(warnings),
        held_by_today=scheduled.held_by_today,
    )


@dataclass(frozen=True)
class PlannedDates:
    """What ``plan_project`` dates, without what it works out from those dates (late dates, slack, the critical
    path, milestones, pay dates): each task's start and due date and the go-live chosen (None: no go-live left to
    choose)."""

    due: Mapping[str, date]
    go_live_on: date | None
    held_by_today: bool  # as ``Plan.held_by_today``
    start: Mapping[str, date]  # each task's start date


def planned_dates(blueprint: Blueprint, **inputs: Unpack[PlanInputs]) -> PlannedDates:
    """The dates ``plan_project`` gives each task and the go-live, from the same passes and launch decision, with
    nothing more worked out: what a re-forecast's targets (the plan from the actual dates) and the search for
    how long its go-live holds read of a plan, at about a quarter of the cost of a whole one."""
    scheduled = _schedule(blueprint, **inputs)
    return PlannedDates(
        scheduled.dates.due,
        scheduled.decision.chosen_on if scheduled.decision is not None else None,
        scheduled.held_by_today,
        scheduled.dates.start,
    )


@dataclass(frozen=True)
class _Scheduled:
    """The passes and launch decision of a plan: its dates, and the pins and deadlines the backward pass holds."""

    scheduler: _Scheduler
    decision: LaunchDecision | None
    dates: _Dates
    holds: dict[str, date]
    deadlines: dict[str, date]
    # Held by nothing in the natural pass (which gives the go-live's earliest day) nor in the pass of the
    # chosen pins (which gives the dates): the same plan without today. The solver's trials between need no
    # flag: a candidate that passes dates nothing before the natural pass does (its pins are no earlier than
    # their tasks' natural due dates), so with or without today it dates the same and passes; one that
    # fails without today fails with it, for today only moves dates later.
    held_by_today: bool


def _schedule(
    blueprint: Blueprint,
    *,
    kickoff_on: date,
    pay_schedule: PaySchedule | None = None,
    graph: TaskGraph | None = None,
    progress: Mapping[str, TaskProgress] | None = None,
    today: date | None = None,
    committed_go_live_on: date | None = None,
    customer_calendar: CustomerCalendar | None = None,
) -> _Scheduled:
    """``plan_project``'s inputs checked, its forward passes run and its go-live chosen."""
    if not MIN_KICKOFF_YEAR <= kickoff_on.year <= MAX_KICKOFF_YEAR:
        raise PlanInputInvalid(
            "plan",
            (
                Problem(
                    "kickoff-out-of-range",
                    f"kickoff {kickoff_on.isoformat()} is outside the years the calendars cover",
                    ("kickoff_on",),
                    f"give a kickoff between {MIN_KICKOFF_YEAR} and {MAX_KICKOFF_YEAR}",
                ),
            ),
        )
    graph = graph or compile_blueprint(blueprint)
    calendars = scheduling_calendars(blueprint, customer=customer_calendar)
    window = blueprint.launch_window
    if window is not None and pay_schedule is None:
        raise PlanInputInvalid(
            "plan",
            (
                Problem(
                    "missing-pay-schedule",
                    "this blueprint's launch window needs the customer's pay schedule",
                    ("pay_schedule",),
                    "give the customer's pay schedule (e.g. biweekly:2026-01-02), or a pay_schedule in the blueprint",
                ),
            ),
        )
    scheduler = _Scheduler(graph, calendars, kickoff_on, progress=progress, today=today)
    natural = scheduler.forward({})
    launch_task = graph.launch_task
    launch_progress = (progress or {}).get(launch_task.key) if launch_task is not None else None
    if launch_progress is not None and launch_progress.state in FINISHED:
        launch_task = None  # it happened: nothing left to choose
    decision: LaunchDecision | None = None
    dates = natural
    holds: dict[str, date] = {}
    deadlines: dict[str, date] = {}
    if launch_task is not None:
        prerequisites: tuple[Prerequisite, ...] = ()
        if window is not None and window.kind == "payroll_system":
            prerequisites = tuple(
                Prerequisite(
                    task=p.task,
                    calendar=scheduler.cal[p.task],
                    earliest_due_on=natural.natural_due[p.task],
                    banking_days_before=p.banking_days_before,
                    pay_cycles_before=p.pay_cycles_before,
                )
                for p in window.prerequisites
            )

        trials: dict[tuple[date, tuple[tuple[str, date], ...]], _Dates] = {}

        def check(candidate: date, pins: Mapping[str, date], deadlines: Mapping[str, date]) -> str | None:
            """Re-run the forward pass with the candidate's pins: does everything still fit?"""
            trial = scheduler.forward({**pins, launch_task.key: candidate})
            trials.clear()  # keep the last one: it is the chosen one when the candidate passes
            trials[candidate, tuple(sorted(pins.items()))] = trial
            limits = {**deadlines, **pins, launch_task.key: candidate}
            late = [k for k, limit in limits.items() if trial.natural_due[k] > limit]
            if not late:
                return None
            first = late[0]
            return (
                f"{first} could not be done by {limits[first].isoformat()} "
                f"(earliest {trial.natural_due[first].isoformat()}) once the pay-cycle tasks are placed"
            )

        earliest_on = natural.natural_due[launch_task.key]
        if committed_go_live_on is not None and committed_go_live_on > earliest_on:
            earliest_on = committed_go_live_on
        decision = solve_launch(
            LaunchInputs(
                task=launch_task.key,
                window=window,
                earliest_on=earliest_on,
                launch_calendar=scheduler.cal[launch_task.key],
                settlement=calendars[CalendarName.settlement],
                pay_schedule=pay_schedule,
                prerequisites=prerequisites,
                check=check,
            )
        )
        holds = {**decision.pins, launch_task.key: decision.chosen_on}
        deadlines = dict(decision.deadlines)
        reused = trials.get((decision.chosen_on, tuple(sorted(decision.pins.items()))))
        dates = reused or scheduler.forward(holds)
    return _Scheduled(scheduler, decision, dates, holds, deadlines, natural.held_by_today or dates.held_by_today)
