"""Outbound events: which changes of a project a subscribed endpoint hears of, their JSON bodies, and how they
are signed (Standard Webhooks).

A change of a project (a launch, a task done or blocked, a re-forecast, a cancel)
is written with the events it appends to the log; ``outbound_events`` reads that
change (the project before and after, and the new events) and says which outbound
events it makes:

    project_launched                 -> project.launched
    task_completed                   -> task.completed
    task_blocked                     -> task.stuck
    the last open task of a milestone finished (done or skipped) -> milestone.completed
    the projected go-live moved      -> go_live.changed
    window_jump                      -> window.jumped
    the go-live (launch) task done   -> project.live
    cancelled                        -> project.cancelled

``webhook_messages`` turns them into one outbox message per (endpoint subscribed to
the type, event), queued in the change's transaction; each message's key, and so
its ``webhook-id``, is the same on every retry.

Signing follows Standard Webhooks: the secret is ``whsec_`` and the base64 of 24 to
64 random bytes; the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``;
the ``webhook-signature`` header is ``v1,`` and the base64 of its HMAC-SHA256 (a
space-separated list of such signatures is allowed, so that a receiver can rotate
secrets); the timestamp is in integer seconds since the epoch.

References:
    Standard Webhooks specification, https://www.standardwebhooks.com and
    https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md

Not here: who is subscribed (the store), the POST itself (adapters), retries (services/dispatch).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from onboarding.core.lifecycle import FINISHED, Event, TaskState
from onboarding.core.messages import MessageKind, OutgoingMessage, Person, WebhookDelivery
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.errors import Problem

EVENT_TYPES: tuple[str, ...] = (
    "project.launched",
    "task.completed",
    "task.stuck",
    "milestone.completed",
    "go_live.changed",
    "window.jumped",
    "project.live",
    "project.cancelled",
)

# The log's event kinds that are outbound events by themselves (the others are read from the change).
_BY_KIND: Mapping[str, str] = {
    "project_launched": "project.launched",
    "task_completed": "task.completed",
    "task_blocked": "task.stuck",
    "window_jump": "window.jumped",
    "cancelled": "project.cancelled",
    "project_cancelled": "project.cancelled",
}

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = (24, 64)  # the spec's bounds on a secret's length
URL_LENGTH = 2000


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """An endpoint subscribed to outbound events: where they are POSTed, which types, the secret they are signed
    with. A removed endpoint is kept ``disabled`` (its messages still in the outbox name it) and gets nothing."""

    id: int
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """One outbound event of a change: its type, when it happened, a key unique among the project's outbound
    events, a line saying what it is about (``outbox list``), and its data."""

    type: str
    at: datetime
    key: str
    about: str
    data: Mapping[str, Any]

    def payload(self) -> dict[str, Any]:
        """The JSON body's value: ``{"type", "timestamp", "data"}`` (Standard Webhooks' shape)."""
        return {"type": self.type, "timestamp": _instant(self.at), "data": dict(self.data)}


# -- which events a change makes --------------------------------------------------------------------------------


def outbound_events(
    before: ProjectRecord | None, after: ProjectRecord, new_events: Sequence[Event]
) -> list[OutboundEvent]:
    """The outbound events of one change of a project (``before`` is None for a launch), in the log's order, then
    those read from the project's state after the change: milestones completed, go-live moved, go-live reached."""
    at = max((e.at for e in new_events), default=after.updated_at)
    tasks = {t.key: t for t in after.tasks}
    found: list[OutboundEvent] = []
    for event in new_events:
        kind = _BY_KIND.get(event.kind)
        if kind is None:
            continue
        data = _project_data(after, actor=event.actor)
        about = after.customer
        if event.task_key is not None and event.task_key in tasks:
            task = tasks[event.task_key]
            data["task"] = _task_data(task)
            about = f"{after.customer}: {task.title}"
        if event.data.get("reason"):
            data["reason"] = str(event.data["reason"])
        if kind == "window.jumped":
            data["window"] = {
                "committed_on": event.data.get("committed_on"),
                "from": event.data.get("from"),
                "to": event.data.get("to"),
                "causes": list(event.data.get("causes", [])),
            }
        found.append(_event(kind, event.at, data, about=about, subject=event.task_key or ""))
    if before is None:
        return found
    actor = new_events[-1].actor if new_events else "engine"
    for key, milestone_tasks in _milestones(after.tasks).items():
        was = [t for t in before.tasks if t.milestone_key == key]
        if all(t.state in FINISHED for t in milestone_tasks) and not all(t.state in FINISHED for t in was):
            data = _project_data(after, actor=actor)
            data["milestone"] = {
                "key": key,
                "title": milestone_tasks[0].milestone_title,
                "done_on": _day(max((t.done_on for t in milestone_tasks if t.done_on), default=None)),
                "tasks": [t.key for t in milestone_tasks],
            }
            about = f"{after.customer}: {milestone_tasks[0].milestone_title}"
            found.append(_event("milestone.completed", at, data, about=about, subject=key))
    if before.projected_go_live_on != after.projected_go_live_on:
        data = _project_data(after, actor=actor)
        data["go_live"] = {
            "from": _day(before.projected_go_live_on),
            "to": _day(after.projected_go_live_on),
            "committed_on": _day(after.committed_go_live_on),
        }
        found.append(_event("go_live.changed", at, data, about=after.customer, subject=""))
    launch = next((t for t in after.tasks if t.launch), None)
    if launch is not None and launch.state is TaskState.done:
        was_launched = next((t for t in before.tasks if t.key == launch.key), None)
        if was_launched is None or was_launched.state is not TaskState.done:
            data = _project_data(after, actor=actor)
            data["task"] = _task_data(launch)
            data["live_on"] = _day(launch.done_on)
            found.append(_event("project.live", at, data, about=after.customer, subject=launch.key))
    return found


