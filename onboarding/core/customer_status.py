"""What a customer person sees on their status page, and the limits of what they may ask, as values.

``customer_status`` turns a project (its tasks, the blueprint's milestone
visibility and task descriptions, its history) into a ``CustomerStatus``: the
projected go-live and why, the committed window and, when it moved, why; "what we
need from you" (the customer side's open tasks, the person's own first); milestones
with progress; and a timeline of the milestones as shares of the span they cover.

The rule above all others, as in the status email (``core/status.py``): a task
marked ``customer_visible: false``, or in a milestone so marked, is never in the
view: no title, key, date or count of it; a go-live reason or a cause that names
one is dropped. The filter is ``visible_tasks``, applied once at the top.

``snooze_limits`` says until which days a customer may snooze a task's reminders:
from the next business day to ``SNOOZE_MAX_BUSINESS_DAYS`` business days ahead, and
never past the last day the task can finish without moving the go-live (its late
finish), unless that day has passed (then one business day). ``snoozed_last_nudged_on``
is the one stored date that makes the nudge rule (``core/nudges.py``) send the
next reminder on the snooze's last day and not before.

Not here: links and tokens (``core/customer_links``), pages (web), the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from onboarding.core.calendars import BusinessCalendar
from onboarding.core.lifecycle import FINISHED, OPEN, Event, TaskState
from onboarding.core.projects import ProjectRecord, TaskRecord

SNOOZE_MAX_BUSINESS_DAYS: Final = 10
MAX_STUCK_REASON_CHARS: Final = 1000
SNOOZED: Final = "task_snoozed"  # the event of a customer's snooze
CUSTOMER_ACTIONS: Final = ("done", "stuck", "snooze")


@dataclass(frozen=True, slots=True)
class CustomerTask:
    key: str
    title: str
    milestone: str
    description: str | None
    owner_name: str
    mine: bool  # owned by a role the person holds
    state: TaskState
    start_on: date
    due_on: date
    days_overdue: int  # business days past due (0: not overdue)
    snoozed_until: date | None
    stuck_reason: str | None = None  # what the last "stuck" said, while the task is blocked


@dataclass(frozen=True, slots=True)
class MilestoneProgress:
    key: str
    title: str
    state: Literal["done", "in_progress", "upcoming"]
    done: int  # tasks finished
    total: int
    start_on: date
    due_on: date
    left_percent: float  # where its bar starts on the timeline, as a share of the span shown
    width_percent: float


@dataclass(frozen=True, slots=True)
class CustomerStatus:
    project_id: str
    customer: str
    blueprint_title: str
    person_name: str
    as_of: date
    projected_go_live_on: date | None
    committed_go_live_on: date | None
    go_live_reason: str | None  # the launch window's reason for the projected date, in words
    window_moved: str | None  # why the committed window or the projection moved, when it did
    needs_from_you: tuple[CustomerTask, ...]
    milestones: tuple[MilestoneProgress, ...]
    timeline_start_on: date
    timeline_end_on: date
    today_percent: float | None  # where today falls on the timeline (None: outside it)

    @property
    def on_track(self) -> bool:
        return (
            self.projected_go_live_on is None
            or self.committed_go_live_on is None
            or self.projected_go_live_on <= self.committed_go_live_on
        )


def visible_tasks(project: ProjectRecord, visible_milestones: Mapping[str, bool]) -> list[TaskRecord]:
    """The tasks a customer may see: customer-visible, in a customer-visible milestone."""
    return [t for t in project.tasks if t.customer_visible and visible_milestones.get(t.milestone_key, True)]


def actionable(task: TaskRecord) -> bool:
    """Whether a customer may mark a task done, stuck or snoozed: a customer-side, open task (the caller has
    already kept it to the visible ones)."""
    return task.side == "customer" and task.state in OPEN


def customer_status(
    project: ProjectRecord,
    *,
    visible_milestones: Mapping[str, bool],
    descriptions: Mapping[str, str],
    person_name: str,
    person_roles: Iterable[str],
    events: Sequence[Event],
    go_live_reason: str | None,
    calendar: BusinessCalendar,
    today: date,
) -> CustomerStatus:
    """The status page of ``project`` for a customer person holding ``person_roles``, with nothing internal."""
    shown = visible_tasks(project, visible_milestones)
    hidden_titles = [t.title for t in project.tasks if t not in shown]
    hidden_titles += [t.milestone_title for t in project.tasks if not visible_milestones.get(t.milestone_key, True)]
    roles = set(person_roles)
    snoozes = _snoozes(events)
    stuck = _stuck_reasons(events, project)
    people = project.bindings
    needs = sorted(
        (t for t in shown if actionable(t)),
        key=lambda t: (t.owner_role not in roles, t.due_on, t.start_on, t.position),
    )
    needs_from_you = tuple(
        CustomerTask(
            key=t.key,
            title=t.title,
            milestone=t.milestone_title,
            description=descriptions.get(t.key),
            owner_name=people[t.owner_role].name if t.owner_role in people else t.owner_role,
            mine=t.owner_role in roles,
            state=t.state,
            start_on=t.start_on,
            due_on=t.due_on,
            days_overdue=_business_days_after(t.due_on, today, calendar),
            snoozed_until=snoozes.get(t.key) if snoozes.get(t.key, today) > today else None,
            stuck_reason=stuck.get(t.key) if t.state is TaskState.blocked else None,
        )
        for t in needs
    )
    by_milestone: dict[str, list[TaskRecord]] = {}
    for t in sorted(shown, key=lambda t: t.position):
        by_milestone.setdefault(t.milestone_key, []).append(t)
    starts = [min(t.start_on for t in ts) for ts in by_milestone.values()]
    ends = [max(t.due_on for t in ts) for ts in by_milestone.values()]
    if project.projected_go_live_on is not None:
        ends.append(project.projected_go_live_on)
    span_start = min(starts, default=project.kickoff_on)
    span_end = max([*ends, span_start])
    span = max((span_end - span_start).days + 1, 1)
    milestones = []
    for key, ts in by_milestone.items():
        start_on, due_on = min(t.start_on for t in ts), max(t.due_on for t in ts)
        done = sum(t.state in FINISHED for t in ts)
        state: Literal["done", "in_progress", "upcoming"]
        if done == len(ts):
            state = "done"
        elif start_on <= today or any(t.state is not TaskState.pending for t in ts):
            state = "in_progress"
        else:
            state = "upcoming"
        left = (start_on - span_start).days / span * 100
        width = max(((due_on - start_on).days + 1) / span * 100, 1.0)
        milestones.append(
            MilestoneProgress(
                key=key,
                title=ts[0].milestone_title,
                state=state,
                done=done,
                total=len(ts),
                start_on=start_on,
                due_on=due_on,
                left_percent=round(left, 2),
                width_percent=round(min(width, 100 - left), 2),
            )
        )
    return CustomerStatus(
        project_id=project.id,
        customer=project.customer,
        blueprint_title=project.blueprint_title,
        person_name=person_name,
        as_of=today,
        projected_go_live_on=project.projected_go_live_on,
        committed_go_live_on=project.committed_go_live_on,
        go_live_reason=_unless_naming(go_live_reason, hidden_titles),
        window_moved=_unless_naming(_window_moved(project, events, shown), hidden_titles),
        needs_from_you=needs_from_you,
        milestones=tuple(milestones),
        timeline_start_on=span_start,
        timeline_end_on=span_end,
        today_percent=round((today - span_start).days / span * 100, 2) if span_start <= today <= span_end else None,
    )


def snooze_limits(task: TaskRecord, *, today: date, calendar: BusinessCalendar) -> tuple[date, date]:
    """The first and last day a task's reminders may be snoozed until (both business days of ``calendar``)."""
    first = calendar.add(calendar.prev_on_or_before(today), 1)
    last = calendar.add(calendar.prev_on_or_before(today), SNOOZE_MAX_BUSINESS_DAYS)
    late = calendar.prev_on_or_before(task.late_due_on)
    return first, max(first, min(last, late))


