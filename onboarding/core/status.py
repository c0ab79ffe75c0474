"""The customer status email as a view-model: what is done, what is next, what we need from you.

``status_context`` turns a project's milestone and task states into the
``StatusContext`` the status template renders; ``status_message`` wraps it in the
``OutgoingMessage`` to queue; ``status_due`` decides, for a blueprint's
``StatusEmailPolicy``, which of them are due now (on milestone completion, and the
weekly digest at its weekday and time in the recipient's zone; a spread digest on the project's own weekday).

A sweep queues a weekly update knowing only whose slot has come (``weekly_readers_due``,
asked of a project's row and people): ``update_to_compose`` holds its key, reader
and subject, and delivery composes what it says, and whether it has news to say, from
the project as of then (``reader_to_compose``, ``StatusView.composed``). A sweep
thus reads no project whole for its weekly updates. A change that completes a milestone
queues its announcements (and a weekly update whose slot has come) the same way
(``readers_due``: ``status_due``'s rule, asked before anything is composed), so that
neither a person's change nor a sweep's automated task composes a status email.

The rule above all others: what is marked ``customer_visible: false`` never reaches a
customer email. A hidden task, a hidden milestone and every task of a hidden
milestone are left out of every list, their titles are never used as a milestone
name or a completed milestone, and a go-live reason that mentions one is dropped.
The filter is applied once, at the top; everything below it sees only what may be
shown.

Not here: which people fill the recipient roles (the service), templates and MIME
(adapters), the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from onboarding.core.addresses import reply_to_text
from onboarding.core.blueprint import StatusEmailPolicy, WeeklyDigest, clock_time
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.lifecycle import ProjectState, TaskState
from onboarding.core.messages import (
    ContactView,
    GoLiveView,
    MessageKind,
    MilestoneView,
    OutgoingMessage,
    Person,
    ProjectView,
    StatusContext,
    TaskView,
)
from onboarding.core.nudges import time_zone

StatusReason = Literal["milestone_complete", "weekly"]

OPEN_STATES: frozenset[str] = frozenset({"pending", "in_progress", "blocked"})
STARTED_STATES: frozenset[str] = frozenset({"in_progress", "done", "skipped", "blocked"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectStatus:
    """The project facts a status email shows."""

    project_id: str
    customer: str  # the project's display name, e.g. "Acme Manufacturing"
    blueprint_title: str
    external_id: str | None = None
    projected_go_live_on: date | None = None
    committed_go_live_on: date | None = None
    go_live_reason: str | None = None  # the launch-window solver's explanation of the projected date
    go_live_moved_on: date | None = None  # the last day a re-forecast moved the projected go-live


class MilestoneStatus(NamedTuple):
    """A milestone as the status email weighs it (named tuples: an email's view is made of dozens of them)."""

    key: str
    title: str
    customer_visible: bool
    start_on: date
    due_on: date
    done_on: date | None = None


class TaskStatus(NamedTuple):
    key: str
    title: str
    milestone_key: str
    milestone_title: str
    owner_role: str
    owner: Person
    customer_side: bool
    customer_visible: bool
    state: TaskState
    start_on: date
    due_on: date  # projected
    done_on: date | None = None
    description: str | None = None  # what is to be done, from the blueprint


def status_context(
    *,
    project: ProjectStatus,
    milestones: Sequence[MilestoneStatus],
    tasks: Iterable[TaskStatus],
    recipient: Person,
    recipient_role: str,
    as_of: date,
    reason: StatusReason,
    completed_milestone: str | None = None,
    vendor_contact: Person,
    vendor_role: str | None = None,
    include_go_live: bool = True,
    customer_calendar: BusinessCalendar | None = None,
    recent_days: int = 7,
    next_limit: int = 5,
    needs_horizon_days: int = 7,
) -> StatusContext:
    """What a customer status email says on ``as_of``, with nothing internal in it.

    - ``milestones``: the visible milestones in the order given, each done (done on
      or before ``as_of``), in progress (started, or any of its tasks has) or upcoming.
    - ``done_recently``: visible tasks done in the ``recent_days`` days up to ``as_of``.
    - ``next_up``: visible pending and in-progress tasks by start date, at most ``next_limit``.
    - ``needs_from_you``: the customer side's open visible tasks (pending, in
      progress, blocked) that are under way or start within ``needs_horizon_days``;
      the recipient's own first, then by due date.
    - Open tasks past due are marked overdue with the business days since their due
      date on ``customer_calendar`` (Monday to Friday without one).
    - ``go_live``: projected vs committed (on track when projected <= committed).
    - ``vendor_contact``: who a reply reaches (the Reply-To), with ``vendor_role``,
      the title of the role they answer for, when they hold one.
    - Tasks the email asks of the customer (``needs_from_you``) carry their
      blueprint ``description``: what is to be done.

    ``completed_milestone`` is the key of the milestone whose completion the email
    announces (reason ``milestone_complete``); it must be a visible milestone.
    """
    shown_milestones = {m.key: m for m in milestones if m.customer_visible}
    hidden_titles = [m.title for m in milestones if not m.customer_visible]
    shown: list[TaskStatus] = []
    started_milestones: set[str] = set()
    for task in tasks:
        if task.state in STARTED_STATES:
            started_milestones.add(task.milestone_key)
        if task.customer_visible and task.milestone_key in shown_milestones:
            shown.append(task)
        else:
            hidden_titles.append(task.title)

    completed_title = _completed_title(reason, completed_milestone, shown_milestones)

    def milestone_title(task: TaskStatus) -> str:
        return shown_milestones[task.milestone_key].title

    milestone_views: list[MilestoneView] = []
    for m in shown_milestones.values():
        state: Literal["done", "in_progress", "upcoming"]
        if m.done_on is not None and m.done_on <= as_of:
            state = "done"
        elif m.start_on <= as_of or m.key in started_milestones:
            state = "in_progress"
        else:
            state = "upcoming"
        milestone_views.append(
            {
                "title": m.title,
                "state": state,
                "start_on": m.start_on.isoformat(),
                "due_on": m.due_on.isoformat(),
                "done_on": m.done_on.isoformat() if m.done_on is not None and m.done_on <= as_of else None,
            }
        )

    recent_from = as_of - timedelta(days=recent_days)
    done_recently = sorted(
        (t for t in shown if t.state == "done" and t.done_on is not None and recent_from < t.done_on <= as_of),
        key=lambda t: (t.done_on or as_of, t.due_on, t.key),
    )
    next_up = sorted(
        (t for t in shown if t.state in ("pending", "in_progress")),
        key=lambda t: (t.start_on, t.due_on, t.key),
    )[: max(next_limit, 0)]
    horizon = as_of + timedelta(days=needs_horizon_days)
    needs = sorted(
        (
            t
            for t in shown
            if t.customer_side and t.state in OPEN_STATES and (t.state != "pending" or t.start_on <= horizon)
        ),
        key=lambda t: (not _owned_by(t, recipient, recipient_role), t.due_on, t.start_on, t.key),
    )

    def open_view(task: TaskStatus, *, asked: bool = False) -> TaskView:
        late = _days_overdue(task.due_on, as_of, customer_calendar)
        view: TaskView = {
            "title": task.title,
            "milestone": milestone_title(task),
            "owner_name": task.owner.name,
            "start_on": task.start_on.isoformat(),
            "due_on": task.due_on.isoformat(),
            "overdue": late > 0,
        }
        if late > 0:
            view["days_overdue"] = late
        if asked and task.description:
            view["description"] = task.description
        if asked:
            view["key"] = task.key
        return view

    project_view: ProjectView = {
        "id": project.project_id,
        "customer": project.customer,
        "blueprint_title": project.blueprint_title,
        "external_id": project.external_id,
    }
    return {
        "project": project_view,
        "recipient_name": recipient.name,
        "as_of": as_of.isoformat(),
        "reason": reason,
        "completed_milestone": completed_title,
        "milestones": milestone_views,
        "done_recently": [
            {
                "title": t.title,
                "milestone": milestone_title(t),
                "owner_name": t.owner.name,
                "due_on": t.due_on.isoformat(),
                "done_on": t.done_on.isoformat() if t.done_on is not None else None,
            }
            for t in done_recently
        ],
        "next_up": [open_view(t) for t in next_up],
        "needs_from_you": [open_view(t, asked=True) for t in needs],
        "go_live": _go_live(project, hidden_titles) if include_go_live else None,
        "vendor_contact": _contact(vendor_contact, vendor_role),
    }


def status_key(
    *, project_id: str, recipient: Person, reason: StatusReason, as_of: date, completed_milestone: str | None
) -> str:
    """status:{project}:{email}:{reason}:{as_of, or the completed milestone's key}."""
    last = completed_milestone if reason == "milestone_complete" and completed_milestone else as_of.isoformat()
    return f"status:{project_id}:{recipient.email}:{reason}:{last}"


def status_message(
    context: StatusContext, *, recipient: Person, completed_milestone: str | None = None
) -> OutgoingMessage:
    """The status email to queue for a context from ``status_context``: its subject and stable key.

    ``completed_milestone`` is the completed milestone's key (the context holds its title).
    """
    project = context["project"]
    reason = context["reason"]
    if reason == "milestone_complete":
        subject = f"{project['customer']} onboarding: {context['completed_milestone']} complete"
    else:
        subject = f"{project['customer']} onboarding: weekly update"
    return OutgoingMessage(
        idempotency_key=status_key(
            project_id=project["id"],
            recipient=recipient,
            reason=reason,
            as_of=date.fromisoformat(context["as_of"]),
            completed_milestone=completed_milestone,
        ),
        kind=MessageKind.status,
        to=(recipient,),
        subject=subject,
        context=context,
        customer_facing=True,
        project_id=project["id"],
        reply_to=reply_to_text([(context["vendor_contact"]["name"], context["vendor_contact"]["email"])]),
        key_email=recipient.email,
        key_on=date.fromisoformat(context["as_of"]),
        key_reason=reason,
    )


# -- when status emails are due ------------------------------------------------------


def spread_weekday(project_id: str) -> int:
    """The weekday a project's spread digest goes out on, Monday 0 to Friday 4: from a hash of its id, so the
    same every week and about a fifth of a portfolio's projects each day."""
    return int.from_bytes(hashlib.sha256(project_id.encode("utf-8")).digest()[:8], "big") % 5


def weekly_slot_on(digest: WeeklyDigest, *, now: datetime, timezone: str, project_id: str | None = None) -> date:
    """The local date of the latest weekly slot (its weekday at its time, in ``timezone``) at or before ``now``;
    a spread digest's weekday is the project's own (``spread_weekday``)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    weekday = _slot_weekday(digest, project_id)
    local = now.astimezone(time_zone(timezone))
    days_back = (local.weekday() - weekday) % 7
    if days_back == 0 and local.time().replace(tzinfo=None) < clock_time(digest.at):
        days_back = 7
    return local.date() - timedelta(days=days_back)


def next_weekly_slot_at(digest: WeeklyDigest, *, after: date, timezone: str, project_id: str | None = None) -> datetime:
    """The instant (in UTC) the first weekly slot dated after ``after`` comes in ``timezone``: before it,
    ``weekly_slot_on`` is never later than ``after``. Exact, but where the slot's local time falls in a clock
    change: then the earlier of its two readings, which is never later than the slot."""
    weekday = _slot_weekday(digest, project_id)
    first = after + timedelta(days=1)
    local = datetime.combine(first + timedelta(days=(weekday - first.weekday()) % 7), clock_time(digest.at))
    zone = time_zone(timezone)
    # a local time skipped by a clock change reads as an instant after the change (fold 0) or before it (fold 1)
    return min(local.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1))


def _slot_weekday(digest: WeeklyDigest, project_id: str | None) -> int:
    """The weekday of a digest's slot, Monday 0: the policy's, or a spread digest's project's own."""
    if digest.weekday != "spread":
        return digest.weekday.number
    if project_id is None:
        raise ValueError("a spread weekly digest's day is the project's: give the project id")
    return spread_weekday(project_id)


def should_send_weekly(
    policy: StatusEmailPolicy, *, now: datetime, recipient: Person, since: date, project_id: str | None = None
) -> bool:
    """Whether a weekly slot has passed, in the recipient's zone, after ``since``.

    ``since`` is the ``as_of`` of the last weekly email sent to them, or the
    project's start when none was: a sweep that missed the slot sends it late
    rather than never, and only once.
    """
    if policy.weekly_digest is None:
        return False
    return weekly_slot_on(policy.weekly_digest, now=now, timezone=recipient.timezone, project_id=project_id) > since


@dataclass(frozen=True, slots=True)
class StatusDue:
    """The status emails due now, and the weekly updates left unsent for want of news: (recipient's address,
    the slot's day), which count as that week's update (the next one looks for news since then)."""

    messages: tuple[OutgoingMessage, ...]
    quiet: tuple[tuple[str, date], ...] = ()


def status_due(
    *,
    policy: StatusEmailPolicy,
    project: ProjectStatus,
    milestones: Sequence[MilestoneStatus],
    tasks: Sequence[TaskStatus],
    recipients: Mapping[str, Person],
    now: datetime,
    completed_milestones: Iterable[str] = (),
    weekly_sent_on: Mapping[str, date],
    started_on: date,
    vendor_contact: Person,
    vendor_role: str | None = None,
    customer_calendar: BusinessCalendar | None = None,
) -> StatusDue:
    """The status emails due at ``now`` for one project under ``policy``.

    ``recipients`` maps role keys to the people bound to them; the policy's roles
    that are bound receive the emails (one per person). ``completed_milestones``
    are the keys of milestones completed since the last sweep: a hidden or unknown
    one announces nothing. ``weekly_sent_on`` maps an email to the ``as_of`` of the
    last weekly email sent to it, or left unsent for want of news (``started_on`` when
    there is none). A digest ``only_with_news`` goes out when ``weekly_news`` finds
    news since then; else the week is quiet for that reader.
    """
    view = StatusView(
        policy=policy,
        project=project,
        milestones=milestones,
        tasks=tasks,
        vendor_contact=vendor_contact,
        vendor_role=vendor_role,
        customer_calendar=customer_calendar,
    )
    return view.due(
        recipients=recipients,
        now=now,
        completed_milestones=completed_milestones,
        weekly_sent_on=weekly_sent_on,
        started_on=started_on,
    )


class WeeklyReader(NamedTuple):
    """A reader whose weekly update's slot has come: who, for which role, the slot's day, and the day of their
    last update (sent, or left unsent for want of news), from which its news counts."""

    person: Person
    role: str
    slot_on: date
    since: date


class MilestoneReader(NamedTuple):
    """A reader told of a milestone completed: who, for which role, the day it was told (in their zone), and the
    milestone's key and title."""

    person: Person
    role: str
    as_of: date
    milestone: str
    title: str


def weekly_readers_due(
    policy: StatusEmailPolicy,
    *,
    project_id: str,
    recipients: Mapping[str, Person],
    now: datetime,
    weekly_sent_on: Mapping[str, date],
    started_on: date,
) -> list[WeeklyReader]:
    """The policy's readers (one per person) whose weekly slot has passed, in their zone, since their last update
    (``weekly_sent_on``, or ``started_on`` for one who had none): asked of a project's row and people alone, before
    it is read whole. A sweep that missed a slot sends it late rather than never, and only once."""
    weekly = policy.weekly_digest
    if weekly is None:
        return []
    due: list[WeeklyReader] = []
    for role, person in _readers(policy, recipients):
        slot_on = weekly_slot_on(weekly, now=now, timezone=person.timezone, project_id=project_id)
        since = weekly_sent_on.get(person.email, started_on)
        if slot_on > since:
            due.append(WeeklyReader(person, role, slot_on, since))
    return due


def weekly_next_due_at(
    policy: StatusEmailPolicy,
    *,
    project_id: str,
    recipients: Mapping[str, Person],
    weekly_sent_on: Mapping[str, date],
    started_on: date,
) -> datetime | None:
    """The earliest instant a weekly update can next be due to one of the policy's readers (``weekly_readers_due``
    finds none before it), given the updates they had; None when none ever is (no weekly update, or no reader
    bound). It holds while the project's readers, policy and kickoff stay as they are: a sweep stores it and
    leaves the project alone until then."""
    weekly = policy.weekly_digest
    if weekly is None:
        return None
    return min(
        (
            next_weekly_slot_at(
                weekly,
                after=weekly_sent_on.get(person.email, started_on),
                timezone=person.timezone,
                project_id=project_id,
            )
            for _role, person in _readers(policy, recipients)
        ),
        default=None,
    )


def readers_due(
    policy: StatusEmailPolicy,
    *,
    project_id: str,
    milestones: Mapping[str, str],
    recipients: Mapping[str, Person],
    now: datetime,
    completed_milestones: Iterable[str] = (),
    weekly_sent_on: Mapping[str, date],
    started_on: date,
) -> list[WeeklyReader | MilestoneReader]:
    """Who is due which status email at ``now`` (``status_due``'s rule), asked before any is composed: each bound
    reader (one per person), told of each milestone of ``completed_milestones`` the policy announces (a key of
    ``milestones``, the customer-visible ones' titles by key; a hidden or unknown one announces nothing), then
    given their weekly update when its slot has come (``weekly_readers_due``)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    announce = [key for key in dict.fromkeys(completed_milestones) if key in milestones]
    weekly = {
        reader.person.email: reader
        for reader in weekly_readers_due(
            policy,
            project_id=project_id,
            recipients=recipients,
            now=now,
            weekly_sent_on=weekly_sent_on,
            started_on=started_on,
        )
    }
    due: list[WeeklyReader | MilestoneReader] = []
    for role, person in _readers(policy, recipients):
        if policy.on_milestone_complete and announce:
            local_on = now.astimezone(time_zone(person.timezone)).date()
            due += [MilestoneReader(person, role, local_on, key, milestones[key]) for key in announce]
        reader = weekly.get(person.email)
        if reader is not None:
            due.append(reader)
    return due


def _readers(policy: StatusEmailPolicy, recipients: Mapping[str, Person]) -> list[tuple[str, Person]]:
    """The policy's recipient roles that are bound, with their people, each person once (by address)."""
    seen: set[str] = set()
    readers: list[tuple[str, Person]] = []
    for role in policy.recipients:
        person = recipients.get(role)
        if person is not None and person.email not in seen:
            seen.add(person.email)
            readers.append((role, person))
    return readers


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusView:
    """One project as its status emails show it, under its blueprint's policy: what ``status_due`` composes its
    emails of, and what a weekly update queued to be composed at delivery is composed of."""

    policy: StatusEmailPolicy
    project: ProjectStatus
    milestones: Sequence[MilestoneStatus]
    tasks: Sequence[TaskStatus]
    vendor_contact: Person
    vendor_role: str | None = None
    customer_calendar: BusinessCalendar | None = None

    def due(
        self,
        *,
        recipients: Mapping[str, Person],
        now: datetime,
        completed_milestones: Iterable[str] = (),
        weekly_sent_on: Mapping[str, date],
        started_on: date,
    ) -> StatusDue:
        """``status_due`` of this view."""
        messages: list[OutgoingMessage] = []
        quiet: list[tuple[str, date]] = []
        for reader in readers_due(
            self.policy,
            project_id=self.project.project_id,
            milestones={m.key: m.title for m in self.milestones if m.customer_visible},
            recipients=recipients,
            now=now,
            completed_milestones=completed_milestones,
            weekly_sent_on=weekly_sent_on,
            started_on=started_on,
        ):
            update = self.composed(reader)
            if update is not None:
                messages.append(update)
            elif isinstance(reader, WeeklyReader):
                quiet.append((reader.person.email, reader.slot_on))
        return StatusDue(tuple(messages), tuple(quiet))

    def composed(self, reader: WeeklyReader | MilestoneReader) -> OutgoingMessage | None:
        """The status email of a reader ``readers_due`` gave: a milestone's announcement, or the weekly update
        (None when it has no news for them, ``weekly_update``)."""
        if isinstance(reader, MilestoneReader):
            return self.message(reader.person, reader.role, as_of=reader.as_of, completed_milestone=reader.milestone)
        return self.weekly_update(reader)

    def message(self, person: Person, role: str, *, as_of: date, completed_milestone: str | None) -> OutgoingMessage:
        context = status_context(
            project=self.project,
            milestones=self.milestones,
            tasks=self.tasks,
            recipient=person,
            recipient_role=role,
            as_of=as_of,
            reason="weekly" if completed_milestone is None else "milestone_complete",
            completed_milestone=completed_milestone,
            vendor_contact=self.vendor_contact,
            vendor_role=self.vendor_role,
            include_go_live=self.policy.include_projected_go_live,
            customer_calendar=self.customer_calendar,
        )
        return status_message(context, recipient=person, completed_milestone=completed_milestone)

    def weekly_update(self, reader: WeeklyReader) -> OutgoingMessage | None:
        """The reader's weekly update as of its slot's day, or None when the digest goes only with news and it
        has none since their last update (``weekly_news``): the week is then quiet for them."""
        update = self.message(reader.person, reader.role, as_of=reader.slot_on, completed_milestone=None)
        weekly = self.policy.weekly_digest
        if (
            weekly is not None
            and weekly.only_with_news
            and not weekly_news(
                update.context,
                project=self.project,
                visible_done=self._visible_done(),
                since=reader.since,
                policy=self.policy,
            )
        ):
            return None
        return update

    def _visible_done(self) -> list[date]:
        shown = {m.key for m in self.milestones if m.customer_visible}
        return [
            t.done_on for t in self.tasks if t.done_on is not None and t.customer_visible and t.milestone_key in shown
        ]


# -- status emails composed at delivery -------------------------------------------------

TO_COMPOSE = "to_compose"  # the context key of a status email queued to be composed when delivered


def update_to_compose(
    *, project_id: str, customer: str, reader: WeeklyReader | MilestoneReader, reply_to: str | None
) -> OutgoingMessage:
    """A reader's status email as it is queued to be composed when delivered (a sweep's weekly update, a
    milestone's announcement): its key, reader, subject and Reply-To, which are known from the project's row and
    people; what it says (and, for a weekly update, whether it has news to say) is composed from the project as of
    its delivery (``StatusView.composed`` of ``reader_to_compose``)."""
    if isinstance(reader, MilestoneReader):
        reason: StatusReason = "milestone_complete"
        as_of, milestone, subject = reader.as_of, reader.milestone, f"{customer} onboarding: {reader.title} complete"
        pending = {"role": reader.role, "as_of": as_of.isoformat(), "milestone": milestone, "title": reader.title}
    else:
        reason, as_of, milestone, subject = "weekly", reader.slot_on, None, f"{customer} onboarding: weekly update"
        pending = {"role": reader.role, "slot_on": as_of.isoformat(), "since": reader.since.isoformat()}
    return OutgoingMessage(
        idempotency_key=status_key(
            project_id=project_id, recipient=reader.person, reason=reason, as_of=as_of, completed_milestone=milestone
        ),
        kind=MessageKind.status,
        to=(reader.person,),
        subject=subject,
        context={TO_COMPOSE: pending},
        customer_facing=True,
        project_id=project_id,
        reply_to=reply_to,
        key_email=reader.person.email,
        key_on=as_of,
        key_reason=reason,
    )


def reader_to_compose(message: OutgoingMessage) -> WeeklyReader | MilestoneReader | None:
    """The reader of a status email queued to be composed (``update_to_compose``); None for any other message,
    which is sent as it was queued."""
    if message.kind is not MessageKind.status or len(message.to) != 1:
        return None
    pending = message.context.get(TO_COMPOSE)
    if not isinstance(pending, Mapping):
        return None
    if "milestone" in pending:
        return MilestoneReader(
            message.to[0],
            str(pending["role"]),
            date.fromisoformat(str(pending["as_of"])),
            str(pending["milestone"]),
            str(pending["title"]),
        )
    return WeeklyReader(
        message.to[0],
        str(pending["role"]),
        date.fromisoformat(str(pending["slot_on"])),
        date.fromisoformat(str(pending["since"])),
    )


def not_to_compose(
    reader: WeeklyReader | MilestoneReader,
    *,
    policy: StatusEmailPolicy,
    recipients: Mapping[str, Person],
    state: ProjectState,
) -> str | None:
    """Why a status email queued to be composed (``reader_to_compose``) is no longer to be sent when it is
    delivered, or None. It is composed from the project as it is then, so it goes to its reader only while they
    are still one of the policy's readers, under any of its roles (a role rebound or unbound since it was queued
    would otherwise tell someone off the project how it stands today); a weekly update goes only to an active
    project, as the sweep queues them (not once it is on hold, live or cancelled); a milestone's announcement goes
    unless the project was cancelled."""
    if all(person.email != reader.person.email for _role, person in _readers(policy, recipients)):
        return f"{reader.person.email} is no longer one of the project's status readers: not sent to them"
    if state is ProjectState.cancelled:
        return "its project is cancelled"
    if isinstance(reader, WeeklyReader) and state is not ProjectState.active:
        return f"its project is {state.value.replace('_', ' ')}: weekly updates go to active projects only"
    return None


def weekly_news(
    context: Mapping[str, Any],
    *,
    project: ProjectStatus,
    visible_done: Sequence[date],
    since: date,
    policy: StatusEmailPolicy,
) -> bool:
    """Whether a weekly update has news for its reader since ``since`` (their last update): a customer-visible
    task done after it (``visible_done``: their done days), something asked of them in it (its "what we need
    from you"), or the projected go-live moved after it, when the emails show the go-live."""
    if any(day > since for day in visible_done):
        return True
    if context.get("needs_from_you"):
        return True
    moved = project.go_live_moved_on
    return policy.include_projected_go_live and moved is not None and moved > since


# -- pieces --------------------------------------------------------------------------


def _contact(person: Person, role_title: str | None) -> ContactView:
    view = ContactView(name=person.name, email=person.email)
    if role_title:
        view["role"] = role_title
    return view


def _completed_title(
    reason: StatusReason, completed_milestone: str | None, shown: Mapping[str, MilestoneStatus]
) -> str | None:
    if reason == "weekly":
        if completed_milestone is not None:
            raise ValueError("a weekly status email announces no completed milestone")
        return None
    if reason != "milestone_complete":
        raise ValueError(f"unknown status email reason {reason!r}")
    if completed_milestone is None:
        raise ValueError("a milestone_complete status email needs the completed milestone's key")
    if completed_milestone not in shown:
        raise ValueError(f"milestone {completed_milestone!r} is unknown or not customer-visible; it is not announced")
    return shown[completed_milestone].title


def _owned_by(task: TaskStatus, recipient: Person, role: str) -> bool:
    return task.owner_role == role or task.owner.email == recipient.email


def _days_overdue(due_on: date, as_of: date, calendar: BusinessCalendar | None) -> int:
    """Business days strictly after ``due_on`` up to ``as_of`` (Monday to Friday without a calendar)."""
    if due_on >= as_of:
        return 0
    if calendar is None:
        weeks, rest = divmod((as_of - due_on).days, 7)
        first = due_on.weekday()
        return weeks * 5 + sum(1 for k in range(1, rest + 1) if (first + k) % 7 < 5)
    return calendar.index(calendar.prev_on_or_before(as_of)) - calendar.index(calendar.prev_on_or_before(due_on))


def _go_live(project: ProjectStatus, hidden_titles: Sequence[str]) -> GoLiveView | None:
    projected = project.projected_go_live_on
    if projected is None:
        return None
    committed = project.committed_go_live_on
    view: GoLiveView = {
        "projected_on": projected.isoformat(),
        "committed_on": committed.isoformat() if committed is not None else None,
        "on_track": committed is None or projected <= committed,
    }
    reason = project.go_live_reason
    if reason:
        folded = reason.casefold()
        if not any(title.casefold() in folded for title in hidden_titles if title):
            view["reason"] = reason
    return view
