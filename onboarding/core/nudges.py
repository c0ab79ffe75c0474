"""Deciding nudges: which overdue tasks get a reminder now, who receives it, and the daily digests.

The sweep hands over the overdue task rows it found (as ``OverdueTask`` values, the
ladder already resolved to people) and the instant ``now``; ``decide_nudges``
returns a ``NudgePlan``: the nudges to record, the digests to queue (one email per
recipient per local day, composed when recorded) and the nudges that are due but held back, with why.

The rules (DESIGN §5, the blueprint's ``NudgePolicy``):

- Owner side, on the owner's calendar and local date: a task is due a nudge once it
  is ``first_after_business_days`` business days overdue (business days strictly
  after ``due_on`` up to and including the owner's local today) and, when it was
  nudged before, ``repeat_every_business_days`` business days after that nudge.
  Both tests are date comparisons (``nudge_thresholds``): due before one date and
  last nudged before another, which a store can also ask of an index so that only
  the tasks that may be due today are read.
- Ladder: the n-th nudge (n = nudges_sent + 1) goes to rung
  ``1 + nudges_sent // escalate_after_nudges`` of ``(owner, *escalation_chain)``,
  capped at the last rung.
- Recipient side, in the recipient's time zone and on their calendar (that of the
  side of the role they are nudged in, in the task's project): nothing on their
  weekends or holidays, in their quiet hours or before ``send_at``; at most
  ``daily_cap_per_recipient`` digests a local day, counting what they were already
  sent. Held-back nudges are deferred, never dropped: the next sweep decides them
  again.

Keys are stable: the n-th nudge of a task at one due-date version is always
``nudge:{project}:{task}:{due_version}:{n}``, the first digest of a recipient's
local day ``digest:{email}:{date}`` (later ones that day, when the cap allows more,
end in ``:2``, ``:3``...). Keys are only ever compared, never split: what they are
made of travels beside them (``Nudge.digest_on``, ``OutgoingMessage.key_email``...)
and is stored in columns.

Everything comes out in (due date, project, task) order, whatever the input order,
so the same inputs always give the same plan; a row given twice is decided once.

The decision is linear in the number of rows: everything that depends only on a
time zone, a calendar or a date is computed once per call and looked up per row;
the one sort is over the rows that are due.

A digest's Reply-To is the contact of each of its projects (the person bound to
the blueprint's contact role: ``contact``, else ``csm``), never its recipient, and
its text names who a reply reaches; each item carries its task's description.

Not here: finding overdue rows (a store query), resolving ladder roles to people
(the sweep service), recording that a nudge went out (the service, from
``NudgePlan.nudges``), rendering and delivery (adapters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from onboarding.core.addresses import reply_to_text
from onboarding.core.blueprint import Blueprint, NudgePolicy, clock_time
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.messages import (
    ContactView,
    MessageKind,
    NudgeDigestContext,
    NudgeItemView,
    OutgoingMessage,
    Person,
)


class DeferReason(StrEnum):
    """Why a nudge that is due was held back (it is decided again on the next sweep)."""

    non_business_day = "weekend/holiday"
    quiet_hours = "quiet hours"
    before_send_time = "before send time"
    daily_cap = "daily cap"


class Rung(NamedTuple):
    """Someone the ladder reaches after the owner, with the calendar and side of the role they hold there."""

    person: Person
    calendar: BusinessCalendar  # the calendar of their role's side in the task's project
    customer_side: bool  # their role there is on the customer side


class OverdueTask(NamedTuple):
    """One overdue task row, with its nudge ladder already resolved to people.

    A named tuple, as the rows it is made from: a sweep decides a hundred thousand.
    """

    project_id: str
    customer: str  # the project's display name
    blueprint_title: str
    task_key: str
    task_title: str
    milestone_title: str
    owner_role: str
    owner: Person
    customer_side: bool  # the owner's role is on the customer side
    owner_calendar: BusinessCalendar  # the calendar of the owner's side
    due_on: date
    due_version: int  # bumps whenever the task's due date changes
    escalation_chain: tuple[Rung, ...] = ()  # the ladder's people after the owner, in order, owner not repeated
    nudges_sent: int = 0  # nudges already sent for this task at this due_version
    last_nudged_on: date | None = None  # the owner's local date of the last nudge (``Nudge.nudged_on``)
    contact: Person | None = None  # who answers replies about the project (the blueprint's contact role)
    contact_title: str | None = None  # the title of that role ("Customer success manager")
    task_description: str | None = None  # what is to be done, from the blueprint


class Nudge(NamedTuple):
    """One nudge to record: the n-th reminder of a task at one due-date version.

    The task's identity (project, task key, due version) and the nudge's number and
    key are read from ``task``, so that deciding a quarter of a million nudges does
    not build each of them twice.
    """

    task: OverdueTask
    level: int  # 1 = the owner, 2 = escalation_chain[0].person, ...
    recipient: Person
    digest_key: str  # the digest message that carries it
    nudged_on: date  # the owner's local today: store it as the task's last_nudged_on
    digest_on: date  # the recipient's local day of that digest (the cap counts digests by it)

    @property
    def project_id(self) -> str:
        return self.task.project_id

    @property
    def task_key(self) -> str:
        return self.task.task_key

    @property
    def due_version(self) -> int:
        return self.task.due_version

    @property
    def number(self) -> int:
        """Which nudge of this task at this due version it is: nudges_sent + 1."""
        return self.task.nudges_sent + 1

    @property
    def key(self) -> str:
        """nudge:{project_id}:{task_key}:{due_version}:{number}, the same every time it is decided."""
        task = self.task
        return nudge_key(task.project_id, task.task_key, task.due_version, task.nudges_sent + 1)


@dataclass(frozen=True, slots=True)
class NudgePlan:
    """What one sweep decided: nudges to record, digests to queue, nudges held back and why."""

    nudges: tuple[Nudge, ...]
    digests: tuple[Digest, ...]
    deferred: tuple[tuple[OverdueTask, str], ...]


@lru_cache(maxsize=1024)
def time_zone(name: str) -> tzinfo:
    """The IANA zone of that name, or UTC when the name is unknown or malformed."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


