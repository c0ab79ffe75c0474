"""Delivering the outbox: a misbehaving SMTP server, a dispatcher killed mid-delivery, two dispatchers at once."""

from __future__ import annotations

import mailbox
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.email.transports import MaildirTransport, RecordingTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.core.messages import OutgoingMessage
from onboarding.services.dispatch import Dispatcher
from tests.adapters.email.test_transports import Handler, start
from tests.services.test_sweep import SENDER, World

ROOT = Path(__file__).parents[2]
RENDERER = MessageRenderer(
    sender=SENDER,
    domain="vendor.example",
    unsubscribe_url="https://vendor.example/u",
    unsubscribe_secret=b"delivery-test-key",
    product_name="Onboarding",
)


def launched(engine: Engine, tmp_path: Path, projects: int = 1) -> World:
    world = World(engine, tmp_path)
    for _ in range(projects):
        world.launch()
    return world


def test_smtp_4xx_is_retried_and_5xx_is_recorded_and_shown(engine: Engine, tmp_path: Path) -> None:
    world = launched(engine, tmp_path)
    pid = world.projects.list_projects()[0].id
    clock = FixedClock(world.clock.day, at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    handler = Handler(rcpt_replies={"lee@acme.example": "550 5.1.1 no such user"}, data_reply="451 4.3.0 try later")
    for server in start(handler):
        dispatcher = Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=server.transport(), clock=clock)
        first = dispatcher.deliver_due()
        # 7 kickoff emails: Lee's address is refused for good (550), the rest are deferred (451)
        assert (first.sent, first.retried, first.failed) == (0, 6, 1)
        # the server recovers; retries come after their backoff
        handler.data_reply = "250 OK"
        assert dispatcher.deliver_due().sent == 0
        clock.set(clock.day, at=clock.at + timedelta(minutes=5))
        assert dispatcher.deliver_due().sent == 6
        assert len(handler.received) == 6
    (failed,) = world.projects.failed_messages(pid)
    assert failed.recipients == ("lee@acme.example",) and "550" in failed.error


def test_a_server_that_is_down_means_try_again_later(engine: Engine, tmp_path: Path) -> None:
    from onboarding.adapters.email.transports import SmtpTransport
    from tests.adapters.email.test_transports import free_port

    launched(engine, tmp_path)
    clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    down = SmtpTransport(
        "127.0.0.1",
        free_port(),
        starttls=False,
        username=None,
        password=None,
        timeout_seconds=2.0,
        local_hostname="test.localhost",
    )
    report = Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=down, clock=clock).deliver_due()
    # one message tried, the six others put back untried: the server, not the messages, is the problem
    assert (report.retried, report.deferred, report.sent, report.failed) == (1, 6, 0, 0)
    assert "ConnectionRefusedError" in report.unavailable
    assert SqlOutbox(engine).counts() == {"pending": 7}


CHILD = """
import sys, time
from datetime import UTC, datetime
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.core.messages import OutgoingMessage
from onboarding.adapters.store.sql import make_engine
from onboarding.services.dispatch import Dispatcher
from tests.services.test_delivery import RENDERER

class Slow(MaildirTransport):
    def deliver(self, raw, *, message_key, recipients, timeout_seconds=None):
        super().deliver(raw, message_key=message_key, recipients=recipients)
        time.sleep(0.02)  # between writing the message and recording it sent: where a crash hurts

clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
Dispatcher(outbox=SqlOutbox(make_engine(sys.argv[1])), renderer=RENDERER, transport=Slow(sys.argv[2]),
           clock=clock, batch=20).deliver_due()
"""


