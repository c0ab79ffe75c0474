"""Changes to a live project beside its tasks' lifecycle: recommit, rebind, note; and reading its history.

- **recommit** accepts the projected go-live as the new commitment, for a reason. It
  is refused when there is nothing to accept (no projection, or one within the
  committed date). Afterwards the weekly status and the window-jump alert compare to
  the new date; the portfolio's on-time rate keeps measuring against the date
  committed at launch (``ProjectRecord.first_committed_go_live_on``), and counts
  the projects recommitted apart, so that a recommit never turns a late launch into
  an on-time one.
- **rebind** puts another person in a role (name, address by the address rule of
  ``core/addresses``, time zone), with a note; the emails decided afterwards
  (nudges, status, digests, alerts) go to them.
- **note** records a comment on the project or one of its tasks.
- **history** selects from a project's event log (``select_history``): by kind,
  task, days, actor; oldest or newest first; a page of it after a cursor (an
  entry's position in the log, which never changes: the log is append-only).

Each function is pure: it takes the project as read, the instant and the actor,
and returns the project as changed with the event to append, or raises
``TransitionRefused`` / ``PlanInputInvalid`` with every problem at once.

Not here: the state table (``lifecycle``: cancel, hold, resume), storage,
who is emailed (``nudges``, ``status``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from onboarding.core.addresses import canonical_person, person_problems
from onboarding.core.lifecycle import MAX_REASON_CHARS, OPEN, Event, ProjectState, TaskState, reason_problems
from onboarding.core.messages import Person
from onboarding.core.projects import ProjectRecord
from onboarding.errors import Loc, PlanInputInvalid, Problem, TransitionRefused

RECOMMITTED = "recommitted"
REBOUND = "rebound"
NOTED = "noted"
MAX_NOTE_CHARS = MAX_REASON_CHARS

# Every kind of event the engine records (history filters are checked against these and the log's own).
EVENT_KINDS = (
    "project_launched",
    "task_started",
    "task_completed",
    "task_skipped",
    "task_blocked",
    "task_unblocked",
    "task_reopened",
    "project_held",
    "project_resumed",
    "cancelled",
    RECOMMITTED,
    REBOUND,
    NOTED,
    "plan_reforecast",
    "window_jump",
    "unsubscribed",
)


def _refuse_closed(project: ProjectRecord, what: str) -> None:
    if project.state is ProjectState.cancelled:
        raise TransitionRefused(
            "project",
            (Problem("project-cancelled", f"cannot {what} a cancelled project", (), "it no longer changes"),),
        )


def close_open_tasks(project: ProjectRecord, event: Event) -> tuple[ProjectRecord, Event]:
    """A cancelled project's open tasks closed (``TaskState.cancelled``), their states kept in the cancel event.

    Its work will never be done: closed, it leaves the open-task indexes the sweep reads, is no longer
    overdue, and stops slipping in reports. The event's ``closed_tasks`` says what each was.
    """
    closed = {t.key: t.state.value for t in project.tasks if t.state in OPEN}
    tasks = tuple(t._replace(state=TaskState.cancelled) if t.key in closed else t for t in project.tasks)
    return replace(project, tasks=tasks), replace(event, data={**event.data, "closed_tasks": closed})


def recommit(
    project: ProjectRecord, *, reason: str, at: datetime, actor: str, on: date | None = None, today: date
) -> tuple[ProjectRecord, Event]:
    """The project committed to its projected go-live, and the ``recommitted`` event (from, to, reason)."""
    _refuse_closed(project, "recommit")
    problems = reason_problems(reason)
    committed, projected = project.committed_go_live_on, project.projected_go_live_on
    if project.state is ProjectState.completed:
        problems.append(
            Problem("invalid-transition", "the project is completed (live): its go-live is what happened", ())
        )
    elif projected is None or (committed is not None and projected <= committed):
        shown = "no projected go-live" if projected is None else f"the projected go-live {projected.isoformat()}"
        problems.append(
            Problem(
                "nothing-to-recommit",
                f"{shown} is within the committed go-live ({committed.isoformat() if committed else 'none'})",
                (),
                "recommit when the projected go-live is later than the committed one",
            )
        )
    if on is not None and on > today:
        problems.append(
            Problem(
                "date-in-future",
                f"{on.isoformat()} is after today ({today.isoformat()}): record what has happened",
                ("on",),
                f"give {today.isoformat()} or an earlier day",
            )
        )
    if problems:
        raise TransitionRefused("project", tuple(problems))
    assert projected is not None  # noqa: S101 - refused above
    data: dict[str, Any] = {
        "from": committed.isoformat() if committed else None,
        "to": projected.isoformat(),
        "reason": reason.strip(),
    }
    if on is not None:
        data["on"] = on.isoformat()
    changed = replace(
        project,
        committed_go_live_on=projected,
        first_committed_go_live_on=project.first_committed_go_live_on or committed,
        recommits=project.recommits + 1,
        updated_at=at,
    )
    return changed, Event(RECOMMITTED, at, actor, None, data)


def rebind(
    project: ProjectRecord,
    role: str,
    person: Person,
    *,
    roles: Sequence[str],
    note: str | None = None,
    at: datetime,
    actor: str,
) -> tuple[ProjectRecord, Event]:
    """The project with ``person`` bound to ``role`` (one of the blueprint's ``roles``), and the ``rebound`` event."""
    _refuse_closed(project, "rebind")
    problems: list[Problem] = []
    if role not in roles:
        close = difflib.get_close_matches(role, list(roles), n=1, cutoff=0.6)
        problems.append(
            Problem(
                "unknown-role",
                f"the project's blueprint has no role {role!r}",
                ("role",),
                f"did you mean {close[0]!r}?" if close else f"roles: {', '.join(roles)}",
            )
        )
    problems += [replace(p, loc=("person", *p.loc[2:])) for p in person_problems({role: person})]
    if note is not None and len(note.strip()) > MAX_NOTE_CHARS:
        problems.append(
            Problem("text-too-long", f"the note is longer than {MAX_NOTE_CHARS} characters", ("note",), "shorten it")
        )
    if problems:
        raise PlanInputInvalid("rebind", tuple(problems))
    new = canonical_person(person)
    old = project.bindings.get(role)
    if old == new:
        raise PlanInputInvalid(
            "rebind",
            (Problem("binding-unchanged", f"{new.name} <{new.email}> is already bound to {role!r}", ("person",)),),
        )
    data: dict[str, Any] = {"role": role, "from": _person_data(old), "to": _person_data(new)}
    if note and note.strip():
        data["note"] = note.strip()
    changed = replace(project, bindings={**project.bindings, role: new}, updated_at=at)
    return changed, Event(REBOUND, at, actor, None, data)


def note(project: ProjectRecord, text: str, *, task: str | None = None, at: datetime, actor: str) -> Event:
    """The ``noted`` event of a comment on the project or one of its tasks (any state: a note changes nothing)."""
    body = text.strip()
    loc: Loc = ("text",)
    problems: list[Problem] = []
    if not body:
        problems.append(Problem("empty-note", "the note has no text", loc, "write what should be remembered"))
    elif len(body) > MAX_NOTE_CHARS:
        problems.append(
            Problem(
                "text-too-long",
                f"the note is {len(body)} characters long; at most {MAX_NOTE_CHARS} are kept",
                loc,
                "shorten it, or split it in several notes",
            )
        )
    keys = [t.key for t in project.tasks]
    if task is not None and task not in keys:
        close = difflib.get_close_matches(task, keys, n=1, cutoff=0.6)
        problems.append(
            Problem(
                "unknown-task",
                f"the project has no task {task!r}",
                ("task",),
                f"did you mean {close[0]!r}?" if close else "name one of the project's tasks, or none",
            )
        )
    if problems:
        raise PlanInputInvalid("note", tuple(problems))
    return Event(NOTED, at, actor, task, {"text": body})


def _person_data(person: Person | None) -> dict[str, str] | None:
    if person is None:
        return None
    return {"name": person.name, "email": person.email, "time_zone": person.timezone}


# -- history ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Which entries of a project's log: any of ``kinds`` (all when empty), of a task, on days (UTC) in
    [since, until], by an actor; ``newest_first``; at most ``limit`` after the entry ``after`` (a cursor)."""

    kinds: tuple[str, ...] = ()
    task: str | None = None
    since: date | None = None
    until: date | None = None
    actor: str | None = None
    newest_first: bool = False
    limit: int | None = None
    after: int | None = None  # the ``seq`` of the last entry of the previous page


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """An event with its position in the project's log (1 for the first): stable, so usable as a cursor."""

    seq: int
    event: Event


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: tuple[HistoryEntry, ...]
    total: int  # entries matching the filters, on every page
    next_after: int | None  # the cursor of the next page; None when this is the last


MAX_HISTORY_LIMIT = 1000


def history_problems(query: HistoryQuery, *, known_kinds: Iterable[str] = ()) -> list[Problem]:
    """What is wrong with a history query: unknown kinds (with did-you-mean), a period backwards, a bad limit."""
    kinds = sorted({*EVENT_KINDS, *known_kinds})
    problems: list[Problem] = []
    for index, kind in enumerate(query.kinds):
        if kind not in kinds:
            close = difflib.get_close_matches(kind, kinds, n=1, cutoff=0.6)
            problems.append(
                Problem(
                    "unknown-event-kind",
                    f"no event kind {kind!r}",
                    ("kind", index),
                    f"did you mean {close[0]!r}?" if close else f"kinds: {', '.join(kinds)}",
                )
            )
    if query.since is not None and query.until is not None and query.since > query.until:
        problems.append(
            Problem(
                "invalid-history-filter",
                f"since {query.since.isoformat()} is after until {query.until.isoformat()}",
                ("since",),
                "give a since day on or before the until day",
            )
        )
    if query.limit is not None and not 1 <= query.limit <= MAX_HISTORY_LIMIT:
        problems.append(
            Problem(
                "invalid-history-filter",
                f"limit {query.limit} is not between 1 and {MAX_HISTORY_LIMIT}",
                ("limit",),
                f"give a limit from 1 to {MAX_HISTORY_LIMIT}",
            )
        )
    if query.after is not None and query.after < 0:
        problems.append(
            Problem("invalid-history-filter", f"cursor {query.after} is not a position in the log", ("after",))
        )
    return problems


def select_history(events: Sequence[Event], query: HistoryQuery, *, tasks: Sequence[str] | None = None) -> HistoryPage:
    """The page of the log (in log order, oldest first) the query asks for; raises PlanInputInvalid (a task the
    project does not have, of ``tasks`` when given, included)."""
    problems = history_problems(query, known_kinds={e.kind for e in events})
    if tasks is not None and query.task is not None and query.task not in tasks:
        close = difflib.get_close_matches(query.task, tasks, n=1, cutoff=0.6)
        problems.append(
            Problem(
                "unknown-task",
                f"the project has no task {query.task!r}",
                ("task",),
                f"did you mean {close[0]!r}?" if close else "name one of the project's tasks, or none",
            )
        )
    if problems:
        raise PlanInputInvalid("history", tuple(problems))
    kinds = frozenset(query.kinds)

    def day(at: datetime) -> date:
        return at.astimezone(UTC).date()

    matching = [
        HistoryEntry(seq, e)
        for seq, e in enumerate(events, start=1)
        if (not kinds or e.kind in kinds)
        and (query.task is None or e.task_key == query.task)
        and (query.actor is None or e.actor == query.actor)
        and (query.since is None or day(e.at) >= query.since)
        and (query.until is None or day(e.at) <= query.until)
    ]
    ordered = matching[::-1] if query.newest_first else matching
    if query.after is not None:
        after = query.after
        ordered = [h for h in ordered if (h.seq < after if query.newest_first else h.seq > after)]
    page = ordered if query.limit is None else ordered[: query.limit]
    more = query.limit is not None and len(ordered) > query.limit
    return HistoryPage(tuple(page), len(matching), page[-1].seq if more and page else None)