def in_quiet_hours(local: time, *, start: time, end: time) -> bool:
    """Whether a local time of day falls in quiet hours [start, end), which may span midnight."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def nudge_key(project_id: str, task_key: str, due_version: int, number: int) -> str:
    return f"nudge:{project_id}:{task_key}:{due_version}:{number}"


def digest_key(email: str, local_on: date, number: int = 1) -> str:
    """Key of the ``number``-th digest a recipient gets on their local day."""
    base = f"digest:{email}:{local_on.isoformat()}"
    return base if number == 1 else f"{base}:{number}"


class SentDigest(NamedTuple):
    """A digest recorded: its recipient's address and local day (stored in columns), and its key."""

    email: str
    local_on: date
    key: str


def sent_digests(sent: Iterable[SentDigest]) -> dict[tuple[str, date], int]:
    """Digests sent, by recipient email and local day (each key counted once)."""
    counts: dict[tuple[str, date], int] = {}
    for email, local_on, _key in set(sent):
        counts[(email, local_on)] = counts.get((email, local_on), 0) + 1
    return counts


@dataclass(frozen=True, slots=True)
class NudgeThresholds:
    """The owner side of the policy on one calendar and local date, as two dates.

    A task is due a nudge iff ``due_on < due_before`` and it was never nudged or
    ``last_nudged_on < nudged_before``. Both dates only grow with the local date.
    """

    due_before: date
    nudged_before: date


def nudge_thresholds(policy: NudgePolicy, calendar: BusinessCalendar, local_on: date) -> NudgeThresholds:
    """The owner-side tests of ``policy`` on ``calendar`` for an owner whose local date is ``local_on``.

    "At least n business days after x" counts from the last business day on or
    before x (the floor) to the floor of ``local_on``; floor(x) <= floor(today) - n
    holds exactly when x falls before the business day floor(today) - n + 1.
    """
    today_floor = calendar.prev_on_or_before(local_on)
    due_before = calendar.add(today_floor, 1 - policy.first_after_business_days)
    return NudgeThresholds(
        due_before=min(due_before, local_on),  # never due on or before its due date, even at first_after 0
        nudged_before=calendar.add(today_floor, 1 - policy.repeat_every_business_days),
    )