def snoozed_last_nudged_on(until: date, *, repeat_every_business_days: int, calendar: BusinessCalendar) -> date:
    """The last-nudged date that holds reminders until ``until``: the nudge rule sends again once the last nudge
    is ``repeat_every_business_days`` business days old, which this date makes true on ``until`` and not before."""
    return calendar.add(calendar.prev_on_or_before(until), -repeat_every_business_days)


def _snoozes(events: Sequence[Event]) -> dict[str, date]:
    """The last snooze of each task, by key."""
    found: dict[str, date] = {}
    for e in events:
        if e.kind == SNOOZED and e.task_key and isinstance(e.data.get("until"), str):
            found[e.task_key] = date.fromisoformat(e.data["until"])
    return found


def _stuck_reasons(events: Sequence[Event], project: ProjectRecord) -> dict[str, str]:
    """The reason of each task's last block, by key, when a customer of the project recorded it (from their
    status page, under their name); the reason the team gives a block is internal and never shown."""
    customer_roles = {t.owner_role for t in project.tasks if t.side == "customer"}
    team = {p.name for role, p in project.bindings.items() if role not in customer_roles}
    customers = {p.name for role, p in project.bindings.items() if role in customer_roles} - team
    found: dict[str, str] = {}
    for e in events:
        if e.kind == "task_blocked" and e.task_key:
            reason = e.data.get("reason")
            if e.actor in customers and isinstance(reason, str):
                found[e.task_key] = reason
            else:
                found.pop(e.task_key, None)  # the last block is the team's: no reason to show
    return found


