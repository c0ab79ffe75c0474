"""Task and project lifecycle: states, the declared transition table, and the events they make.

Every change of a task's or project's state goes through ``transition``/``hold``/
``resume``/``cancel``, which check the tables (``TRANSITIONS`` for tasks,
``PROJECT_TRANSITIONS`` for projects: cancelled is terminal, and no task of a
cancelled project changes), check dependencies (a task cannot start before
its finish-to-start predecessors are done, nor complete before the tasks it
follows are done or started, unless forced, and a forced change is recorded as
such), check the day the change happened (``date_problems``), and return the new
state with the events to append to the log. Pure: the caller passes the day, today
and the instant.

The day of a change is never after today. It is not before the project's kickoff,
nor, for a start or a completion, before the day each predecessor reached what the
dependency waits for (the same edges as the state check: a start waits for FS
predecessors' done day and SS predecessors' start day, a completion for FS and FF
predecessors' done day and SF predecessors' start day, and for the SS ones too when
it starts the task in the same step; lags are planning estimates, not checked
against what really happened; a skip waits for nothing), nor, for a completion or
a skip, before the task's own start. Those three may be overridden on purpose
(``force_date``), and the event records which were; a day more than a year before
kickoff is refused even then. A hold's day is not before kickoff nor before the
day the previous hold ended; a resume's is not before its hold's; neither is after
today, and none of these is overridden. A cancel needs a reason and is not dated
after today.

Not here: dates of the plan (``planning``), storage, who gets told (``nudges``,
``status``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from onboarding.core.blueprint import DependencyType
from onboarding.core.graph import TaskGraph
from onboarding.errors import Loc, Problem, TransitionRefused


class TaskState(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    done = "done"
    skipped = "skipped"
    blocked = "blocked"
    cancelled = "cancelled"  # open work closed by its project's cancellation; no action leads from it


class ProjectState(StrEnum):
    active = "active"
    on_hold = "on_hold"
    completed = "completed"
    cancelled = "cancelled"  # terminal: stopped for good, with a reason; nothing changes it afterwards


class ProjectAction(StrEnum):
    hold = "hold"
    resume = "resume"
    cancel = "cancel"


P = ProjectState
# FROM state, action -> TO state, for the project as a whole. A completed project changes only by a reopened
# task (``project_state_after``); a cancelled one never changes again.
PROJECT_TRANSITIONS: Mapping[tuple[ProjectState, ProjectAction], ProjectState] = {
    (P.active, ProjectAction.hold): P.on_hold,
    (P.on_hold, ProjectAction.resume): P.active,
    (P.active, ProjectAction.cancel): P.cancelled,
    (P.on_hold, ProjectAction.cancel): P.cancelled,
}
CANCELLED = "cancelled"  # the event of a cancellation (``cancel``)


class Action(StrEnum):
    start = "start"
    complete = "complete"
    skip = "skip"
    block = "block"
    unblock = "unblock"
    reopen = "reopen"


S = TaskState
# FROM state, action -> TO state. Unblock returns to where the task was (see transition).
TRANSITIONS: Mapping[tuple[TaskState, Action], TaskState] = {
    (S.pending, Action.start): S.in_progress,
    (S.pending, Action.complete): S.done,
    (S.in_progress, Action.complete): S.done,
    (S.pending, Action.skip): S.skipped,
    (S.in_progress, Action.skip): S.skipped,
    (S.blocked, Action.skip): S.skipped,
    (S.pending, Action.block): S.blocked,
    (S.in_progress, Action.block): S.blocked,
    (S.blocked, Action.unblock): S.pending,
    (S.done, Action.reopen): S.in_progress,
    (S.skipped, Action.reopen): S.pending,
}

FINISHED = frozenset({S.done, S.skipped})
STARTED = frozenset({S.in_progress, S.done, S.skipped})
OPEN = frozenset({S.pending, S.in_progress, S.blocked})

EVENT_OF = {
    Action.start: "task_started",
    Action.complete: "task_completed",
    Action.skip: "task_skipped",
    Action.block: "task_blocked",
    Action.unblock: "task_unblocked",
    Action.reopen: "task_reopened",
}


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """What has happened to a task: its state and the days work started and finished."""

    state: TaskState = TaskState.pending
    started_on: date | None = None
    done_on: date | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a project's append-only log."""

    kind: str
    at: datetime
    actor: str
    task_key: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def transition(
    graph: TaskGraph,
    progress: Mapping[str, TaskProgress],
    task_key: str,
    action: Action,
    *,
    on: date,
    at: datetime,
    actor: str,
    kickoff_on: date,
    today: date,
    force: bool = False,
    force_date: bool = False,
    reason: str | None = None,
    project_state: ProjectState = ProjectState.active,
) -> tuple[TaskProgress, Event]:
    """The task's new progress and the event recording it; raises TransitionRefused.

    ``force`` records the change although predecessors are not done; ``force_date``
    records it on a day the date rules refuse (never a day after today).
    """
    if project_state is ProjectState.cancelled:
        raise _refused("project-cancelled", "the project is cancelled", "a cancelled project no longer changes")
    if task_key not in graph.by_key:
        raise _refused("unknown-task", f"no task {task_key!r} in this project", "the project's status lists its tasks")
    if project_state is ProjectState.on_hold and action is not Action.block:
        raise _refused("project-on-hold", "the project is on hold", "resume the project first")
    current = progress.get(task_key, TaskProgress())
    target = TRANSITIONS.get((current.state, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is current.state)
        raise _refused(
            "invalid-transition",
            f"cannot {action.value} a task that is {current.state.value}",
            f"from {current.state.value} you can: {', '.join(allowed) or 'nothing'}",
        )
    waiting = waiting_for(graph, progress, task_key, action)
    refused: list[Problem] = []
    if waiting and not force:
        refused.append(
            Problem(
                "predecessors-not-done",
                f"cannot {action.value} {task_key!r}: waiting for " + ", ".join(waiting),
                (),
                "finish those first, or force the change (recorded as an exception)",
            )
        )
    dated = date_problems(graph, progress, task_key, action, on=on, kickoff_on=kickoff_on, today=today)
    refused += [p for p in dated if p.code not in OVERRIDABLE_DATE_CODES or not force_date]
    refused += _reason_too_long(reason)
    if refused:  # every problem at once
        raise TransitionRefused("task", tuple(refused))
    if action is Action.unblock and current.started_on is not None:
        target = S.in_progress
    started_on = current.started_on
    done_on = current.done_on
    if target is S.in_progress and started_on is None:
        started_on = on
    if target in FINISHED:
        done_on = on
        started_on = started_on or on
    if action is Action.reopen:
        done_on = None
        if target is S.pending:
            started_on = None
    new = replace(current, state=target, started_on=started_on, done_on=done_on)
    data: dict[str, Any] = {"from": current.state.value, "to": target.value, "on": on.isoformat()}
    if force and waiting:
        data["forced"] = True
        data["waiting_for"] = waiting
    if dated:  # only overridable problems are left here: force_date is set
        data["date_forced"] = sorted({p.code for p in dated})
    if reason:
        data["reason"] = reason
    return new, Event(EVENT_OF[action], at, actor, task_key, data)


def waiting_for(graph: TaskGraph, progress: Mapping[str, TaskProgress], key: str, action: Action) -> list[str]:
    """Predecessors that keep ``action`` from happening now, by the dependency types (none: it may happen)."""
    if action not in (Action.start, Action.complete):
        return []
    waiting: list[str] = []
    for edge in graph.predecessors[key]:
        state = progress.get(edge.predecessor, TaskProgress()).state
        if action is Action.start:
            blocking = (edge.type is DependencyType.FS and state not in FINISHED) or (
                edge.type is DependencyType.SS and state not in STARTED
            )
        else:
            blocking = (edge.type in (DependencyType.FS, DependencyType.FF) and state not in FINISHED) or (
                edge.type in (DependencyType.SS, DependencyType.SF) and state not in STARTED
            )
        if blocking and edge.predecessor not in waiting:
            waiting.append(edge.predecessor)
    return waiting


# Work recorded before kickoff (with the override) is at most this early: a plan cannot reach further back.
EARLIEST_BEFORE_KICKOFF = timedelta(days=366)
# Date problems a deliberate override (``force_date``) may record anyway; a day after today never.
OVERRIDABLE_DATE_CODES = frozenset({"date-before-kickoff", "date-before-predecessor", "date-before-start"})


def date_problems(
    graph: TaskGraph,
    progress: Mapping[str, TaskProgress],
    task_key: str,
    action: Action,
    *,
    on: date,
    kickoff_on: date,
    today: date,
) -> list[Problem]:
    """Why ``on`` cannot be the day ``action`` happened to the task (the rules in the module docstring)."""
    loc: Loc = ("on",)
    if on > today:
        return [
            Problem(
                "date-in-future",
                f"{on.isoformat()} is after today ({today.isoformat()}): record work when it has happened",
                loc,
                f"date it {today.isoformat()} or earlier",
            )
        ]
    if on < kickoff_on - EARLIEST_BEFORE_KICKOFF:
        return [
            Problem(
                "date-too-early",
                f"{on.isoformat()} is more than a year before the project's kickoff ({kickoff_on.isoformat()})",
                loc,
                f"date it {kickoff_on.isoformat()} or later",
            )
        ]
    override = "or force the date (recorded) if that is really what happened"
    problems: list[Problem] = []
    if on < kickoff_on:
        problems.append(
            Problem(
                "date-before-kickoff",
                f"{on.isoformat()} is before the project's kickoff ({kickoff_on.isoformat()})",
                loc,
                f"date it {kickoff_on.isoformat()} or later, {override}",
            )
        )
    started_on = progress.get(task_key, TaskProgress()).started_on
    if action in (Action.start, Action.complete):
        starts_now = action is Action.start or started_on is None  # completing unstarted work starts it too
        for edge in graph.predecessors[task_key]:
            before = progress.get(edge.predecessor, TaskProgress())
            waits_for_done = edge.type is DependencyType.FS or (
                action is Action.complete and edge.type is DependencyType.FF
            )
            waits_for_start = (starts_now and edge.type is DependencyType.SS) or (
                action is Action.complete and edge.type is DependencyType.SF
            )
            reached, what = None, ""
            if waits_for_done and before.state is S.done:
                reached, what = before.done_on, "was done"
            elif waits_for_start and before.state in STARTED:
                reached, what = before.started_on, "started"
            if reached is not None and on < reached:
                problems.append(
                    Problem(
                        "date-before-predecessor",
                        f"cannot {action.value} {task_key!r} on {on.isoformat()}: "
                        f"{edge.predecessor!r} ({edge.type.value}) {what} on {reached.isoformat()}",
                        loc,
                        f"date it {reached.isoformat()} or later, {override}",
                    )
                )
    if action in (Action.complete, Action.skip) and started_on is not None and on < started_on:
        problems.append(
            Problem(
                "date-before-start",
                f"cannot {action.value} {task_key!r} on {on.isoformat()}: it started on {started_on.isoformat()}",
                loc,
                f"date it {started_on.isoformat()} or later, {override}",
            )
        )
    return problems


def hold(
    state: ProjectState,
    *,
    on: date | None = None,
    today: date,
    kickoff_on: date,
    resumed_on: date | None = None,
    at: datetime,
    actor: str,
    reason: str | None = None,
) -> tuple[ProjectState, Event]:
    """Put an active project on hold from ``on`` (default: today).

    ``resumed_on`` is the day the previous hold ended, if there was one. The event
    keeps ``on`` only when it was given; without it, reports take the day of ``at``
    in the customer's time zone (``ttfv.held_periods``).
    """
    _project_target(state, ProjectAction.hold)
    day = on or today
    problems = _day_problems(day, today=today) + _reason_too_long(reason)
    if not problems and day < kickoff_on:
        problems.append(
            Problem(
                "date-before-kickoff",
                f"{day.isoformat()} is before the project's kickoff ({kickoff_on.isoformat()})",
                ("on",),
                f"date it {kickoff_on.isoformat()} or later",
            )
        )
    if not problems and resumed_on is not None and day < resumed_on:
        problems.append(
            Problem(
                "date-before-resume",
                f"{day.isoformat()} is before the day the previous hold ended ({resumed_on.isoformat()})",
                ("on",),
                f"date it {resumed_on.isoformat()} or later",
            )
        )
    if problems:
        raise TransitionRefused("project", tuple(problems))
    data: dict[str, Any] = {"on": on.isoformat()} if on is not None else {}
    if reason:
        data["reason"] = reason
    return ProjectState.on_hold, Event("project_held", at, actor, None, data)


def resume(
    state: ProjectState,
    *,
    on: date | None = None,
    today: date,
    held_on: date | None = None,
    at: datetime,
    actor: str,
) -> tuple[ProjectState, Event]:
    """Resume a held project from ``on`` (default: today); ``held_on`` is the day its hold began."""
    _project_target(state, ProjectAction.resume)
    day = on or today
    problems = _day_problems(day, today=today)
    if not problems and held_on is not None and day < held_on:
        problems.append(
            Problem(
                "date-before-hold",
                f"{day.isoformat()} is before the day the hold began ({held_on.isoformat()})",
                ("on",),
                f"date it {held_on.isoformat()} or later",
            )
        )
    if problems:
        raise TransitionRefused("project", tuple(problems))
    return ProjectState.active, Event("project_resumed", at, actor, None, {"on": on.isoformat()} if on else {})


MAX_REASON_CHARS = 2000


def cancel(
    state: ProjectState,
    *,
    on: date | None = None,
    today: date,
    kickoff_on: date,
    at: datetime,
    actor: str,
    reason: str,
) -> tuple[ProjectState, Event]:
    """Cancel an active or held project from ``on`` (default: today), for a reason that is required.

    Cancelled is terminal: no task, hold, resume or commitment changes afterwards, the
    sweep leaves the project alone and the reports count it apart. The event keeps the
    state it left and ``on`` only when given (reports then take the day of ``at`` in
    the customer's time zone, as for holds).
    """
    target = _project_target(state, ProjectAction.cancel)
    problems = reason_problems(reason)
    day = on or today
    problems += _day_problems(day, today=today)
    if not problems and day < kickoff_on - EARLIEST_BEFORE_KICKOFF:
        problems.append(
            Problem(
                "date-too-early",
                f"{day.isoformat()} is more than a year before the project's kickoff ({kickoff_on.isoformat()})",
                ("on",),
                f"give {kickoff_on.isoformat()} or a later day",
            )
        )
    if problems:
        raise TransitionRefused("project", tuple(problems))
    data: dict[str, Any] = {"from": state.value, "reason": reason.strip()}
    if on is not None:
        data["on"] = on.isoformat()
    return target, Event(CANCELLED, at, actor, None, data)


def reason_problems(reason: str | None, *, loc: Loc = ("reason",)) -> list[Problem]:
    """Why a change's reason cannot be recorded: missing, blank or longer than ``MAX_REASON_CHARS``."""
    text = (reason or "").strip()
    if not text:
        return [Problem("reason-required", "a reason is required for this change", loc, "say why, in a sentence")]
    if len(text) > MAX_REASON_CHARS:
        return [
            Problem(
                "text-too-long",
                f"the reason is {len(text)} characters long; at most {MAX_REASON_CHARS} are kept",
                loc,
                "shorten it",
            )
        ]
    return []


def _reason_too_long(reason: str | None) -> list[Problem]:
    """A reason given where one is optional (a block, a hold) is kept to ``MAX_REASON_CHARS`` as well."""
    return [p for p in reason_problems(reason) if p.code == "text-too-long"] if reason else []


def _project_target(state: ProjectState, action: ProjectAction) -> ProjectState:
    """The state ``action`` takes the project to, by the table; raises TransitionRefused with why not."""
    target = PROJECT_TRANSITIONS.get((state, action))
    if target is not None:
        return target
    if state is ProjectState.cancelled:
        raise _refused(
            "project-cancelled", f"cannot {action.value} a cancelled project", "it no longer changes", source="project"
        )
    if state is ProjectState.completed and action is ProjectAction.cancel:
        raise _refused(
            "project-completed",
            "cannot cancel a project that is completed (live)",
            "a project that went live is not cancelled; reopen a task first if it is not really done",
            source="project",
        )
    allowed = sorted(a.value for (s, a) in PROJECT_TRANSITIONS if s is state)
    raise _refused(
        "invalid-transition",
        f"cannot {action.value} a project that is {state.value}",
        f"from {state.value} it can: {', '.join(allowed) or 'nothing'}",
        source="project",
    )


def _day_problems(day: date, *, today: date) -> list[Problem]:
    if day <= today:
        return []
    return [
        Problem(
            "date-in-future",
            f"{day.isoformat()} is after today ({today.isoformat()}): record what has happened",
            ("on",),
            f"date it {today.isoformat()} or earlier",
        )
    ]


def project_state_after(progress: Mapping[str, TaskProgress], graph: TaskGraph, current: ProjectState) -> ProjectState:
    """Completed once every task is done or skipped; otherwise unchanged (a reopened task reactivates)."""
    finished = all(progress.get(t.key, TaskProgress()).state in FINISHED for t in graph.tasks)
    if finished:
        return ProjectState.completed
    return ProjectState.active if current is ProjectState.completed else current


def _refused(code: str, message: str, hint: str, *, source: str = "task") -> TransitionRefused:
    return TransitionRefused(source, (Problem(code, message, (), hint),))