def decide_nudges(
    overdue: Iterable[OverdueTask],
    *,
    policy: NudgePolicy,
    now: datetime,
    already_sent: Mapping[tuple[str, date], int],
    vendor_contact: Person,
) -> NudgePlan:
    """Decide the nudges due at ``now`` (aware) for these overdue tasks, grouped into digests.

    ``already_sent`` counts the digests already sent, by recipient email and the
    recipient's local day (``sent_digests`` counts them from the recorded digests).
    ``vendor_contact`` answers replies about the tasks whose project has no contact
    of its own (``OverdueTask.contact``): the engine's sender. Each
    nudge is held on the calendar of the recipient's side in the task's project
    (the owner's, or the rung's); a digest is customer-facing when one of its
    nudges reaches its recipient through a customer-side role.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    clock = _LocalClock(now, policy)

    # 1. Owner side: which tasks are due a nudge (one pass: two date comparisons, thresholds looked up).
    due: list[tuple[date, str, str, int, int, OverdueTask, date]] = []
    today_by_zone = clock.today_by_zone
    thresholds: dict[tuple[BusinessCalendar, date], NudgeThresholds] = {}
    for seq, task in enumerate(overdue):
        owner_today = today_by_zone.get(task.owner.timezone)
        if owner_today is None:
            owner_today = clock.today(task.owner.timezone)
        calendar = task.owner_calendar
        limits = thresholds.get((calendar, owner_today))
        if limits is None:
            limits = thresholds[(calendar, owner_today)] = nudge_thresholds(policy, calendar, owner_today)
        due_on = task.due_on
        if due_on >= limits.due_before:
            continue
        last = task.last_nudged_on
        if last is not None and last >= limits.nudged_before:
            continue
        due.append((due_on, task.project_id, task.task_key, task.due_version, seq, task, owner_today))
    due.sort()

    # 2. Recipient side, in (due date, project, task) order: ladder, local time, calendar, cap, digest.
    escalate_after = policy.escalate_after_nudges
    cap = policy.daily_cap_per_recipient
    groups: dict[tuple[str, date], Digest | None] = {}
    nudges: list[Nudge] = []
    deferred: list[tuple[OverdueTask, str]] = []
    previous_task, previous_project, previous_version = "", "", -1
    for _due_on, project_id, task_key, due_version, _seq, task, owner_today in due:
        if task_key == previous_task and project_id == previous_project and due_version == previous_version:
            continue  # the same task given twice (sorting made the copies neighbours): decided once
        previous_task, previous_project, previous_version = task_key, project_id, due_version
        chain = task.escalation_chain
        level = 1 + task.nudges_sent // escalate_after
        if level > len(chain) + 1:
            level = len(chain) + 1
        if level == 1:
            recipient, calendar, customer_side = task.owner, task.owner_calendar, task.customer_side
        else:
            recipient, calendar, customer_side = chain[level - 2]
        email = recipient.email
        state = clock.state_by_calendar.get(calendar, _NO_STATE).get(recipient.timezone)
        local_on, held = state if state is not None else clock.recipient_state(calendar, recipient.timezone)
        if held is not None:
            deferred.append((task, held))
            continue
        group_key = (email, local_on)
        if group_key in groups:
            group = groups[group_key]
        else:
            used = already_sent.get(group_key, 0)  # one digest per recipient and local day is made here
            if used >= cap:
                group = None
            else:
                group = Digest(digest_key(email, local_on, used + 1), recipient, local_on, project_id, vendor_contact)
            groups[group_key] = group
        if group is None:
            deferred.append((task, DeferReason.daily_cap))
            continue
        if customer_side:
            group.customer_facing = True
        if project_id != group.project_id:
            group.project_id = None
        nudge = Nudge(task, level, recipient, group.key, owner_today, local_on)
        nudges.append(nudge)
        group.nudges.append((nudge, calendar))

    digests = tuple(group for group in groups.values() if group is not None)
    return NudgePlan(nudges=tuple(nudges), digests=digests, deferred=tuple(deferred))


def decide_nudges_per_policy(
    overdue_by_policy: Mapping[NudgePolicy, Sequence[OverdueTask]],
    *,
    now: datetime,
    already_sent: Mapping[tuple[str, date], int],
    vendor_contact: Person,
) -> NudgePlan:
    """``decide_nudges`` for each policy in turn, in the mapping's order, as one plan.

    Policies share the recipients' daily cap: the digests one policy makes count
    against it for the policies decided after it.
    """
    sent = dict(already_sent)
    plans: list[NudgePlan] = []
    for policy, overdue in overdue_by_policy.items():
        if not overdue:
            continue
        plan = decide_nudges(overdue, policy=policy, now=now, already_sent=sent, vendor_contact=vendor_contact)
        for digest in plan.digests:
            recipient_day = (digest.recipient.email, digest.local_on)
            sent[recipient_day] = sent.get(recipient_day, 0) + 1
        plans.append(plan)
    return NudgePlan(
        nudges=tuple(n for p in plans for n in p.nudges),
        digests=tuple(d for p in plans for d in p.digests),
        deferred=tuple(d for p in plans for d in p.deferred),
    )


# -- per-call caches ------------------------------------------------------------------


_NO_STATE: Mapping[str, tuple[date, DeferReason | None]] = {}


class _LocalClock:
    """``now`` seen from each time zone, and what it means for sending there; computed once per zone."""

    __slots__ = ("_end", "_now", "_send_at", "_start", "state_by_calendar", "today_by_zone")

    def __init__(self, now: datetime, policy: NudgePolicy) -> None:
        self._now = now
        self._start = clock_time(policy.quiet_hours.start)
        self._end = clock_time(policy.quiet_hours.end)
        self._send_at = clock_time(policy.send_at)
        self.today_by_zone: dict[str, date] = {}
        self.state_by_calendar: dict[BusinessCalendar, dict[str, tuple[date, DeferReason | None]]] = {}

    def today(self, zone: str) -> date:
        local_on = self._now.astimezone(time_zone(zone)).date()
        self.today_by_zone[zone] = local_on
        return local_on

    def recipient_state(self, calendar: BusinessCalendar, zone: str) -> tuple[date, DeferReason | None]:
        """The recipient's local date, and why nothing may be sent to them now (None: it may)."""
        by_zone = self.state_by_calendar.get(calendar)
        if by_zone is None:
            by_zone = self.state_by_calendar[calendar] = {}
        state = by_zone.get(zone)
        if state is None:
            local = self._now.astimezone(time_zone(zone))
            local_on, local_time = local.date(), local.time().replace(tzinfo=None)
            held: DeferReason | None = None
            if not calendar.is_business_day(local_on):
                held = DeferReason.non_business_day
            elif in_quiet_hours(local_time, start=self._start, end=self._end):
                held = DeferReason.quiet_hours
            elif local_time < self._send_at:
                held = DeferReason.before_send_time
            state = by_zone[zone] = (local_on, held)
        return state