def test_a_dispatcher_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(engine: Engine, tmp_path: Path) -> None:
    world = launched(engine, tmp_path, projects=12)  # 84 kickoff emails
    queued = 12 * 7
    maildir = tmp_path / "crash-maildir"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(engine.url.render_as_string(hide_password=False)), str(maildir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        delivered = len(os.listdir(maildir / "new")) if (maildir / "new").exists() else 0
        if delivered >= 25:
            break
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    partial = len(list(mailbox.Maildir(maildir, create=False)))
    assert 0 < partial < queued
    # later (past the claim lease) a new dispatcher picks up where the dead one stopped
    later = FixedClock(world.clock.day, at=world.clock.at + timedelta(minutes=30))
    report = Dispatcher(
        outbox=SqlOutbox(engine), renderer=RENDERER, transport=MaildirTransport(maildir), clock=later
    ).deliver_due()
    assert report.failed == 0
    keys = Counter(m["X-Onboarding-Key"] for m in mailbox.Maildir(maildir, create=False))
    assert len(keys) == queued and set(keys.values()) == {1}
    assert SqlOutbox(engine).counts() == {"sent": queued}


BATCHED_CHILD = """
import sys, time
from datetime import UTC, datetime
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import make_engine
from onboarding.services.dispatch import Dispatcher
from tests.services.test_delivery import RENDERER

class SlowToRecord(MaildirTransport):
    def settle(self):
        super().settle()
        time.sleep(1.0)  # the batch is whole in new/ and not recorded sent yet: where a crash hurts

clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
Dispatcher(outbox=SqlOutbox(make_engine(sys.argv[1])), renderer=RENDERER,
           transport=SlowToRecord(sys.argv[2], batched=True), clock=clock, batch=12).deliver_due()
"""


def test_a_batch_killed_between_its_write_and_its_record_is_delivered_again_without_a_second_copy(
    engine: Engine, tmp_path: Path
) -> None:
    launched(engine, tmp_path, projects=12)  # 84 kickoff emails: 7 batches of 12
    queued, batch = 12 * 7, 12
    rng = random.Random(13)  # noqa: S311 (when to kill, not a secret)
    doomed = rng.randrange(7)  # the batch killed once written, the ones before it recorded sent
    maildir = tmp_path / "crash-maildir"
    child = subprocess.Popen(
        [sys.executable, "-c", BATCHED_CHILD, str(engine.url.render_as_string(hide_password=False)), str(maildir)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 60
    while len(os.listdir(maildir / "new") if (maildir / "new").exists() else []) < (doomed + 1) * batch:
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.5))  # somewhere between the batch's settle and its record
    child.send_signal(signal.SIGKILL)
    child.wait()
    left = {"sent": doomed * batch, "sending": batch, "pending": queued - (doomed + 1) * batch}
    assert SqlOutbox(engine).counts() == {state: n for state, n in left.items() if n}  # written, not recorded
    written = {entry.name: entry.stat().st_ino for entry in (maildir / "new").iterdir()}
    assert len(written) == (doomed + 1) * batch and os.listdir(maildir / "tmp") == []

    report = Dispatcher(
        outbox=SqlOutbox(engine),
        renderer=RENDERER,
        transport=MaildirTransport(maildir, batched=True),
        clock=FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC)),
        batch=batch,
    ).deliver_due()  # at the same instant: the dead run's claims are released at once

    assert (report.released, report.sent, report.failed) == (batch, queued - doomed * batch, 0)
    after = {entry.name: entry.stat().st_ino for entry in (maildir / "new").iterdir()}
    assert len(after) == queued
    assert {name: after[name] for name in written} == written  # the batch delivered again: not one file rewritten
    keys = Counter(m["X-Onboarding-Key"] for m in mailbox.Maildir(maildir, create=False))
    assert len(keys) == queued and set(keys.values()) == {1}
    assert SqlOutbox(engine).counts() == {"sent": queued}


def test_two_dispatchers_at_once_never_send_the_same_message(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=10)
    clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    transports = [RecordingTransport(), RecordingTransport()]

    def run(transport: RecordingTransport) -> None:
        Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=transport, clock=clock, batch=5).deliver_due()

    threads = [threading.Thread(target=run, args=(t,)) for t in transports]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [d.key for t in transports for d in t.delivered]
    assert len(keys) == 70 and len(set(keys)) == 70


def test_a_partly_refused_message_is_retried_for_the_refused_recipients_only(engine: Engine, tmp_path: Path) -> None:
    from onboarding.adapters.store.sql import SqlProjectStore
    from onboarding.core.messages import MessageKind, OutgoingMessage, Person

    store = SqlProjectStore(engine)
    two = (Person("Lee Park", "lee@acme.example"), Person("Alex Brown", "alex@acme.example"))
    store.queue(
        [
            OutgoingMessage(
                idempotency_key="automated:p:t:both",
                kind=MessageKind.automated,
                to=two,
                subject="Prenotes sent",
                context={
                    "project": {"id": "p", "customer": "Acme", "blueprint_title": "Payroll", "external_id": None},
                    "recipient_name": "Lee Park, Alex Brown",
                    "subject": "Prenotes sent",
                    "body": "Sent.",
                },
                customer_facing=True,
                project_id=None,
            )
        ],
        now=datetime(2026, 12, 4, 15, 0, tzinfo=UTC),
    )
    clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    handler = Handler(rcpt_replies={"alex@acme.example": "450 4.2.1 mailbox busy"})
    for server in start(handler):
        dispatcher = Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=server.transport(), clock=clock)
        assert dispatcher.deliver_due().retried == 1
        handler.rcpt_replies.clear()
        clock.set(clock.day, at=clock.at + timedelta(minutes=5))
        assert dispatcher.deliver_due().sent == 1
    assert [r.rcpt_tos for r in handler.received] == [["lee@acme.example"], ["alex@acme.example"]]


