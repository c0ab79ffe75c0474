"""The dispatcher on the in-memory twins: webhook messages are signed at sending, never rendered, and endpoints
are read only for batches that hold webhook messages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import RecordingTransport
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore, InMemoryWebhookEndpoints
from onboarding.adapters.webhook_delivery import RecordingWebhookPoster
from onboarding.core.lifecycle import Action
from onboarding.core.messages import MessageKind, OutgoingMessage
from onboarding.core.webhook_events import WebhookEndpoint, new_secret, verify, webhook_id
from onboarding.services.dispatch import Dispatcher
from onboarding.services.ports import OutboxQuery, PermanentDeliveryError
from tests.services.test_delivery import RENDERER
from tests.services.test_projects import launch, service

SECRET = new_secret(b"t" * 32)


class Endpoints(InMemoryWebhookEndpoints):
    """Counts the reads the dispatcher makes."""

    reads = 0

    def by_ids(self, ids: Iterable[int]) -> dict[int, WebhookEndpoint]:
        Endpoints.reads += 1
        return super().by_ids(ids)


class EmailsOnly:
    """A renderer that refuses to be asked for anything but an email."""

    def __init__(self) -> None:
        self.kinds: list[MessageKind] = []

    def render(self, message: OutgoingMessage, *, now: object) -> bytes:
        assert message.kind is not MessageKind.webhook, "a webhook message was rendered as an email"
        self.kinds.append(message.kind)
        return RENDERER.render(message, now=now)  # type: ignore[arg-type]

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        assert all(m.kind is not MessageKind.webhook for m in messages), "a webhook message was prepared"


def test_emails_alone_never_read_endpoints_and_webhooks_are_signed_with_the_real_time() -> None:
    store = InMemoryProjectStore()
    clock = FixedClock(date(2026, 12, 7))
    endpoints = Endpoints(store)
    Endpoints.reads = 0
    box, posts, renderer = InMemoryOutbox(store), RecordingWebhookPoster(), EmailsOnly()
    dispatcher = Dispatcher(
        outbox=box,
        renderer=renderer,
        transport=RecordingTransport(),
        clock=clock,
        webhooks=posts,
        endpoints=endpoints,
        signing_time=lambda: 1_800_000_000.5,  # the real time, whatever the clock says
    )
    svc = service(store, clock)
    project = launch(svc).project
    assert dispatcher.deliver_due().sent > 0 and Endpoints.reads == 0

    endpoint = endpoints.add(
        url="https://crm.example/h", events=["task.completed"], secret=SECRET, created_at=clock.now()
    )
    svc.change_task(project.id, "kickoff_call", Action.complete)
    posts.failures = [PermanentDeliveryError("https://crm.example/h answered 400 Bad Request", code=400)]
    report = dispatcher.deliver_due()
    assert report.failed == 1 and Endpoints.reads == 1 and posts.posts == []
    (message,) = [m for m in store.outbox.values() if m.kind is MessageKind.webhook]

    box.requeue(OutboxQuery(states=("failed",)))
    assert dispatcher.deliver_due().sent == 1
    ((posted_to, body, headers),) = posts.posts
    assert posted_to == endpoint.url == "https://crm.example/h" and headers["webhook-timestamp"] == "1800000000"
    assert headers["webhook-id"] == webhook_id(message.idempotency_key)
    signature = headers["webhook-signature"]
    assert verify(SECRET, message_id=headers["webhook-id"], timestamp=1_800_000_000, body=body, signatures=signature)
    assert renderer.kinds and MessageKind.webhook not in renderer.kinds
