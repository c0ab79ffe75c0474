"""Customer links: a customer person's signed link to their onboarding, what it shows, and what it lets them do.

``CustomerLinkService.link_for`` gives the status-page URL of a customer person of a
project (their token signed under the engine's secret and the project's link key,
``core/customer_links``); ``rotate`` renews the project's link key, revoking every
link made before. With a token, ``status`` reads the person's status page
(``core/customer_status``), ``task`` what a confirmation page shows, and ``done``,
``stuck`` (with a reason) and ``snooze`` (until a day within ``snooze_limits``)
record the change through ``ProjectService`` with the person's name as actor, so
the plan re-forecasts and the history says who. A "stuck" tells the project's
contact (the vendor person who answers for it, else the engine's sender) at once,
by an email queued with the change. ``project_calendar`` and ``person_calendar``
are the ICS feeds of the same token.

Every entry point checks the token first (``customer-link-invalid``, ``-revoked``,
``-expired``), then that its person still holds a customer role of the project
(``customer-not-on-project``). Only tasks a customer may see are ever shown, and
only the customer side's open ones acted on (``task-not-yours``); a task already
finished says so (``task-not-open``).

Not here: the rules of tokens and of the view (core), pages and forms (web), where
keys are kept (the ``CustomerLinkKeys`` port), ICS text (``CalendarFeeds``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from onboarding.core.addresses import reply_to_text
from onboarding.core.blueprint import CalendarName, Side
from onboarding.core.calendars import BusinessCalendar
from onboarding.core.customer_links import (
    INVALID,
    CustomerLink,
    customer_link_token,
    form_token,
    is_form_token,
    link_names,
    read_customer_link,
    refused,
    status_path,
)
from onboarding.core.customer_status import (
    MAX_STUCK_REASON_CHARS,
    CustomerStatus,
    CustomerTask,
    actionable,
    customer_status,
    snooze_limits,
    visible_tasks,
)
from onboarding.core.lifecycle import FINISHED, Action, TaskState, transition
from onboarding.core.messages import AutomatedContext, MessageKind, OutgoingMessage, Person
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.planning import plan_project, scheduling_calendars
from onboarding.core.projects import ProjectRecord, TaskRecord, project_contact
from onboarding.errors import (
    CustomerActionRefused,
    CustomerLinkRefused,
    OnboardingError,
    Problem,
    ProjectNotFound,
)
from onboarding.services.ports import Clock, CustomerLinkKeys, LoadedBlueprint
from onboarding.services.projects import ProjectService


class CalendarFeeds(Protocol):
    """ICS text of a project and of one person's tasks (``adapters/calendar_feeds``)."""

    def project_feed(
        self,
        project: ProjectRecord,
        *,
        visible: Callable[[TaskRecord], bool],
        domain: str,
        stamp: datetime,
        url: str | None = None,
    ) -> bytes: ...

    def person_feed(
        self,
        items: Iterable[tuple[ProjectRecord, Sequence[TaskRecord]]],
        *,
        calendar_name: str,
        domain: str,
        stamp: datetime,
    ) -> bytes: ...


@dataclass(frozen=True)
class CustomerAccess:
    """What a valid token opens: the project as stored, its blueprint, the person and the customer roles they hold."""

    token: str
    link: CustomerLink
    project: ProjectRecord
    loaded: LoadedBlueprint
    person: Person
    roles: tuple[str, ...]

    @property
    def visible(self) -> list[TaskRecord]:
        return visible_tasks(self.project, {m.key: m.customer_visible for m in self.loaded.blueprint.milestones})


@dataclass(frozen=True)
class TaskAsk:
    """What a confirmation page shows: the task as the customer sees it, and the days a snooze may end on."""

    customer: str
    person_name: str
    task: CustomerTask
    snooze_from: date
    snooze_until: date
    snooze_days: tuple[date, ...]  # the business days from ``snooze_from`` to ``snooze_until``: what may be chosen


@dataclass(frozen=True)
class CustomerActionDone:
    """What a customer's action recorded: the task's title and state after, and the project's go-live now."""

    customer: str
    task_title: str
    state: TaskState
    snoozed_until: date | None
    projected_go_live_on: date | None


