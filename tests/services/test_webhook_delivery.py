"""Outbound events end to end: a change queues them, the dispatcher POSTs them signed to a real HTTP server in the
test process, which checks each signature by itself (the receiver's side of Standard Webhooks, written here
without the engine's code); failures are retried with backoff, delivered once, and shown in the outbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import RecordingTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.adapters.store.webhooks import SqlWebhookEndpoints
from onboarding.adapters.webhook_delivery import HttpWebhookPoster
from onboarding.core.lifecycle import Action
from onboarding.core.webhook_events import new_secret
from onboarding.services.dispatch import Dispatcher
from onboarding.services.outbox import OutboxService
from onboarding.services.ports import OutboxEntry
from tests.services.test_delivery import RENDERER
from tests.services.test_projects import launch, service

SECRET = new_secret(b"receiver-and-engine-share-this!!")
DAY = date(2026, 12, 7)


@dataclass
class Script:
    """What the receiver answers, in order (then 204), and how long it waits before answering."""

    answers: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


def receiver(script: Script) -> type[BaseHTTPRequestHandler]:
    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            script.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(script.delay_seconds)
            self.send_response(script.answers.pop(0) if script.answers else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Receiver


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    http = ThreadingHTTPServer(("127.0.0.1", 0), receiver(script))
    http.daemon_threads = True
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}/hooks/onboarding", script
    http.shutdown()
    http.server_close()


def verified(headers: dict[str, str], body: bytes, *, secret: str = SECRET, tolerance: int = 300) -> dict[str, Any]:
    """What a receiver does (the Standard Webhooks recipe): recompute the HMAC over id.timestamp.body with the
    secret's key, compare in constant time with each v1 signature, refuse a timestamp too far from now."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split(" ") if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected, g) for g in given), "bad signature"
    assert abs(time.time() - int(headers["webhook-timestamp"])) <= tolerance, "stale timestamp"
    return dict(json.loads(body))


@dataclass
class Setup:
    store: SqlProjectStore
    endpoints: SqlWebhookEndpoints
    clock: FixedClock
    emails: RecordingTransport

    def dispatcher(self, **more: Any) -> Dispatcher:
        return Dispatcher(
            outbox=SqlOutbox(self.store.engine),
            renderer=RENDERER,
            transport=self.emails,
            clock=self.clock,
            webhooks=HttpWebhookPoster(),
            endpoints=self.endpoints,
            **more,
        )

    def later(self, minutes: float) -> None:
        self.clock.set(self.clock.day, at=self.clock.at + timedelta(minutes=minutes))

    def hooks(self) -> list[OutboxEntry]:
        outbox = SqlOutbox(self.store.engine)
        listing = OutboxService(records=outbox, projects=self.store, clock=self.clock).list(limit=None)
        return [e for e in listing.entries if e.kind == "webhook"]


@pytest.fixture
def world(engine: Engine) -> Setup:
    clock = FixedClock(DAY, at=datetime(2026, 12, 7, 12, tzinfo=UTC))
    return Setup(SqlProjectStore(engine), SqlWebhookEndpoints(engine), clock, RecordingTransport())


def test_a_launch_and_a_task_done_are_posted_signed_and_the_emails_still_go(
    world: Setup, server: tuple[str, Script]
) -> None:
    url, script = server
    world.endpoints.add(
        url=url, events=["project.launched", "task.completed"], secret=SECRET, created_at=world.clock.now()
    )
    svc = service(world.store, world.clock)
    project = launch(svc, external_id="CRM-77").project
    svc.change_task(project.id, "kickoff_call", Action.complete)

    report = world.dispatcher().deliver_due()

    assert [verified(h, b)["type"] for h, b in script.received] == ["project.launched", "task.completed"]
    launched = json.loads(script.received[0][1])
    assert launched["data"]["project"]["external_id"] == "CRM-77" and launched["timestamp"].endswith("Z")
    assert json.loads(script.received[1][1])["data"]["task"]["key"] == "kickoff_call"
    assert all(h["content-type"] == "application/json" for h, _ in script.received)
    assert len({h["webhook-id"] for h, _ in script.received}) == 2
    assert report.sent == len(world.emails.delivered) + 2 and report.failed == 0
    assert [(e.state, e.recipients) for e in world.hooks()] == [("sent", (url,)), ("sent", (url,))]


