"""``/api/v1/outbox``: the messages waiting, sent, failed, held or suppressed; one of them; resending one.

``GET /api/v1/outbox`` takes the filters of ``onboarding outbox list`` (``state``
repeatable, ``project`` by id or external id, ``older_than`` as 30m/6h/3d, ``limit``),
oldest first, with the total that match beyond the limit; ``GET /api/v1/outbox/{id}``
gives one message. Both need a read key: what went where and whether it arrived is
what a monitoring integration watches (the bodies are never shown). ``POST
/api/v1/outbox/{id}/retry`` puts a failed or held message back in line for the next
sweep and needs an admin key (``POST /api/v1/outbox/retry`` does it for every failed
or held message that matches a filter, as ``outbox retry`` without ids). Both are
idempotent: a message in any other state is left as it is and said so, and a message
that reached some of its recipients goes to the others only.

Not here: what may be resent and how (``OutboxService``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field

from onboarding.services.outbox import parse_age
from onboarding.services.ports import OUTBOX_STATES, OutboxEntry
from onboarding.web.deps import Admin, App, Reader

router = APIRouter(prefix="/outbox", tags=["outbox"])

_LARGEST_ID = 2**63 - 1  # the databases' largest integer
OutboxState = Literal["pending", "sending", "sent", "failed", "held", "suppressed"]  # OUTBOX_STATES
MessageId = Annotated[int, Path(ge=1, le=_LARGEST_ID, description="The message's number.")]


class OutboxMessage(BaseModel):
    """One message as an operator sees it (``onboarding outbox show``'s document)."""

    id: int
    state: str = Field(description=" | ".join(OUTBOX_STATES))
    kind: str
    project: str | None = Field(description="The project's id, when the message is about one.")
    to: list[str]
    subject: str
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime | None = Field(description="When the next try is due (pending messages only).")
    sent_at: datetime | None
    last_error: str | None
    key: str = Field(description="The idempotency key (the Message-ID is derived from it).")

    @classmethod
    def of(cls, e: OutboxEntry) -> OutboxMessage:
        return cls(
            id=e.id,
            state=e.state,
            kind=e.kind,
            project=e.project_id,
            to=list(e.recipients),
            subject=e.subject,
            attempts=e.attempts,
            queued_at=e.queued_at,
            next_attempt_at=e.next_attempt_at if e.state == "pending" else None,
            sent_at=e.sent_at,
            last_error=e.last_error,
            key=e.key,
        )


def _age(text: str | None, *, loc: tuple[str, ...]) -> timedelta | None:
    if text is None:
        return None
    age = parse_age(text)
    if age is None:
        message = (
            f"{text!r} is not an age: write a whole number of minutes, hours or days (30m, 6h, 3d), up to a century"
        )
        raise RequestValidationError([{"loc": loc, "msg": message, "type": "value_error"}])
    return age


class OutboxPage(BaseModel):
    total: int = Field(description="How many messages match, beyond the limit too.")
    messages: list[OutboxMessage]


class Retried(BaseModel):
    requeued: bool = Field(description="Put back in line now (false: it was neither failed nor held).")
    message: OutboxMessage


@router.get("", response_model=OutboxPage, summary="Messages by state, project and age, oldest first")
def list_messages(
    app: App,
    _key: Reader,
    state: Annotated[list[OutboxState] | None, Query(description="Repeat for several (default: all).")] = None,
    project: Annotated[str | None, Query(description="A project's id or external id.")] = None,
    older_than: Annotated[
        str | None, Query(description="Queued longer ago than this: 30m, 6h, 3d.", examples=["6h"])
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> OutboxPage:
    age = _age(older_than, loc=("query", "older_than"))
    states = tuple(dict.fromkeys(state or ()))
    listing = app.outbox.list(states=states, project=project, older_than=age, limit=limit)
    return OutboxPage(total=listing.total, messages=[OutboxMessage.of(e) for e in listing.entries])


class RetryFilter(BaseModel):
    """Which failed and held messages to resend (``onboarding outbox retry`` without ids)."""

    model_config = ConfigDict(extra="forbid")

    states: list[Literal["failed", "held"]] = Field(default=["failed", "held"], min_length=1)
    project: str | None = Field(default=None, description="A project's id or external id.")
    older_than: str | None = Field(default=None, description="Queued longer ago than this: 30m, 6h, 3d.")


class RetriedMany(BaseModel):
    requeued: list[int] = Field(description="The messages put back in line, for the next sweep.")


@router.post("/retry", response_model=RetriedMany, summary="Resend every failed or held message that matches")
def retry_matching(app: App, _key: Admin, body: RetryFilter | None = None) -> RetriedMany:
    """After a mail server outage, say: every failed or held message (of a project, older than an age) goes back
    in line for the next sweep. Safe to repeat: a second call finds nothing more to put back."""
    body = body or RetryFilter()
    age = _age(body.older_than, loc=("body", "older_than"))
    resent = app.outbox.retry(states=tuple(dict.fromkeys(body.states)), project=body.project, older_than=age)
    return RetriedMany(requeued=list(resent.requeued))


@router.get("/{message_id}", response_model=OutboxMessage, summary="One message")
def show_message(app: App, _key: Reader, message_id: MessageId) -> OutboxMessage:
    return OutboxMessage.of(app.outbox.show(message_id))


@router.post("/{message_id}/retry", response_model=Retried, summary="Resend a failed or held message")
def retry_message(app: App, _key: Admin, message_id: MessageId) -> Retried:
    """Put the message back in line for the next sweep, if it failed or is held; otherwise leave it as it is.
    Safe to repeat."""
    resent = app.outbox.retry([message_id])
    return Retried(requeued=message_id in resent.requeued, message=OutboxMessage.of(app.outbox.show(message_id)))