class CustomerLinkService:
    def __init__(
        self,
        *,
        keys: CustomerLinkKeys,
        projects: ProjectService,
        feeds: CalendarFeeds,
        secret: bytes,
        public_url: str,
        domain: str,
        clock: Clock,
        sender: Person,
    ) -> None:
        if not secret:
            raise ValueError("customer links need a secret key")
        self._keys = keys
        self._projects = projects
        self._feeds = feeds
        self._secret = secret
        self._public_url = public_url.rstrip("/")
        self._domain = domain
        self._clock = clock
        self._sender = sender

    # -- links -------------------------------------------------------------------------

    def token_for(self, project_ref: str, email: str) -> str:
        """The token of a customer person of a project (``customer-not-on-project`` for anyone else)."""
        project = self._projects.get(project_ref)
        loaded = self._projects.blueprint_of(project)
        _person_and_roles(project, loaded, email)
        key = self._keys.ensure_link_key(project.id, now=self._clock.now())
        return customer_link_token(self._secret, key, project_id=project.id, email=email)

    def link_for(self, project_ref: str, email: str) -> str:
        """The full URL of the status page of a customer person of a project."""
        return self._public_url + status_path(self.token_for(project_ref, email))

    def url(self, path: str) -> str:
        return self._public_url + path

    def rotate(self, project_ref: str) -> int:
        """Renew the project's link key, revoking every link of it made before; the new key's generation."""
        project = self._projects.get(project_ref)
        return self._keys.rotate_link_key(project.id, now=self._clock.now()).generation

    def form_token(self, token: str, *, action: str, task_key: str) -> str:
        return form_token(self._secret, link_token=token, action=action, task_key=task_key)

    def is_form_token(self, value: str | None, token: str, *, action: str, task_key: str) -> bool:
        return is_form_token(value, self._secret, link_token=token, action=action, task_key=task_key)

    # -- reading -----------------------------------------------------------------------

    def open(self, token: str) -> CustomerAccess:
        """What ``token`` opens; raises ``CustomerLinkRefused`` saying why not."""
        names = link_names(token)
        if names is None:
            raise refused(INVALID)
        try:
            project = self._projects.get(names.project_id)
        except ProjectNotFound:
            raise refused(INVALID) from None  # a valid signature cannot name a project this engine never had
        link = read_customer_link(
            token,
            secret=self._secret,
            link_key=self._keys.link_key(project.id),
            project_state=project.state,
            ended_on=max((t.done_on for t in project.tasks if t.done_on), default=None),
            today=self._clock.today(),
        )
        loaded = self._projects.blueprint_of(project)
        person, roles = _person_and_roles(project, loaded, link.email)
        return CustomerAccess(token, link, project, loaded, person, roles)

    def status(self, token: str) -> CustomerStatus:
        """The person's status page: go-live and why, what we need from them, milestones, timeline."""
        access = self.open(token)
        return self._status(access)

    def task(self, token: str, task_key: str) -> TaskAsk:
        """What the confirmation page of an action on ``task_key`` shows; changes nothing."""
        access = self.open(token)
        record = _actionable_task(access, task_key)
        status = self._status(access)
        shown = next(t for t in status.needs_from_you if t.key == record.key)
        calendar = self._customer_calendar(access)
        first, last = snooze_limits(record, today=self._clock.today(), calendar=calendar)
        days = tuple(
            first + timedelta(days=n)
            for n in range((last - first).days + 1)
            if calendar.is_business_day(first + timedelta(days=n))
        )
        return TaskAsk(access.project.customer, access.person.name, shown, first, last, days)

    def project_calendar(self, token: str) -> bytes:
        """The ICS feed of the project's customer-visible milestones and its go-live."""
        access = self.open(token)
        shown = {t.key for t in access.visible}
        return self._feeds.project_feed(
            access.project,
            visible=lambda t: t.key in shown,
            domain=self._domain,
            stamp=self._clock.now(),
            url=self.url(f"/c/{token}/project.ics"),
        )

    def person_calendar(self, token: str) -> bytes:
        """The ICS feed of the due dates of the person's own tasks on the project (visible ones only)."""
        access = self.open(token)
        mine = [t for t in access.visible if t.owner_role in access.roles]
        return self._feeds.person_feed(
            [(access.project, mine)],
            calendar_name=f"{access.person.name}: {access.project.customer} onboarding tasks",
            domain=self._domain,
            stamp=self._clock.now(),
        )

    # -- acting ------------------------------------------------------------------------

    def done(self, token: str, task_key: str) -> CustomerActionDone:
        """Mark the task done today (a task reported stuck is unblocked first), with the person as actor."""
        access = self.open(token)
        record = _actionable_task(access, task_key)
        actor = _actor(access.person)
        ref = access.project.id
        if record.state is TaskState.blocked:
            self._check_unblock_then_complete(access, task_key)  # so that a refused completion leaves it blocked
            self._projects.change_task(ref, task_key, Action.unblock, by=actor)
        changed = self._projects.change_task(ref, task_key, Action.complete, by=actor)
        return _done(changed, task_key)

    def stuck(self, token: str, task_key: str, *, reason: str) -> CustomerActionDone:
        """Mark the task blocked with the person's reason, and tell the project's contact at once."""
        access = self.open(token)
        record = _actionable_task(access, task_key)
        text = " ".join((reason or "").split())
        if not text:
            raise _action_refused(
                "reason-required", "say what is in the way", "a sentence is enough: what you need, or what failed"
            )
        if len(text) > MAX_STUCK_REASON_CHARS:
            raise _action_refused(
                "text-too-long",
                f"the reason is {len(text)} characters long; at most {MAX_STUCK_REASON_CHARS} are kept",
                "shorten it; you can reply to any of our emails with the details",
            )
        alert = self._stuck_alert(access, record, text)
        changed = self._projects.change_task(
            access.project.id, task_key, Action.block, by=_actor(access.person), reason=text, messages=[alert]
        )
        return _done(changed, task_key)

    def snooze(self, token: str, task_key: str, *, until: date) -> CustomerActionDone:
        """Hold the task's reminders until ``until``, a day within ``snooze_limits``."""
        access = self.open(token)
        record = _actionable_task(access, task_key)
        first, last = snooze_limits(record, today=self._clock.today(), calendar=self._customer_calendar(access))
        if not first <= until <= last:
            raise _action_refused(
                "snooze-date-invalid",
                f"{until.isoformat()} is not between {first.isoformat()} and {last.isoformat()}",
                f"choose a day from {first.isoformat()} to {last.isoformat()}",
            )
        changed = self._projects.snooze_task(access.project.id, task_key, until=until, by=_actor(access.person))
        return CustomerActionDone(
            changed.customer, record.title, changed.task(task_key).state, until, changed.projected_go_live_on
        )

    # -- pieces ------------------------------------------------------------------------

    def _check_unblock_then_complete(self, access: CustomerAccess, task_key: str) -> None:
        """Raise what completing the task after unblocking it would raise, before either is recorded."""
        project, graph = access.project, access.loaded.graph
        today, now = self._clock.today(), self._clock.now()
        progress = dict(project.progress)
        for action in (Action.unblock, Action.complete):
            progress[task_key], _event = transition(
                graph,
                progress,
                task_key,
                action,
                on=today,
                at=now,
                actor=_actor(access.person),
                kickoff_on=project.kickoff_on,
                today=today,
                project_state=project.state,
            )

    def _customer_calendar(self, access: CustomerAccess) -> BusinessCalendar:
        return scheduling_calendars(access.loaded.blueprint, customer=access.project.customer_calendar)[
            CalendarName.customer
        ]

    def _status(self, access: CustomerAccess) -> CustomerStatus:
        bp = access.loaded.blueprint
        project = access.project
        return customer_status(
            project,
            visible_milestones={m.key: m.customer_visible for m in bp.milestones},
            descriptions={t.key: t.description for m in bp.milestones for t in m.tasks if t.description},
            person_name=access.person.name,
            person_roles=access.roles,
            events=self._projects.events(project.id),
            go_live_reason=self._go_live_reason(access),
            calendar=self._customer_calendar(access),
            today=self._clock.today(),
        )

    def _go_live_reason(self, access: CustomerAccess) -> str | None:
        """The launch window's reason for the projected go-live, from the plan as it stands today."""
        project, loaded = access.project, access.loaded
        if project.projected_go_live_on is None:
            return None
        try:
            plan = plan_project(
                loaded.blueprint,
                kickoff_on=project.kickoff_on,
                graph=loaded.graph,
                pay_schedule=parse_pay_schedule(project.pay_schedule) if project.pay_schedule else None,
                progress=project.progress,
                today=self._clock.today(),
                committed_go_live_on=project.committed_go_live_on,
                customer_calendar=project.customer_calendar,
            )
        except OnboardingError:
            return None
        go_live = plan.go_live
        if go_live is None or go_live.chosen_on != project.projected_go_live_on:
            return None
        return go_live.reason or None

    def _stuck_alert(self, access: CustomerAccess, task: TaskRecord, reason: str) -> OutgoingMessage:
        project, person = access.project, access.person
        contact = project_contact(access.loaded.blueprint, project.bindings, fallback=self._sender)
        subject = f"{project.customer}: {person.name} is stuck on {task.title}"
        body = (
            f"{person.name} ({person.email}) reported from their status page that they are stuck on "
            f'"{task.title}" ({task.milestone_title}), due {task.due_on.isoformat()}.\n\n'
            f"What is in the way, in their words:\n\n{reason}\n\n"
            "The task is marked blocked until someone unblocks it. "
            "Reply to this email to answer them."
        )
        context: AutomatedContext = {
            "project": {
                "id": project.id,
                "customer": project.customer,
                "blueprint_title": project.blueprint_title,
                "external_id": project.external_id,
            },
            "recipient_name": contact.name,
            "subject": subject,
            "body": body,
        }
        return OutgoingMessage(
            idempotency_key=f"stuck:{project.id}:{task.key}:{self._clock.now().isoformat()}",
            kind=MessageKind.automated,
            to=(contact,),
            subject=subject,
            context=context,
            customer_facing=False,
            project_id=project.id,
            reply_to=reply_to_text([(person.name, person.email)]),
        )


