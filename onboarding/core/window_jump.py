"""Window jumps: when a re-forecast moves the projected go-live past the committed window, what caused it.

A window jump is the most important alert the engine sends (DESIGN §4). It is due
when the re-forecast projects the go-live later than the date committed at launch
and later than it was projected before (so each new date alerts once). It goes to
the person bound to the ``csm`` role and to that role's escalation contact.

The cause it names is the task on the go-live's chain of predecessors (every task
the go-live waits for, directly or through others, and the go-live task itself)
with the largest own slip: how many days after its target date it finished, or is
still open past it, where the target is the date it was expected by given when its
predecessors really finished (``portfolio.task_slip_days``, the portfolio report's
definition). Only a task that could have been on time counts: one that is done, or
open with nothing it waits for still unfinished; an open task held up by a late
predecessor inherits that lateness and is not a cause of its own. Tasks tied on the
largest slip are named together, in plan order. When no task on the chain is late,
no task is named: the go-live moved for the launch window's own reasons, which the
alert gives.

Not here: re-planning (``planning``), storage and the outbox (services, adapters),
the email's wording beyond its subject (the templates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from onboarding.core.blueprint import Blueprint
from onboarding.core.graph import TaskGraph
from onboarding.core.launch import LaunchDecision
from onboarding.core.lifecycle import FINISHED, Action, TaskState, waiting_for
from onboarding.core.messages import CauseView, MessageKind, OutgoingMessage, Person, WindowJumpContext
from onboarding.core.portfolio import task_slip_days
from onboarding.core.projects import ProjectRecord, TaskRecord, project_view

CSM_ROLE = "csm"


@dataclass(frozen=True, slots=True)
class JumpCause:
    """A task named as the cause of a window jump, with the days it slipped on its own."""

    task: TaskRecord
    slip_days: int


def window_jump_causes(tasks: Sequence[TaskRecord], graph: TaskGraph, *, today: date) -> tuple[JumpCause, ...]:
    """The tasks on the go-live's chain with the largest own slip (ties together, in plan order); () if none."""
    launch = next((t for t in tasks if t.launch), None)
    if launch is None:
        return ()
    chain = graph.ancestors(launch.key) | {launch.key}
    progress = {t.key: t.progress for t in tasks if t.state is not TaskState.pending}
    slips: dict[str, int] = {}
    for task in tasks:
        if task.key not in chain:
            continue
        if task.state not in FINISHED and waiting_for(graph, progress, task.key, Action.start):
            continue  # held up by a predecessor: its lateness is not its own
        slips[task.key] = task_slip_days(task, as_of=today)
    worst = max(slips.values(), default=0)
    if worst <= 0:
        return ()
    ordered = sorted(tasks, key=lambda t: t.position)
    return tuple(JumpCause(t, worst) for t in ordered if slips.get(t.key) == worst)


def window_jump_recipients(project: ProjectRecord, blueprint: Blueprint, *, fallback: Person) -> list[Person]:
    """The CSM and their escalation contact, each once; ``fallback`` when neither is bound."""
    people: list[Person] = []
    roles = [CSM_ROLE]
    if CSM_ROLE in blueprint.roles and blueprint.roles[CSM_ROLE].escalation:
        roles.append(str(blueprint.roles[CSM_ROLE].escalation))
    for role in roles:
        person = project.bindings.get(role)
        if person is not None and person not in people:
            people.append(person)
    return people or [fallback]


def cause_sentence(causes: Sequence[JumpCause], bindings: Mapping[str, Person]) -> str:
    """One line naming the cause: who, what, and how many days it slipped on its own."""
    if not causes:
        return "No task on the go-live's chain is late against the date it was expected by; see why this date."
    named = [f"{c.task.title} ({_owner(c.task, bindings)})" for c in causes]
    days = causes[0].slip_days
    late = f"{days} day{'s' if days != 1 else ''} late"
    if len(named) == 1:
        return f"{named[0]} is {late} against the date it was expected by."
    return f"{', '.join(named[:-1])} and {named[-1]} are each {late} against the dates they were expected by."


def window_jump_alert(
    before: ProjectRecord,
    after: ProjectRecord,
    *,
    graph: TaskGraph,
    blueprint: Blueprint,
    go_live: LaunchDecision | None,
    today: date,
    fallback: Person,
    reply_to: str,
) -> tuple[tuple[JumpCause, ...], OutgoingMessage] | None:
    """The alert due for a re-forecast from ``before`` to ``after``, with its causes; None when no jump."""
    committed, old, new = before.committed_go_live_on, before.projected_go_live_on, after.projected_go_live_on
    if committed is None or new is None or new <= committed or (old is not None and new <= old) or go_live is None:
        return None
    causes = window_jump_causes(after.tasks, graph, today=today)
    recipients = window_jump_recipients(after, blueprint, fallback=fallback)
    views: list[CauseView] = [
        {
            "title": c.task.title,
            "milestone": c.task.milestone_title,
            "owner_name": _owner(c.task, after.bindings),
            "expected_on": c.task.target_due_on.isoformat(),
            "done_on": c.task.done_on.isoformat() if c.task.done_on and c.task.state is TaskState.done else None,
            "projected_on": c.task.due_on.isoformat(),
            "slip_days": c.slip_days,
        }
        for c in causes
    ]
    context: WindowJumpContext = {
        "project": project_view(after),
        "recipient_name": ", ".join(p.name for p in recipients),
        "as_of": today.isoformat(),
        "committed_on": committed.isoformat(),
        "projected_on": new.isoformat(),
        "causes": views,
        "cause": cause_sentence(causes, after.bindings),
        "explanation": go_live.reason,
        "rejected": [{"date": r.on.isoformat(), "reason": r.reason} for r in go_live.rejected],
    }
    message = OutgoingMessage(
        idempotency_key=f"window_jump:{after.id}:{new.isoformat()}",
        kind=MessageKind.window_jump,
        to=tuple(recipients),
        subject=f"{after.customer}: go-live moves from {committed:%d %b} to {new:%d %b %Y}",
        context=dict(context),
        customer_facing=False,
        project_id=after.id,
        reply_to=reply_to,
    )
    return causes, message


def _owner(task: TaskRecord, bindings: Mapping[str, Person]) -> str:
    person = bindings.get(task.owner_role)
    return person.name if person else task.owner_role