def _contact_view(person: Person, role_title: str | None) -> ContactView:
    view = ContactView(name=person.name, email=person.email)
    if role_title:
        view["role"] = role_title
    return view


class Digest:
    """The nudges of one recipient's local day, gathered into one email.

    Deciding settles who gets it, its key and which nudges it carries; its subject
    and template context are composed when asked for (``message``), so that a
    sweep composes only the digests it records, not those another sweep recorded
    first. It reads as the ``OutgoingMessage`` it becomes.
    """

    __slots__ = ("customer_facing", "key", "local_on", "nudges", "project_id", "recipient", "vendor_contact")
    kind = MessageKind.nudge_digest

    def __init__(self, key: str, recipient: Person, local_on: date, project_id: str, vendor_contact: Person) -> None:
        self.key = key
        self.recipient = recipient
        self.local_on = local_on
        self.nudges: list[tuple[Nudge, BusinessCalendar]] = []  # each with the recipient's calendar for it
        self.customer_facing = False
        self.project_id: str | None = project_id  # None once a second project joins
        self.vendor_contact = vendor_contact  # who answers for a project without a contact (the engine's sender)

    def _fields(self) -> tuple[object, ...]:
        return (
            self.key,
            self.recipient,
            self.local_on,
            self.customer_facing,
            self.project_id,
            self.vendor_contact,
            self.nudges,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Digest) and self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # it gathers nudges while a plan is decided

    def __repr__(self) -> str:
        return f"Digest({self.key!r}, {len(self.nudges)} nudges)"

    @property
    def idempotency_key(self) -> str:
        return self.key

    @property
    def to(self) -> tuple[Person, ...]:
        return (self.recipient,)

    @property
    def cc(self) -> tuple[Person, ...]:
        return ()

    def contacts(self) -> list[ContactView]:
        """Who a reply reaches: each project's contact (``vendor_contact`` for a project without one), in the
        order of the nudges, the recipient never among them (someone nudged about their own project's work)."""
        out: list[ContactView] = []
        seen = {self.recipient.email}
        for nudge, _calendar in self.nudges:
            task = nudge.task
            person = task.contact or self.vendor_contact
            if person.email not in seen:
                seen.add(person.email)
                out.append(_contact_view(person, task.contact_title if task.contact is not None else None))
        return out

    @property
    def reply_to(self) -> str | None:
        """The Reply-To: every contact of the digest's projects (usually one); None when the recipient is it."""
        return reply_to_text((c["name"], c["email"]) for c in self.contacts())

    @property
    def subject(self) -> str:
        if len(self.nudges) == 1:
            task = self.nudges[0][0].task
            return f"Reminder: {task.task_title} for {task.customer}"
        return f"{len(self.nudges)} overdue onboarding tasks"

    @property
    def context(self) -> NudgeDigestContext:
        items: list[NudgeItemView] = []
        for nudge, calendar in self.nudges:
            task = nudge.task
            # business days overdue on the recipient's calendar, up to their local day
            today_floor = calendar.index(calendar.prev_on_or_before(self.local_on))
            days_overdue = max(today_floor - calendar.index(calendar.prev_on_or_before(task.due_on)), 0)
            items.append(
                {
                    "project": {
                        "id": task.project_id,
                        "customer": task.customer,
                        "blueprint_title": task.blueprint_title,
                    },
                    "task_title": task.task_title,
                    "milestone": task.milestone_title,
                    "due_on": task.due_on.isoformat(),
                    "days_overdue": days_overdue,
                    "level": nudge.level,
                    "owner_name": task.owner.name,
                    "escalated": nudge.level > 1,
                    "contact": _contact_view(
                        task.contact or self.vendor_contact, task.contact_title if task.contact is not None else None
                    ),
                }
            )
            if task.task_description:
                items[-1]["description"] = task.task_description
            if task.customer_side:
                items[-1]["task_key"] = task.task_key
        contacts = self.contacts()
        return {
            "recipient_name": self.recipient.name,
            "as_of": self.local_on.isoformat(),
            "items": items,
            "vendor_contact": contacts[0] if contacts else _contact_view(self.vendor_contact, None),
            "contacts": contacts,
        }

    def message(self) -> OutgoingMessage:
        """The email to queue."""
        return OutgoingMessage(
            idempotency_key=self.key,
            kind=self.kind,
            to=self.to,
            subject=self.subject,
            context=self.context,
            customer_facing=self.customer_facing,
            project_id=self.project_id,
            reply_to=self.reply_to,
            key_email=self.recipient.email,
            key_on=self.local_on,
        )


def escalation_ladder(blueprint: Blueprint, owner_role: str) -> tuple[str, ...]:
    """The roles nudged after a task's owner, rung by rung, from the policy's ladder: ``owner`` is the owner's
    role, ``escalation`` the role its owner escalates to (none when it has none), any other step a role by name;
    each role once, the owner's never again."""
    roles: list[str] = []
    for step in blueprint.nudges.ladder:
        if step == "owner":
            role: str | None = owner_role
        elif step == "escalation":
            role = blueprint.roles[owner_role].escalation if owner_role in blueprint.roles else None
        else:
            role = step
        if role and role != owner_role and role not in roles:
            roles.append(role)
    return tuple(roles)