def webhook_messages(
    project: ProjectRecord, events: Sequence[OutboundEvent], endpoints: Iterable[WebhookEndpoint]
) -> list[OutgoingMessage]:
    """One outbox message per (endpoint subscribed to its type, event); disabled endpoints get none."""
    listening = [e for e in endpoints if not e.disabled]
    messages: list[OutgoingMessage] = []
    for event in events:
        body: str | None = None
        for endpoint in listening:
            if event.type not in endpoint.events:
                continue
            body = body or json.dumps(event.payload(), ensure_ascii=False, separators=(",", ":"), default=str)
            messages.append(
                OutgoingMessage(
                    idempotency_key=f"webhook:{endpoint.id}:{project.id}:{event.key}",
                    kind=MessageKind.webhook,
                    to=(Person(f"webhook endpoint {endpoint.id}", endpoint.url),),
                    subject=f"{event.type}: {event.about}"[:400],
                    context={},
                    customer_facing=False,
                    project_id=project.id,
                    webhook=WebhookDelivery(endpoint_id=endpoint.id, body=body),
                )
            )
    return messages


def _event(kind: str, at: datetime, data: dict[str, Any], *, about: str, subject: str) -> OutboundEvent:
    # The instant tells apart the same type for the same task in two changes (done, reopened, done again).
    return OutboundEvent(kind, at, f"{kind}:{subject}:{_instant(at)}", about, data)


def _project_data(project: ProjectRecord, *, actor: str) -> dict[str, Any]:
    return {
        "project": {
            "id": project.id,
            "external_id": project.external_id,
            "customer": project.customer,
            "segment": project.segment,
            "blueprint": project.blueprint_key,
            "blueprint_version": project.blueprint_version,
            "state": project.state.value,
            "kickoff_on": _day(project.kickoff_on),
            "committed_go_live_on": _day(project.committed_go_live_on),
            "projected_go_live_on": _day(project.projected_go_live_on),
        },
        "actor": actor,
    }


