"""Ports: the small interfaces the services need from the outside world.

Each has a real adapter and an in-memory twin in ``onboarding.adapters``;
``bootstrap.py`` is the only place that chooses between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, NamedTuple, Protocol, TypeVar

from onboarding.core.blueprint import Blueprint
from onboarding.core.blueprint_versions import Candidate, PublishedVersion
from onboarding.core.customer_calendar import CustomerCalendar
from onboarding.core.customer_links import LinkKey
from onboarding.core.graph import TaskGraph
from onboarding.core.lifecycle import Event, ProjectState, TaskProgress
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.core.nudges import Digest, Nudge, SentDigest
from onboarding.core.portfolio import PortfolioFigure, PortfolioProject, PortfolioTallies, ProjectAtRisk
from onboarding.core.portfolio_page import Place, PortfolioFilter, PortfolioRow, PortfolioSort
from onboarding.core.projects import ProjectRecord
from onboarding.core.sweep_days import SweepHistory
from onboarding.core.team import TeamDefault
from onboarding.core.team_members import MemberTask, SignInLink, TeamMember, TeamSession
from onboarding.core.ttfv import Dimension, TtfvObservations, TtfvRows
from onboarding.core.webhook_events import WebhookEndpoint
from onboarding.errors import Problem


@dataclass(frozen=True)
class LoadedBlueprint:
    """A checked blueprint and where it came from."""

    source: str
    blueprint: Blueprint
    graph: TaskGraph
    # Gives a problem found later (planning) the file position of its location.
    locate: Callable[[Problem], Problem] = field(default=lambda problem: problem)
    text: str = ""  # what was read, kept with a project launched from it


class BlueprintSource(Protocol):
    def load(self, ref: str) -> LoadedBlueprint:
        """The checked blueprint named by ``ref``; raises BlueprintInvalid with every problem."""
        ...

    def parse(self, text: str, *, source: str) -> LoadedBlueprint:
        """A checked blueprint from text kept earlier (a project's snapshot)."""
        ...


class BlueprintCatalog(Protocol):
    """The registry's published blueprint versions, kept with their texts (``services/blueprints.py``)."""

    def versions(self, key: str | None = None) -> list[PublishedVersion]:
        """The published versions of one key, or of every key; in no particular order."""
        ...

    def text(self, key: str, version: str) -> tuple[PublishedVersion, str] | None:
        """A published version with its text; None when that key has no such published version."""
        ...

    def published_ids(self, keys: Iterable[str]) -> dict[tuple[str, str], str]:
        """The content id published under each (key, version) of these keys."""
        ...

    def publish(self, entries: Sequence[tuple[Candidate, str]], *, at: datetime, by: str) -> None:
        """Publish these texts (each a candidate and its text) in one transaction: a text stored already (a
        project's snapshot) is marked published, any other stored. When another publication took one of their
        key and version meanwhile, raises ConcurrentChange and publishes none."""
        ...


T = TypeVar("T")
R = TypeVar("R")


class SideBySide(Protocol):
    """Batches worked side by side: ``work`` of each item, at most ``workers`` at once, the results in the items'
    order; the first failure raised once the batches under way have ended, no batch started after it is found.
    Threads (``services.side_by_side``, the twin) or forked processes (``adapters.forked_batches``)."""

    def __call__(self, work: Callable[[T], R], items: Sequence[T], *, workers: int) -> list[R]: ...


class Clock(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime:
        """An aware instant (UTC)."""
        ...


@dataclass(frozen=True, slots=True)
class FailedMessage:
    """An email that will not leave by itself: ``failed`` (refused or unsendable) or ``held`` (past the retry
    horizon); ``id`` is what ``onboarding outbox retry`` takes."""

    key: str
    kind: str
    subject: str
    recipients: tuple[str, ...]
    attempts: int
    error: str
    state: str = "failed"
    id: int | None = None


class ConcurrentChange(RuntimeError):
    """The project changed since it was read; the service reads it again and retries."""


class ProjectChange(NamedTuple):
    """One project's change, to write with others: the project as read and as changed, the events it appends
    and the emails it queues. ``suppress_pending``: a reason to suppress the project's emails about its work
    (``messages.ABOUT_THE_WORK``) still waiting in the outbox (a cancellation), before this change's own are
    queued."""

    before: ProjectRecord
    after: ProjectRecord
    new_events: Sequence[Event]
    messages: Sequence[OutgoingMessage]
    suppress_pending: str | None = None


@dataclass(frozen=True, slots=True)
class ProjectQuery:
    """Which projects a list shows: every filter given must hold."""

    state: str | None = None
    blueprint: str | None = None  # a blueprint key
    segment: str | None = None
    customer: str | None = None  # part of the customer's name, any case
    at_risk_on: date | None = None  # only projects at risk on this day (``ProjectRecord.at_risk``)


@dataclass(frozen=True, slots=True)
class ProjectSummary:
    """A project as a list shows it: no tasks, no people."""

    id: str
    external_id: str | None
    customer: str
    segment: str | None
    blueprint_key: str
    blueprint_version: str
    state: ProjectState
    kickoff_on: date
    committed_go_live_on: date | None
    projected_go_live_on: date | None
    created_at: datetime

    @property
    def sort_key(self) -> tuple[date, str]:
        """Where it stands in a list: by kickoff, then id (``ProjectStore.project_page``)."""
        return (self.kickoff_on, self.id)


class ProjectStore(Protocol):
    """Where projects, their events and their queued emails are kept; every write is one transaction."""

    def load(self, ref: str) -> ProjectRecord:
        """The project by id or external id; raises ProjectNotFound."""
        ...

    def load_many(self, project_ids: Sequence[str]) -> list[ProjectRecord]:
        """The projects with these ids (unknown ids left out), read together, in the order given."""
        ...

    def find_external(self, external_id: str) -> ProjectRecord | None: ...

    def find_externals(self, external_ids: Sequence[str]) -> dict[str, ProjectRecord]:
        """The projects launched with any of these external ids, by external id."""
        ...

    def create_many(self, items: Sequence[tuple[ProjectRecord, Sequence[Event], Sequence[OutgoingMessage]]]) -> None:
        """Store new projects with their first events and emails, in one transaction."""
        ...

    def list_projects(
        self,
        *,
        state: str | None = None,
        blueprint: str | None = None,
        segment: str | None = None,
        customer: str | None = None,
        limit: int = 200,
    ) -> list[ProjectRecord]: ...

    def project_page(
        self, query: ProjectQuery, *, after: tuple[date, str] | None = None, limit: int = 50
    ) -> list[ProjectSummary]:
        """Up to ``limit`` projects that match, by kickoff then id, those after ``after`` (a ``sort_key``) only."""
        ...

    def events(self, project_id: str) -> list[Event]: ...

    def create(
        self, project: ProjectRecord, *, new_events: Sequence[Event], messages: Sequence[OutgoingMessage]
    ) -> None: ...

    def save_many(self, changes: Sequence[ProjectChange]) -> None:
        """Write projects' changes in one transaction: each project row with its next version, the task fields
        and bindings that changed, the events and emails; when any of them changed since it was read, raises
        ConcurrentChange and writes none."""
        ...

    def queue(self, messages: Sequence[OutgoingMessage], *, now: datetime) -> int:
        """Queue emails that no change of state goes with, due from ``now``; a key queued before is skipped.
        Returns how many."""
        ...

    def failed_messages(self, project_id: str) -> list[FailedMessage]:
        """Emails of the project that could not be delivered and will not be retried by themselves (failed or
        held)."""
        ...


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request made with an idempotency key: what it asked and, once served, what it answered."""

    fingerprint: str  # of the canonical request
    request: Mapping[str, object]  # the canonical request, to say how another differs
    project_id: str | None  # None: still being served
    created: bool | None
    created_at: datetime


class IdempotencyStore(Protocol):
    """Idempotency keys per caller (an API key's name), kept with the request each first came with."""

    def claim(
        self,
        owner: str,
        key: str,
        *,
        fingerprint: str,
        request: Mapping[str, object],
        now: datetime,
        stale_before: datetime,
    ) -> IdempotentRequest | None:
        """Take the key for this request (None), or give the request that holds it. A key held since before
        ``stale_before`` by a request never served (its server died) is taken over."""
        ...

    def complete(self, owner: str, key: str, *, project_id: str, created: bool) -> None:
        """Record what the claimed key's request answered."""
        ...

    def release(self, owner: str, key: str) -> None:
        """Give up a claimed key whose request failed: the same key may be sent again."""
        ...

    def find(self, owner: str, key: str) -> IdempotentRequest | None: ...


@dataclass(frozen=True)
class QueuedMessage:
    """A message claimed from the outbox for delivery; ``attempts`` counts this one.

    ``queued_at`` is when it was queued: the retry horizon counts from there (None: not known, no horizon).
    """

    id: int
    message: OutgoingMessage
    attempts: int
    queued_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Waiting:
    """Emails not handed over yet, and since when (``onboarding status``, the sweep's summary).

    ``stranded`` are claimed by runs that are gone (the next delivery releases them at
    once) or that cannot be told alive or gone from here (another machine on SQLite,
    an unknown claimant): those are taken again once their lease runs out, by
    ``stranded_until`` (None when the next delivery releases them all).
    """

    pending: int = 0  # queued, or back for another try
    pending_since: datetime | None = None  # when the oldest of them was queued
    claimed: int = 0  # being delivered by a live run
    claimed_since: datetime | None = None
    stranded: int = 0
    stranded_since: datetime | None = None
    stranded_until: datetime | None = None


class Outbox(Protocol):
    """Emails waiting to leave: claimed in batches by a delivery run, then marked sent, retried, failed or held,
    or put back untried.

    A run registers first (``begin_run``): its claims carry its name, so that a later
    run can tell a run that is gone (killed mid-delivery) from one still at work, and
    release the gone run's claims at once (``release_gone``) instead of waiting out
    the lease. The lease remains for claims whose run cannot be told gone.

    An outcome (sent, retry, failed, held, put back, suppressed) is written by the run
    ``run`` only while the message is still that run's claim, or back in the queue
    unclaimed (the run was taken for gone, and what it learned still holds: a retry
    still spares the recipients it reached). When another run has claimed the message
    since, or already recorded its outcome, the write is skipped: that run's outcome
    stands, and a late "try again" never sends a delivered message a third time.
    """

    def begin_run(self) -> str:
        """Register this process's delivery run; its claims carry the name returned until ``end_run``."""
        ...

    def release_gone(self, *, run: str) -> int:
        """Make the claims of runs known to be gone (never ``run``) pending again; how many."""
        ...

    def end_run(self, run: str) -> None:
        """Give back what the run still claims and unregister it."""
        ...

    def waiting(self, *, lease: timedelta, project_id: str | None = None) -> Waiting:
        """What is not handed over yet, of every project or one, and since when."""
        ...

    def claim(self, *, now: datetime, worker: str, limit: int, lease: timedelta) -> list[QueuedMessage]:
        """Claim due messages for the run ``worker``: pending ones, and claims older than ``lease``."""
        ...

    def sent(self, message_id: int, *, at: datetime, run: str) -> None: ...

    def sent_many(self, message_ids: Sequence[int], *, at: datetime, run: str) -> None:
        """Mark these claimed messages sent, all in one transaction (a batch a transport settled at once)."""
        ...

    def retry(self, message_id: int, *, at: datetime, error: str, run: str, only: Sequence[str] = ()) -> None:
        """Try again at ``at``; ``only`` narrows the recipients to those the last try did not reach."""
        ...

    def failed(self, message_id: int, *, error: str, run: str, only: Sequence[str] = ()) -> None:
        """Never deliver it by itself again (``onboarding outbox retry`` may); ``only``: the recipients it did not
        reach, so that a retry never sends twice to the others."""
        ...

    def held(self, message_id: int, *, error: str, run: str) -> None:
        """Stop retrying it: its temporary failures went on past the retry horizon (``outbox retry`` resends)."""
        ...

    def defer(self, message_ids: Sequence[int], *, at: datetime, error: str | None, run: str) -> None:
        """Put the run's claimed messages back untried, due at ``at`` (their claim's attempt not counted); ``error``,
        when given, says why. Only those still its claim: one back in the queue already needs nothing."""
        ...

    def quiet(self, message_ids: Sequence[int], *, run: str) -> None:
        """Weekly updates composed without news for their readers (``Unsent.quiet``): each kept ``suppressed``
        (``QUIET``) as its reader's update of that week, its key freed (a milestone's news that week may still
        send the update)."""
        ...

    def opted_out(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (project id, email) pairs asked for no more customer emails about the project."""
        ...

    def suppressed(self, message_id: int, *, at: datetime, reason: str, run: str) -> None:
        """Never deliver it: every recipient opted out."""
        ...


OUTBOX_STATES = ("pending", "sending", "sent", "failed", "held", "suppressed")
RESENDABLE = ("failed", "held")  # what `onboarding outbox retry` puts back in line


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message of the outbox as an operator sees it."""

    id: int
    key: str
    kind: str
    project_id: str | None
    subject: str
    recipients: tuple[str, ...]
    state: str
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class OutboxQuery:
    """Which messages: any of ``ids`` (all when empty), in any of ``states`` (any when empty), of a project,
    queued before an instant."""

    ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    project_id: str | None = None
    queued_before: datetime | None = None


class OutboxRecords(Protocol):
    """The outbox as records to list and to put back in line (``onboarding outbox``)."""

    def entries(self, query: OutboxQuery, *, limit: int | None = None) -> tuple[list[OutboxEntry], int]:
        """The matching messages, oldest first, at most ``limit``, and how many match in all."""
        ...

    def requeue(self, query: OutboxQuery) -> list[int]:
        """Put the matching failed and held messages back in line, due from when each was queued: the next sweep
        delivers them, whatever instant it acts as of (a catch-up as of an earlier hour too). Recipients as they
        are: those a partial delivery reached were taken off. The others are left as they are. Returns the ids
        put back."""
        ...


class DeliveryError(Exception):
    """A message could not be handed over; ``code`` and ``detail`` say what the server or network said.

    When a server took the message for some recipients and not others, ``accepted``
    names those it reached and ``retry_recipients`` those worth another try.
    """

    accepted: Sequence[str] = ()

    def __init__(self, detail: str, *, code: int | None = None, unavailable: bool = False) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.unavailable = unavailable  # the server or the folder, not this message: the next ones fail alike

    @property
    def retry_recipients(self) -> Sequence[str]:
        return ()


class TemporaryDeliveryError(DeliveryError):
    """Try again later: connection refused or reset, a time-out, an SMTP 4xx reply."""


class PermanentDeliveryError(DeliveryError):
    """Do not try again: an SMTP 5xx reply, recipients refused."""


@dataclass(frozen=True, slots=True)
class Unsent:
    """A message queued to be composed at delivery that is not sent, and why (``reason``): ``quiet`` when there is
    nothing to say (a weekly update without news for its reader, recorded as that week's update), ``suppressed``
    when it is no longer its reader's to receive (``core.status.not_to_compose``: kept, never sent), ``failed``
    when it cannot be composed."""

    reason: str
    outcome: Literal["quiet", "suppressed", "failed"]


QUIET = "no news for its reader since their last update: left unsent, as that week's update"


class Composer(Protocol):
    """Composes, when they are delivered, the messages queued to be composed then (``core.status.reader_to_compose``:
    a sweep's weekly updates, a change's milestone announcements), from their projects as of then."""

    def compose(self, messages: Sequence[OutgoingMessage]) -> list[OutgoingMessage | Unsent]:
        """Each message composed (same key and reader), or why it is not sent; read together, in order."""
        ...


class Renderer(Protocol):
    def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
        """The complete RFC 5322 message."""
        ...

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        """Read at once what rendering these messages will read from the store (their projects' link keys), for
        their renders to use until the next ``prepare``; ``prepare(())`` forgets it."""
        ...


class Transport(Protocol):
    """Hands rendered messages over, one ``deliver`` each.

    A transport whose ``settles_later`` is true (a Maildir) only stages what
    ``deliver`` is given: the staged messages count as delivered, all together,
    once ``settle`` returns, so that many cost one flush to disk. Until then
    nothing may be recorded sent; a crash before ``settle`` loses the staging, and
    a crash after it redelivers messages the transport recognises by their keys.
    Otherwise (SMTP) each ``deliver`` that returns has handed its message over for
    good, to be recorded sent at once, and ``settle`` has nothing to do.
    """

    @property
    def settles_later(self) -> bool: ...

    def deliver(
        self, raw: bytes, *, message_key: str, recipients: Sequence[str], timeout_seconds: float | None = None
    ) -> None:
        """Hand a message over (or stage it), taking at most about ``timeout_seconds`` (None: the transport's own
        limit); raises TemporaryDeliveryError or PermanentDeliveryError."""
        ...

    def settle(self) -> None:
        """Deliver, durably, every message staged since the last ``settle``; raises TemporaryDeliveryError when
        that failed, and none of them then counts as delivered (a redelivery recognises any that were)."""
        ...

    def close(self) -> None:
        """End what a run of deliveries opened (a connection); the next delivery opens it again."""
        ...


class Webhooks(Protocol):
    def post(self, url: str, payload: Mapping[str, object], *, idempotency_key: str, timeout_seconds: float) -> None:
        """POST JSON with an Idempotency-Key header; raises TemporaryDeliveryError or PermanentDeliveryError."""
        ...


class WebhookPoster(Protocol):
    """POSTs outbound events (signed by the caller) to subscribed endpoints."""

    def post(self, url: str, *, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> None:
        """POST a JSON body with these headers; a 2xx answer is delivered. Raises TemporaryDeliveryError (a network
        failure, a time-out, 5xx, 408, 409, 425, 429) or PermanentDeliveryError (any other answer)."""
        ...

    def close(self) -> None:
        """End what a run of deliveries opened (kept-alive connections)."""
        ...


class WebhookEndpoints(Protocol):
    """The endpoints subscribed to outbound events (``onboarding webhook``)."""

    def add(self, *, url: str, events: Sequence[str], secret: str, created_at: datetime) -> WebhookEndpoint: ...

    def endpoints(self, *, include_disabled: bool = False) -> list[WebhookEndpoint]:
        """Oldest first; removed ones only when asked."""
        ...

    def disable(self, endpoint_id: int) -> WebhookEndpoint | None:
        """Remove an endpoint from delivery (kept, disabled); None when there is no such endpoint."""
        ...

    def by_ids(self, ids: Iterable[int]) -> dict[int, WebhookEndpoint]:
        """These endpoints, removed ones too (the outbox's messages name them)."""
        ...


class OverdueRow(NamedTuple):
    """An open task of an active project, due before today, with what the nudge policy needs of its project.

    A named tuple: a sweep reads a quarter of a million of them straight from the database's rows.
    """

    project_id: str
    task_key: str
    task_title: str
    milestone_title: str
    owner_role: str
    side: str
    due_on: date
    due_version: int
    nudges_sent: int
    last_nudged_on: date | None
    customer: str
    blueprint_key: str
    blueprint_version: str
    blueprint_title: str
    blueprint_id: str  # the stored snapshot the project was launched from


class Snapshot(NamedTuple):
    """What the sweep asks of a project's row before reading it whole: its blueprint snapshot's id (its
    policies, its task graph), the day it was kicked off (a reader's first weekly update counts from it) and its
    customer's name (a weekly update's subject)."""

    blueprint_id: str
    kickoff_on: date
    customer: str
    version: int  # of the row these were read from: what a weekly threshold found of them holds for


class WeeklyDue(NamedTuple):
    """When a project's next weekly update can come (``core.status.weekly_next_due_at``; None: none ever), as
    found at the project's ``version``: it holds until the project changes."""

    version: int
    due_at: datetime | None


class NudgeCandidate(NamedTuple):
    """An overdue task that may be due a nudge, as the task nudge index and its project's row hold it.

    Its title and its milestone's are the blueprint snapshot's (a project's tasks
    are its blueprint's), so that reading it needs no task row.
    """

    project_id: str
    task_key: str
    owner_role: str
    side: str
    due_on: date
    due_version: int
    nudges_sent: int
    last_nudged_on: date | None
    customer: str
    blueprint_title: str
    blueprint_id: str


@dataclass(frozen=True, slots=True)
class NudgeFilter:
    """Which overdue tasks may be due a nudge now (``nudge_thresholds``, loosened to cover every owner).

    A task may be due when it is due before ``due_before`` and was never nudged or
    last nudged before ``nudged_before``; or, when its owner's time zone is one of
    ``ahead_zones`` (already on the next day), the same with ``ahead_due_before``
    and ``ahead_nudged_before``. The decision itself is exact; the filter only
    leaves out tasks that cannot be due.
    """

    due_before: date
    nudged_before: date
    ahead_zones: frozenset[str] = frozenset()
    ahead_due_before: date | None = None
    ahead_nudged_before: date | None = None


@dataclass(frozen=True, slots=True)
class NudgeCandidates:
    """The overdue tasks that may be due a nudge now, with the people of their projects.

    ``overdue`` counts every open task of an active project due before today;
    ``rows`` holds those of them that pass the ``NudgeFilter`` (the others cannot
    be due a nudge); ``people`` the bindings of the projects of ``rows``.
    """

    overdue: int
    rows: Sequence[NudgeCandidate]
    people: Mapping[str, Mapping[str, Person]]


class MessageLine(NamedTuple):
    """An email in one line, as a dry run lists it: its kind, its recipients' addresses, its subject."""

    kind: str
    to: tuple[str, ...]
    subject: str


class SweepStore(Protocol):
    """The sweep's set-based questions and its one write (nudges with their digests)."""

    def projects_to_replan(self, *, today: date) -> list[str]:
        """Active projects whose plan moves today: work not started by its projected start, or in progress
        past its projected due date (``core.projects.replan_after``)."""
        ...

    def ready_automated(self, *, today: date) -> list[tuple[str, str]]: ...

    def active_projects(self) -> list[str]: ...

    def overdue_rows(self, *, today: date) -> list[OverdueRow]: ...

    def active_blueprints(self) -> list[str]:
        """Ids of the blueprint snapshots that active projects were launched from."""
        ...

    def time_zones(self) -> list[str]:
        """The time zones of the people bound to projects (each once)."""
        ...

    def own_customer_calendars(self) -> dict[str, tuple[str, CustomerCalendar]]:
        """Active projects dated on their customer's own calendar (``core/customer_calendar``; its time zone
        left out): the blueprint snapshot id and that calendar, by project id."""
        ...

    def nudge_candidates(self, *, today: date, may_be_due: NudgeFilter) -> NudgeCandidates:
        """The overdue tasks that may be due a nudge, with their projects' people (one pass over an index)."""
        ...

    def bindings_of(self, project_ids: Iterable[str]) -> dict[str, dict[str, Person]]: ...

    def progress_of(
        self, project_ids: Iterable[str], *, keys: Iterable[str] | None = None
    ) -> dict[str, dict[str, TaskProgress]]:
        """The progress of each task of these projects that is under way or finished (its state only), of the
        tasks with these ``keys`` when given: what an automated task's readiness is asked of (its predecessors'
        states), without reading the projects whole."""
        ...

    def snapshots_of(self, project_ids: Iterable[str]) -> dict[str, Snapshot]:
        """The blueprint snapshot id and kickoff day of each of these projects."""
        ...

    def blueprint_texts(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Text and source of each stored blueprint snapshot."""
        ...

    def digests_since(self, since: datetime) -> list[SentDigest]:
        """The digests recorded since an instant: recipient, their local day and key, each from its column."""
        ...

    def record_nudges(self, decided: Sequence[Nudge], digests: Sequence[Digest], *, now: datetime) -> int:
        """Record each nudge once (by key), bump its task's counters, queue its digest; one transaction."""
        ...

    def sweep_history(self) -> SweepHistory:
        """The latest day swept and whether the database is a simulation (``core.sweep_days``)."""
        ...

    def record_sweep(self, *, at: datetime, ran_at: datetime) -> bool:
        """Record a sweep as of ``at`` unless a later day is swept already (then False, nothing recorded)."""
        ...

    def outbox_due(self, *, now: datetime, lease: timedelta) -> list[MessageLine]:
        """The outbox's messages a delivery now would take (pending and due, or claimed past their lease),
        read without claiming them."""
        ...

    def weekly_status_sent(self, project_ids: Iterable[str]) -> dict[str, dict[str, date]]:
        """Per project, per recipient email, the as_of of the last weekly update: queued (from the outbox's
        key columns, never from the keys) or left unsent for want of news, whichever is later."""
        ...

    def weekly_unsettled(self, project_ids: Sequence[str], *, now: datetime) -> list[str]:
        """Those of these projects (in their order) a weekly update may be due to at ``now``: their stored
        ``WeeklyDue`` missing, found at another version than theirs, or come."""
        ...

    def weekly_unsettled_active(self, *, now: datetime) -> list[str]:
        """``weekly_unsettled`` of every active project, asked at once: their ids, in order."""
        ...

    def record_weekly_due(self, due: Mapping[str, WeeklyDue]) -> None:
        """Store each project's ``WeeklyDue`` (one found at a version since changed holds for nothing)."""
        ...


class ReportStore(Protocol):
    """What the manager reports read: set-based, a few queries, no object per row beyond what the core takes."""

    def ttfv_observations(
        self,
        *,
        as_of: date,
        dimensions: Sequence[Dimension],
        since: date | None = None,
        until: date | None = None,
    ) -> TtfvObservations:
        """Projects whose start day is in [since, until], observed as of a day (``core.ttfv.observe``),
        possibly grouped (each entry's ``count`` says how many projects it stands for)."""
        ...

    def ttfv_rows(
        self,
        *,
        dimensions: Sequence[Dimension],
        key: Sequence[str],
        since: date | None = None,
        until: date | None = None,
    ) -> tuple[TtfvRows, list[str]]:
        """One row per project (a stretch of days per undone value) of at least the projects of the group
        ``key`` (a value per dimension; empty: every project) whose start day is in [since, until] or unknown,
        and the project of each row: what a drill-down into the group's counts reads."""
        ...

    def snapshots(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """Text and source of blueprint snapshots by id (all when ``ids`` is None)."""
        ...

    def portfolio_projects(
        self, *, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> list[PortfolioProject]:
        """Every project with its tasks' current state; ``predecessors`` by snapshot id, then task key."""
        ...

    def portfolio_tallies(
        self, *, as_of: date, predecessors: Mapping[str, Mapping[str, tuple[str, ...]]]
    ) -> PortfolioTallies:
        """The portfolio report's counts as of a day (``core.portfolio.portfolio_tallies`` over every project)."""
        ...

    def portfolio_at_risk(self, *, as_of: date) -> tuple[ProjectAtRisk, ...]:
        """Every project at risk as of a day, in any order (the ``at_risk`` of ``portfolio_tallies``)."""
        ...

    def portfolio_members(self, figure: PortfolioFigure, *, as_of: date, item: str | None) -> tuple[str, ...]:
        """The ids of the projects a figure of the portfolio report counts as of a day, sorted
        (``core.portfolio.portfolio_members`` over every project)."""
        ...


class TeamStore(Protocol):
    """The team's default people for vendor roles, by segment (``core/team``)."""

    def team_defaults(self) -> list[TeamDefault]:
        """Every default, by role then segment."""
        ...

    def set_team_default(self, default: TeamDefault) -> None:
        """Keep ``default`` for its role and segment, in place of the one there was."""
        ...

    def unset_team_default(self, role: str, segment: str) -> bool:
        """Remove the default for this role and segment; False when there was none."""
        ...


class PortfolioStore(Protocol):
    """The portfolio's projects a page at a time, by keyset (``core/portfolio_page``)."""

    def portfolio_rows(
        self,
        filters: PortfolioFilter,
        *,
        today: date,
        sort: PortfolioSort,
        descending: bool,
        after: Place | None,
        limit: int,
    ) -> list[PortfolioRow]:
        """Up to ``limit`` matching projects in the sort order (no value last), those after ``after`` only."""
        ...

    def portfolio_count(self, filters: PortfolioFilter, *, today: date, most: int) -> int:
        """How many projects match, counted up to ``most``."""
        ...

    def portfolio_choices(self) -> tuple[list[tuple[str, str]], list[str]]:
        """The blueprints (key, title) and the segments the portfolio's projects have."""
        ...


class TeamMemberStore(Protocol):
    """Team members, their sign-in links and their sessions (``core/team_members``); secrets only as digests."""

    def members(self, *, include_removed: bool = False) -> list[TeamMember]:
        """The members, by name then email (removed ones too, when asked)."""
        ...

    def member(self, email: str) -> TeamMember | None:
        """The member with this canonical address, removed or not."""
        ...

    def save_member(self, member: TeamMember) -> None:
        """Keep ``member`` in place of the one with its address (adding or re-adding it)."""
        ...

    def remove_member(self, email: str, *, at: datetime) -> bool:
        """Mark the member removed and end its sessions, in one transaction; False when no active member has it."""
        ...

    def add_sign_in_link(self, link: SignInLink, message: OutgoingMessage) -> None:
        """Keep a new sign-in link and queue the email that carries it, in one transaction."""
        ...

    def sign_in_link(self, token_digest: str) -> SignInLink | None: ...

    def sign_in_links_since(self, email: str, since: datetime) -> int:
        """How many sign-in links were made for ``email`` after ``since``."""
        ...

    def use_sign_in_link(self, token_digest: str, session: TeamSession) -> bool:
        """Mark the link used and start ``session``, in one transaction, if no one used it before; else False."""
        ...

    def start_session(self, session: TeamSession) -> None:
        """Start a session without a link (the demo's sign-in)."""
        ...

    def session(self, secret_digest: str) -> TeamSession | None: ...

    def end_session(self, secret_digest: str, *, at: datetime) -> None: ...

    def forget_ended(self, before: datetime) -> int:
        """Forget the sign-in links that expired before ``before`` and the sessions that expired or ended before
        it, in one transaction; how many rows were forgotten."""
        ...

    def open_tasks_of(self, email: str, *, limit: int) -> tuple[list[MemberTask], int]:
        """The open tasks of the roles bound to ``email`` in active projects, the ``limit`` expected soonest
        first, and how many there are in all."""
        ...


class SnapshotTexts(Protocol):
    """The blueprint texts projects were launched from (what a team default is checked against)."""

    def snapshots(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
        """Text and source of blueprint snapshots by id (all when ``ids`` is None)."""
        ...


class CustomerLinkKeys(Protocol):
    """Each project's link key (``core/customer_links``): made on first use, replaced by a rotation."""

    def link_key(self, project_id: str) -> LinkKey | None:
        """The project's current key; None when no link of it was ever made."""
        ...

    def ensure_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        """The project's current key, made (random, generation 1) when it has none."""
        ...

    def ensure_link_keys(self, project_ids: Iterable[str], *, now: datetime) -> dict[str, LinkKey]:
        """``ensure_link_key`` of each project, read (and made) together."""
        ...

    def rotate_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        """A new random key of the next generation in place of the project's current one (revoking every link
        made before), or its first."""
        ...