def poison_first_message(engine: Engine, address: str = "lée@acme.example") -> tuple[int, str]:
    """Give the outbox's first message an address the renderer refuses, as data stored before entry points checked
    addresses would hold it; returns its id and project."""
    from sqlalchemy import func, select, update

    from onboarding.adapters.store.sql import outbox

    with engine.begin() as connection:
        first = connection.execute(select(func.min(outbox.c.id))).scalar_one()
        row = connection.execute(select(outbox.c.recipients, outbox.c.project_id).where(outbox.c.id == first)).one()
        poisoned = [{**row.recipients[0], "email": address}, *row.recipients[1:]]
        connection.execute(update(outbox).where(outbox.c.id == first).values(recipients=poisoned))
    return first, row.project_id


def test_a_poisoned_address_fails_alone_and_every_healthy_message_leaves_in_the_same_sweep(
    engine: Engine, tmp_path: Path
) -> None:
    world = launched(engine, tmp_path, projects=20)  # 140 kickoff emails, the poisoned one first in line
    _, project = poison_first_message(engine)
    report = world.sweep.run()
    assert (report.delivered.sent, report.delivered.failed) == (139, 1)
    assert SqlOutbox(engine).counts() == {"sent": 139, "failed": 1}
    assert len(world.mail()) == 139
    (failed,) = world.projects.failed_messages(project)
    assert failed.state == "failed" and "cannot be rendered" in failed.error and "lée@acme.example" in failed.error
    assert world.sweep.run().delivered == type(report.delivered)()  # nothing left, nothing tried again


def test_an_address_smtp_cannot_write_fails_that_message_alone(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=2)
    poison_first_message(engine, "lée@acme.example")  # smtplib writes commands in ASCII

    class Trusting(MessageRenderer):  # a renderer that lets the address through: the transport must cope
        def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
            clean = replace(message, to=tuple(p._replace(email="lee@acme.example") for p in message.to))
            return super().render(clean, now=now)

    renderer = Trusting(
        sender=SENDER,
        domain="vendor.example",
        unsubscribe_url="https://vendor.example/u",
        unsubscribe_secret=b"delivery-test-key",
        product_name="Onboarding",
    )
    clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    for server in start(Handler()):
        report = Dispatcher(
            outbox=SqlOutbox(engine), renderer=renderer, transport=server.transport(), clock=clock
        ).deliver_due()
        assert (report.sent, report.failed) == (13, 1)
        assert len(server.handler.received) == 13


def test_resending_a_message_refused_for_one_recipient_never_reaches_the_others_twice(engine: Engine) -> None:
    from onboarding.adapters.store.sql import SqlProjectStore
    from onboarding.core.messages import MessageKind, Person
    from onboarding.services.outbox import OutboxService
    from onboarding.services.ports import OutboxQuery

    store = SqlProjectStore(engine)
    two = (Person("Lee Park", "lee@acme.example"), Person("Alex Brown", "alex@acme.example"))
    context = {
        "project": {"id": "p", "customer": "Acme", "blueprint_title": "Payroll", "external_id": None},
        "recipient_name": "Lee Park, Alex Brown",
        "subject": "Prenotes sent",
        "body": "Sent.",
    }
    message = OutgoingMessage(
        idempotency_key="automated:p:t:two",
        kind=MessageKind.automated,
        to=two,
        subject="Prenotes sent",
        context=context,
        customer_facing=True,
        project_id=None,
    )
    store.queue([message], now=datetime(2026, 12, 4, 15, 0, tzinfo=UTC))
    clock = FixedClock(datetime(2026, 12, 4).date(), at=datetime(2026, 12, 4, 16, 0, tzinfo=UTC))
    handler = Handler(rcpt_replies={"lee@acme.example": "550 5.1.1 no such user"})
    for server in start(handler):
        dispatcher = Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=server.transport(), clock=clock)
        assert dispatcher.deliver_due().failed == 1
        ([failed], _) = SqlOutbox(engine).entries(OutboxQuery(states=("failed",)))
        assert failed.recipients == ("lee@acme.example",)  # only whom it did not reach is kept for a resend
        handler.rcpt_replies.clear()  # the address is fixed on the server's side
        service = OutboxService(records=SqlOutbox(engine), projects=store, clock=clock)
        assert service.retry().requeued == (failed.id,)
        assert service.retry().requeued == ()  # twice is once
        assert dispatcher.deliver_due().sent == 1
    assert [r.rcpt_tos for r in handler.received] == [["alex@acme.example"], ["lee@acme.example"]]
