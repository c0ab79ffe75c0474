"""Task and project lifecycle: states, the declared transition table, and the events they make.

Every change of a task's or project's state goes through ``transition``/``hold``/
``resume``, which check the table, check dependencies (a task cannot start before
its finish-to-start predecessors are done, nor complete before the tasks it
follows are done or started, unless forced, and a forced change is recorded as
such), and return the new state with the events to append to the log. Pure: the
caller passes the day and the instant.

Not here: dates of the plan (``planning``), storage, who gets told (``nudges``,
``status``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from onboarding.core.blueprint import DependencyType
from onboarding.core.graph import TaskGraph
from onboarding.errors import Problem, TransitionRefused


class TaskState(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    done = "done"
    skipped = "skipped"
    blocked = "blocked"


class ProjectState(StrEnum):
    active = "active"
    on_hold = "on_hold"
    completed = "completed"


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
    force: bool = False,
    reason: str | None = None,
    project_state: ProjectState = ProjectState.active,
) -> tuple[TaskProgress, Event]:
    """The task's new progress and the event recording it; raises TransitionRefused."""
    if task_key not in graph.by_key:
        raise _refused("unknown-task", f"no task {task_key!r} in this project", "see `onboarding status PROJECT`")
    if project_state is ProjectState.on_hold and action is not Action.block:
        raise _refused("project-on-hold", "the project is on hold", "resume it first: onboarding resume PROJECT")
    current = progress.get(task_key, TaskProgress())
    target = TRANSITIONS.get((current.state, action))
    if target is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is current.state)
        raise _refused(
            "invalid-transition",
            f"cannot {action.value} a task that is {current.state.value}",
            f"from {current.state.value} you can: {', '.join(allowed) or 'nothing'}",
        )
    waiting = _waiting_for(graph, progress, task_key, action)
    if waiting and not force:
        raise _refused(
            "predecessors-not-done",
            f"cannot {action.value} {task_key!r}: waiting for " + ", ".join(waiting),
            "finish those first, or repeat with --force (recorded)",
        )
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
    if reason:
        data["reason"] = reason
    return new, Event(EVENT_OF[action], at, actor, task_key, data)


def _waiting_for(graph: TaskGraph, progress: Mapping[str, TaskProgress], key: str, action: Action) -> list[str]:
    """Predecessors that keep ``action`` from happening now, by the dependency types."""
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


def hold(state: ProjectState, *, at: datetime, actor: str, reason: str | None = None) -> tuple[ProjectState, Event]:
    if state is not ProjectState.active:
        raise _refused("invalid-transition", f"cannot hold a project that is {state.value}", "only active projects")
    return ProjectState.on_hold, Event("project_held", at, actor, None, {"reason": reason} if reason else {})


def resume(state: ProjectState, *, at: datetime, actor: str) -> tuple[ProjectState, Event]:
    if state is not ProjectState.on_hold:
        raise _refused("invalid-transition", f"cannot resume a project that is {state.value}", "only held projects")
    return ProjectState.active, Event("project_resumed", at, actor)


def project_state_after(progress: Mapping[str, TaskProgress], graph: TaskGraph, current: ProjectState) -> ProjectState:
    """Completed once every task is done or skipped; otherwise unchanged (a reopened task reactivates)."""
    finished = all(progress.get(t.key, TaskProgress()).state in FINISHED for t in graph.tasks)
    if finished:
        return ProjectState.completed
    return ProjectState.active if current is ProjectState.completed else current


def _refused(code: str, message: str, hint: str) -> TransitionRefused:
    return TransitionRefused("task", (Problem(code, message, (), hint),))