def _person_and_roles(project: ProjectRecord, loaded: LoadedBlueprint, email: str) -> tuple[Person, tuple[str, ...]]:
    """The customer person an address names on a project, and the customer roles they hold there."""
    wanted = email.strip().lower()
    roles = loaded.blueprint.roles
    held = tuple(
        sorted(
            role
            for role, p in project.bindings.items()
            if p.email.lower() == wanted and role in roles and roles[role].side is Side.customer
        )
    )
    if not held:
        customers = sorted(
            {p.email for role, p in project.bindings.items() if role in roles and roles[role].side is Side.customer}
        )
        raise CustomerLinkRefused(
            "link",
            (
                Problem(
                    "customer-not-on-project",
                    f"{wanted} holds no customer role of project {project.id} (any more)",
                    ("email",),
                    "links are for the customer's people on the project"
                    + (f": {', '.join(customers)}" if customers else "")
                    + "; ask the vendor contact to add you",
                ),
            ),
        )
    return project.bindings[held[0]], held


def _actionable_task(access: CustomerAccess, task_key: str) -> TaskRecord:
    """The task, if the customer may act on it: visible, customer side, open."""
    record = next((t for t in access.visible if t.key == task_key), None)
    if record is None or record.side != "customer":
        raise _action_refused(
            "task-not-yours",
            "this link names a task that is not on your list",
            "open your status page to see the tasks we need from you",
            loc=("task",),
        )
    if not actionable(record):
        finished = "done" if record.state is TaskState.done else str(record.state).replace("_", " ")
        raise _action_refused(
            "task-not-open",
            f'"{record.title}" is already {finished}'
            + (f" (on {record.done_on.isoformat()})" if record.done_on and record.state in FINISHED else ""),
            "nothing more is needed for it; your status page shows what is left",
            loc=("task",),
        )
    return record


def _action_refused(code: str, message: str, hint: str, *, loc: tuple[str, ...] = ()) -> CustomerActionRefused:
    return CustomerActionRefused("customer action", (Problem(code, message, loc, hint),))


def _actor(person: Person) -> str:
    return person.name


def _done(project: ProjectRecord, task_key: str) -> CustomerActionDone:
    task = project.task(task_key)
    return CustomerActionDone(project.customer, task.title, task.state, None, project.projected_go_live_on)
