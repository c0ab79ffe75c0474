"""Calendar feeds (RFC 5545 / RFC 7986) of a project and of one person's tasks, as ICS bytes.

A subscribed calendar fetches its feed again every few hours (REFRESH-INTERVAL,
X-PUBLISHED-TTL) and matches events by UID; so every UID here is derived from ids
only (project id, milestone key, task key), never from a date or a title, and a
re-plan that moves a date updates the event in place instead of adding another.
SEQUENCE follows the project's version, so a client that compares it sees a newer
revision after every change.

``project_feed``: the customer's view of a project: an all-day event per milestone
that has a task the ``visible`` predicate lets through, on the projected due date of
the latest of those tasks, and an all-day event for the projected go-live with the
committed date in its description. A task ``visible`` refuses appears in no way: no
title, key, date or count of it is used, and a milestone with no visible task has
no event. ``person_feed``: one all-day event per given task, on its projected due
date. A finished task stays in the feed (a subscribed calendar drops an event that
leaves its feed, and the record of what was done is worth keeping), with
"Done: " / "Skipped: " before its title; a task closed by its project's
cancellation is STATUS:CANCELLED, as are the milestones of a cancelled project and
its go-live (a calendar shows them struck through or hides them).

Escaping, line folding and the DATE value type are the ``icalendar`` package's.

Not here: who may see which task (the caller's ``visible`` and its choice of tasks),
tokens and routes (web).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, vDuration, vText, vUri

from onboarding.core.lifecycle import FINISHED, ProjectState, TaskState
from onboarding.core.projects import ProjectRecord, TaskRecord

PRODID = "-//Onboarding engine//Calendar feeds 1.0//EN"
REFRESH = timedelta(hours=4)  # how often a subscribed calendar should fetch the feed again

_MARKS = {TaskState.done: "Done: ", TaskState.skipped: "Skipped: ", TaskState.cancelled: "Cancelled: "}


def project_feed(
    project: ProjectRecord,
    *,
    visible: Callable[[TaskRecord], bool],
    domain: str,
    stamp: datetime,
    url: str | None = None,
) -> bytes:
    """The project's customer-visible milestones and its projected go-live, as one VCALENDAR."""
    calendar = _calendar(f"{project.customer} onboarding", url=url)
    milestones: dict[str, list[TaskRecord]] = {}
    for task in sorted(project.tasks, key=lambda t: t.position):
        if visible(task):
            milestones.setdefault(task.milestone_key, []).append(task)
    for key, tasks in milestones.items():
        finished = sum(t.state in FINISHED for t in tasks)
        event = _all_day(
            uid=f"{project.id}.{key}.milestone@{domain}",
            on=max(t.due_on for t in tasks),
            summary=tasks[0].milestone_title,
            description=f"Onboarding of {project.customer}: {finished} of {len(tasks)} steps done.",
            stamp=stamp,
            sequence=project.version,
        )
        if all(t.state is TaskState.cancelled for t in tasks):
            event.add("status", "CANCELLED")
        calendar.add_component(event)
    if project.projected_go_live_on is not None:
        event = _all_day(
            uid=f"{project.id}.go-live@{domain}",
            on=project.projected_go_live_on,
            summary=f"{project.customer} go-live",
            description=_go_live_words(project.projected_go_live_on, project.committed_go_live_on),
            stamp=stamp,
            sequence=project.version,
        )
        if project.state is ProjectState.cancelled:
            event.add("status", "CANCELLED")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def person_feed(
    items: Iterable[tuple[ProjectRecord, Sequence[TaskRecord]]],
    *,
    calendar_name: str,
    domain: str,
    stamp: datetime,
) -> bytes:
    """One person's tasks across projects: an all-day event per task on its projected due date."""
    calendar = _calendar(calendar_name)
    for project, tasks in items:
        for task in tasks:
            event = _all_day(
                uid=f"{project.id}.{task.key}.task@{domain}",
                on=task.due_on,
                summary=f"{_MARKS.get(task.state, '')}{task.title} ({project.customer})",
                description=f"{task.milestone_title}, onboarding of {project.customer}.",
                stamp=stamp,
                sequence=project.version,
            )
            if task.state is TaskState.cancelled:
                event.add("status", "CANCELLED")
            calendar.add_component(event)
    return bytes(calendar.to_ical())


def _calendar(name: str, *, url: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # icalendar keeps NAME and X-WR-CALNAME unescaped unless given as text; one line of it is a name
    title = vText(" ".join(name.split()))
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    if url is not None:
        calendar.add("source", vUri(url), parameters={"VALUE": "URI"})
        calendar.add("url", vUri(url), parameters={"VALUE": "URI"})
    return calendar


def _all_day(*, uid: str, on: date, summary: str, description: str, stamp: datetime, sequence: int) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    event.add("dtstart", on)
    event.add("dtend", on + timedelta(days=1))
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("description", description)
    event.add("transp", "TRANSPARENT")  # a date to know, not time taken
    return event


def _go_live_words(projected: date, committed: date | None) -> str:
    if committed is None:
        return f"Projected go-live: {_day(projected)}."
    where = "within" if projected <= committed else f"{(projected - committed).days} days past"
    return f"Projected go-live: {_day(projected)}, {where} the committed window (go-live by {_day(committed)})."


def _day(on: date) -> str:
    return f"{on:%A} {on.day} {on:%B %Y}"