def _task_data(task: TaskRecord) -> dict[str, Any]:
    return {
        "key": task.key,
        "title": task.title,
        "milestone": task.milestone_key,
        "milestone_title": task.milestone_title,
        "owner_role": task.owner_role,
        "side": task.side,
        "state": task.state.value,
        "started_on": _day(task.started_on),
        "done_on": _day(task.done_on),
        "due_on": _day(task.due_on),
    }


def _milestones(tasks: Iterable[TaskRecord]) -> dict[str, list[TaskRecord]]:
    by_key: dict[str, list[TaskRecord]] = {}
    for task in tasks:
        by_key.setdefault(task.milestone_key, []).append(task)
    return by_key


def _day(day: Any) -> str | None:
    return None if day is None else str(day.isoformat())


def _instant(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- subscriptions ----------------------------------------------------------------------------------------------


# scheme://[credentials@]host[:port][/path][?query]: the parts checked here (the core reads no URL library)
_URL = re.compile(
    r"(?i:https?)://(?:(?P<credentials>[^/?#@]*)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^/?#@:\s\[\]]*)(?::\d{1,5})?"
    r"(?:[/?#]\S*)?"
)


def subscription_problems(url: str, events: Sequence[str], *, secret: str | None) -> list[Problem]:
    """Every problem of a subscription at once: a URL that is not http(s) with a host, event types this engine
    does not send (with the closest it does), no type at all, a secret that is not ``whsec_`` and base64."""
    problems: list[Problem] = []
    parts = _URL.fullmatch(url)
    host = parts.group("host") if parts is not None else ""
    if parts is None or not host or len(url) > URL_LENGTH:
        problems.append(
            Problem(
                "invalid-webhook-url",
                f"{url!r} is not an http:// or https:// URL with a host",
                ("url",),
                "give the endpoint's full address, such as https://example.com/hooks/onboarding",
            )
        )
    elif parts.group("credentials"):
        problems.append(
            Problem(
                "invalid-webhook-url",
                f"{host}: a URL with a user name or password",
                ("url",),
                "the body is signed with the endpoint's secret: leave credentials out of the URL",
            )
        )
    if not events:
        problems.append(
            Problem("no-webhook-events", "no event type to send", ("events",), f"types: {', '.join(EVENT_TYPES)}")
        )
    for index, name in enumerate(events):
        if name not in EVENT_TYPES:
            close = difflib.get_close_matches(name, EVENT_TYPES, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"types: {', '.join(EVENT_TYPES)}"
            problems.append(Problem("unknown-webhook-event", f"no event type {name!r}", ("events", index), hint))
    if secret is not None and secret_key(secret) is None:
        low, high = SECRET_BYTES
        problems.append(
            Problem(
                "invalid-webhook-secret",
                "the secret is not whsec_ followed by the base64 of the key",
                ("secret",),
                f"give whsec_ and the base64 of {low} to {high} random bytes, or leave it out to have one made",
            )
        )
    return problems


# -- signing (Standard Webhooks) --------------------------------------------------------------------------------


def new_secret(random_bytes: bytes) -> str:
    """A secret from random bytes (32 from ``secrets.token_bytes``, say): ``whsec_`` and their base64."""
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def secret_key(secret: str) -> bytes | None:
    """The key a ``whsec_`` secret stands for; None when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    low, high = SECRET_BYTES
    return key if low <= len(key) <= high else None


def webhook_id(idempotency_key: str) -> str:
    """The ``webhook-id`` of an outbox message: the same key (so every retry) always gives the same id."""
    return "msg_" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of a body: ``v1,`` and the base64 HMAC-SHA256 of the signed content."""
    key = secret_key(secret)
    if key is None:
        raise ValueError("not a whsec_ secret")
    content = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def signed_headers(secret: str, *, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of a POST."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def verify(secret: str, *, message_id: str, timestamp: int, body: bytes, signatures: str) -> bool:
    """Whether one of the space-separated signatures is this body's (compared in constant time)."""
    expected = sign(secret, message_id=message_id, timestamp=timestamp, body=body)
    return any(
        hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace"))
        for given in signatures.split(" ")
        if given.startswith("v1,")
    )