def _window_moved(project: ProjectRecord, events: Sequence[Event], shown: Sequence[TaskRecord]) -> str | None:
    """Why the committed window moved (the last recommit's reason) or the projection left it (the tasks whose
    slip moved it), in words; None when neither happened."""
    titles = {t.key: t.title for t in shown}
    words: list[str] = []
    recommits = [e for e in events if e.kind == "recommitted"]
    if recommits:
        last = recommits[-1]
        reason = str(last.data.get("reason") or "").strip()
        was = last.data.get("from")
        words.append(
            f"The committed go-live moved{f' from {_day(date.fromisoformat(was))}' if isinstance(was, str) else ''}"
            f" to {_day(date.fromisoformat(str(last.data.get('to'))))}" + (f": {reason}" if reason else ".")
        )
    jumps = [e for e in events if e.kind == "window_jump"]
    projected, committed = project.projected_go_live_on, project.committed_go_live_on
    if jumps and committed is not None and projected is not None and projected > committed:
        causes = [titles[c["task"]] for c in jumps[-1].data.get("causes", ()) if c.get("task") in titles]
        words.append(
            "The projected go-live is later than the committed one"
            + (f" because {_listed(causes)} took longer than planned." if causes else ".")
        )
    text = " ".join(w if w.endswith(".") else w + "." for w in words)
    return text or None


def _unless_naming(text: str | None, hidden_titles: Sequence[str]) -> str | None:
    if not text:
        return None
    folded = text.casefold()
    return None if any(title and title.casefold() in folded for title in hidden_titles) else text


def _listed(items: Sequence[str]) -> str:
    quoted = [f'"{item}"' for item in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _business_days_after(due_on: date, today: date, calendar: BusinessCalendar) -> int:
    if due_on >= today:
        return 0
    return calendar.index(calendar.prev_on_or_before(today)) - calendar.index(calendar.prev_on_or_before(due_on))


def _day(on: date) -> str:
    return f"{on:%A} {on.day} {on:%B %Y}"
