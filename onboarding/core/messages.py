"""What the engine says to people, as values: recipients, outgoing messages and their contexts.

Deciding what to send lives in ``core/nudges.py`` and ``core/status.py``; rendering
(jinja2 templates) and delivery (Maildir, SMTP) live in ``adapters/email``. A
message carries a JSON-serialisable context (it is stored in the outbox) shaped by
one of the TypedDicts below, one per template. Its ``idempotency_key`` is unique
across all messages ever queued; the Message-ID is derived from it, so a message
retried after a crash is recognisably the same message.

Not here: templates, MIME, SMTP, the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict


class Person(NamedTuple):
    """Someone bound to a role: a name, an email address and an IANA time zone.

    A named tuple: a sweep reads the people of a hundred thousand projects at once.
    """

    name: str
    email: str
    timezone: str = "UTC"


class MessageKind(StrEnum):
    kickoff = "kickoff"
    nudge_digest = "nudge_digest"
    status = "status"
    window_jump = "window_jump"
    automated = "automated"
    manager_report = "manager_report"
    team_sign_in = "team_sign_in"  # a team member's sign-in link (core/team_members)
    webhook = "webhook"  # an outbound event POSTed to a subscribed endpoint (core/webhook_events.py), not an email


EMAIL_KINDS: tuple[MessageKind, ...] = tuple(k for k in MessageKind if k is not MessageKind.webhook)  # templated


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """What an outbox message of kind ``webhook`` carries: the endpoint it is for and the exact JSON body signed
    (kept as text, so that every retry sends and signs the same bytes)."""

    endpoint_id: int
    body: str


# The emails about a project's work: none is queued or delivered once the project is cancelled.
ABOUT_THE_WORK = frozenset(
    {MessageKind.kickoff, MessageKind.nudge_digest, MessageKind.status, MessageKind.window_jump, MessageKind.automated}
)


@dataclass(frozen=True)
class OutgoingMessage:
    """One email to queue: who, what template with which context, and its stable key (or, of kind ``webhook``, an
    outbound event to POST: ``webhook`` says where and what)."""

    idempotency_key: str
    kind: MessageKind
    to: tuple[Person, ...]
    subject: str
    context: Mapping[str, Any]
    customer_facing: bool  # customer emails carry List-Unsubscribe
    project_id: str | None = None
    reply_to: str | None = None
    cc: tuple[Person, ...] = field(default=())
    # What the key is made of, kept beside it (the outbox stores each in a column), so that nothing ever
    # reads them back out of the key: an address may hold any of the characters a key separates with.
    key_email: str | None = None  # the recipient the key is per (status emails, nudge digests)
    key_on: date | None = None  # the day it is for (a status email's as_of, a digest's local day)
    key_reason: str | None = None  # a status email's reason: weekly or milestone_complete
    webhook: WebhookDelivery | None = None  # set on webhook messages only: ``to`` is then the endpoint's URL

    @property
    def template(self) -> str:
        return self.kind.value


def message_id(idempotency_key: str, *, domain: str) -> str:
    """The Message-ID header for a key: the same key always gives the same id."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{digest}@{domain}>"


# -- template contexts (all values JSON-serialisable; dates as ISO strings) ------


class ContactView(TypedDict):
    name: str
    email: str
    role: NotRequired[str]  # the title of the role they answer for ("Customer success manager")


class ProjectView(TypedDict):
    id: str
    customer: str
    blueprint_title: str
    external_id: NotRequired[str | None]


class MilestoneView(TypedDict):
    title: str
    state: Literal["done", "in_progress", "upcoming"]
    start_on: str
    due_on: str
    done_on: NotRequired[str | None]


class TaskView(TypedDict):
    title: str
    milestone: str
    owner_name: str
    due_on: str
    start_on: NotRequired[str]
    done_on: NotRequired[str | None]
    overdue: NotRequired[bool]
    days_overdue: NotRequired[int]
    description: NotRequired[str]  # what is to be done, from the blueprint (on tasks the reader is asked for)


class GoLiveView(TypedDict):
    projected_on: str
    committed_on: str | None
    on_track: bool
    reason: NotRequired[str]


class KickoffContext(TypedDict):
    project: ProjectView
    recipient_name: str
    role_title: str
    kickoff_on: str
    milestones: list[MilestoneView]
    your_tasks: list[TaskView]
    go_live: GoLiveView | None
    vendor_contact: ContactView


class NudgeItemView(TypedDict):
    project: ProjectView
    task_title: str
    milestone: str
    due_on: str
    days_overdue: int  # business days of the recipient's calendar
    level: int  # 1 = owner, 2 = escalation contact, 3 = next rung...
    owner_name: str  # whose task it is (differs from the recipient when escalated)
    escalated: bool
    description: NotRequired[str]  # what is to be done, from the blueprint
    contact: NotRequired[ContactView]  # who answers for the task's project (replies reach them)


class NudgeDigestContext(TypedDict):
    recipient_name: str
    as_of: str
    items: list[NudgeItemView]
    vendor_contact: ContactView
    contacts: NotRequired[list[ContactView]]  # who a reply reaches (the Reply-To), the recipient never among them


class StatusContext(TypedDict):
    project: ProjectView
    recipient_name: str
    as_of: str
    reason: Literal["milestone_complete", "weekly"]
    completed_milestone: str | None
    milestones: list[MilestoneView]
    done_recently: list[TaskView]
    next_up: list[TaskView]
    needs_from_you: list[TaskView]  # the customer's own open tasks
    go_live: GoLiveView | None
    vendor_contact: ContactView


class CauseView(TypedDict):
    title: str
    milestone: str
    owner_name: str
    expected_on: str  # its target: when it was expected given when its predecessors really finished
    done_on: str | None  # None: still open
    projected_on: str  # its projected due date now
    slip_days: int  # its own slip: days done after, or still open past, expected_on


class WindowJumpContext(TypedDict):
    project: ProjectView
    recipient_name: str
    as_of: str
    committed_on: str
    projected_on: str
    causes: list[CauseView]  # the tasks whose own slip moved the go-live (core/window_jump.py); may be empty
    cause: str  # one sentence naming them, or saying no task on the go-live's chain is late
    explanation: str  # the launch-window solver's reason for the new date
    rejected: list[dict[str, str]]  # [{date, reason}] of the candidates between the two


class AutomatedContext(TypedDict):
    project: ProjectView
    recipient_name: str
    subject: str
    body: str  # plain text from the blueprint's email action, placeholders already filled


class FigureView(TypedDict):
    label: str
    value: str
    note: str  # what the figure counts or how it was measured ("" when the label says it all)


class AtRiskView(TypedDict):
    customer: str
    external_id: str | None
    blueprint: str
    owner: str
    committed_on: str | None
    projected_on: str | None
    reasons: list[str]  # in words: "go-live 12 days past the committed window", "3 overdue customer tasks"


class AttachmentView(TypedDict):
    filename: str
    content_type: str  # a text/* type: the content is sent as UTF-8
    text: str


class ManagerReportContext(TypedDict):
    recipient_name: str
    as_of: str
    period: str  # the ISO week the report is for, e.g. 2026-W49
    headline: list[FigureView]
    at_risk: list[AtRiskView]  # the projects most at risk, most days past their window first
    at_risk_total: int
    attachments: NotRequired[list[AttachmentView]]  # the full report, to open in a browser


class TeamSignInContext(TypedDict):
    recipient_name: str
    link: str  # the sign-in page of the link's token: GET confirms, POST signs in
    expires_minutes: int