def test_a_server_error_is_retried_after_its_backoff_and_delivered_once_with_the_same_id(
    world: Setup, server: tuple[str, Script]
) -> None:
    url, script = server
    script.answers = [500]
    world.endpoints.add(url=url, events=["project.launched"], secret=SECRET, created_at=world.clock.now())
    launch(service(world.store, world.clock))
    dispatcher = world.dispatcher()

    first = dispatcher.deliver_due()
    assert first.retried == 1
    (entry,) = world.hooks()
    assert entry.state == "pending" and "500" in (entry.last_error or "")
    assert dispatcher.deliver_due().sent == 0  # not before its backoff
    world.later(minutes=1)
    assert dispatcher.deliver_due().sent == 1
    world.later(minutes=60)
    assert dispatcher.deliver_due().sent == 0  # delivered once

    (tried, headers_body), ((again, body),) = script.received[0], script.received[1:]
    assert tried["webhook-id"] == again["webhook-id"] and headers_body == body
    verified(again, body)
    assert [e.state for e in world.hooks()] == ["sent"]


def test_a_server_that_does_not_answer_in_time_is_tried_again_later(world: Setup, server: tuple[str, Script]) -> None:
    url, script = server
    script.delay_seconds = 5.0
    world.endpoints.add(url=url, events=["project.launched"], secret=SECRET, created_at=world.clock.now())
    launch(service(world.store, world.clock))

    started = time.monotonic()
    report = world.dispatcher(webhook_timeout_seconds=0.5).deliver_due()

    assert time.monotonic() - started < 4.5  # cut at the time-out: the emails did not wait for the answer either
    assert report.retried == 1 and report.sent == len(world.emails.delivered)
    (entry,) = world.hooks()
    assert entry.state == "pending" and "no answer within" in (entry.last_error or "")
    script.delay_seconds = 0.0
    world.later(minutes=1)
    assert world.dispatcher().deliver_due().sent == 1


def test_an_endpoint_that_hangs_costs_a_run_one_time_out_and_its_other_messages_wait_untried(
    world: Setup, server: tuple[str, Script]
) -> None:
    url, script = server
    script.delay_seconds = 3.0
    world.endpoints.add(url=url, events=["project.launched"], secret=SECRET, created_at=world.clock.now())
    svc = service(world.store, world.clock)
    for n in range(3):
        launch(svc, external_id=f"CRM-{n}")

    report = world.dispatcher(webhook_timeout_seconds=0.5).deliver_due()

    assert (report.retried, report.deferred) == (1, 2) and len(script.received) == 1  # one time-out, not three
    tried, *waiting = world.hooks()
    assert tried.attempts == 1 and all(e.attempts == 0 and e.state == "pending" for e in waiting)
    assert all("not tried: webhook endpoint" in (e.last_error or "") for e in waiting)
    assert {e.next_attempt_at for e in world.hooks()} == {world.clock.now() + timedelta(minutes=1)}
    script.delay_seconds = 0.0
    world.later(minutes=1)
    assert world.dispatcher().deliver_due().sent == 3


@pytest.mark.parametrize(("status", "state"), [(404, "failed"), (410, "failed"), (429, "pending"), (409, "pending")])
def test_client_errors_fail_for_good_except_those_that_mean_later(
    world: Setup, server: tuple[str, Script], status: int, state: str
) -> None:
    url, script = server
    script.answers = [status]
    world.endpoints.add(url=url, events=["project.launched"], secret=SECRET, created_at=world.clock.now())
    launch(service(world.store, world.clock))
    world.dispatcher().deliver_due()
    (entry,) = world.hooks()
    assert entry.state == state and str(status) in (entry.last_error or "")


def test_a_failed_webhook_is_resent_by_outbox_retry_and_a_removed_endpoint_gets_nothing(
    world: Setup, server: tuple[str, Script]
) -> None:
    url, script = server
    script.answers = [400]
    kept = world.endpoints.add(url=url, events=["project.launched"], secret=SECRET, created_at=world.clock.now())
    removed = world.endpoints.add(
        url=url + "/old", events=["project.launched"], secret=SECRET, created_at=world.clock.now()
    )
    launch(service(world.store, world.clock))
    world.endpoints.disable(removed.id)
    first = world.dispatcher().deliver_due()
    assert (first.failed, first.suppressed) == (1, 1)
    failed, suppressed = world.hooks()
    assert failed.state == "failed" and failed.recipients == (url,)
    assert suppressed.state == "suppressed" and f"endpoint {removed.id} was removed" in (suppressed.last_error or "")
    outbox = OutboxService(records=SqlOutbox(world.store.engine), projects=world.store, clock=world.clock)
    assert outbox.retry([failed.id]).requeued == (failed.id,)
    assert world.dispatcher().deliver_due().sent == 1
    assert [verified(h, b)["type"] for h, b in script.received] == ["project.launched", "project.launched"]
    assert kept.id != removed.id
