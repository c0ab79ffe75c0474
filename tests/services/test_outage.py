"""A mail server that is down, silent or busy: mail waits and is delivered once, nothing is thrown away, and a
sweep's delivery keeps to its deadline. Real SQLite and PostgreSQL, real sockets (aiosmtpd for the server that
works, small servers of our own for the ones that misbehave)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.email.transports import SmtpTransport
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.services.dispatch import Dispatcher, ParallelDispatch
from tests.adapters.email.test_transports import HOST, Handler, free_port
from tests.services.test_delivery import RENDERER, launched

QUEUED = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)  # when World launches its projects
KICKOFFS = 7  # emails a launch queues


def smtp(port: int, *, timeout_seconds: float = 30.0) -> SmtpTransport:
    return SmtpTransport(
        HOST,
        port,
        starttls=False,
        username=None,
        password=None,
        timeout_seconds=timeout_seconds,
        local_hostname="test.localhost",
    )


@contextmanager
def smtp_server(port: int, handler: Handler) -> Iterator[Handler]:
    controller = Controller(handler, hostname=HOST, port=port, ready_timeout=5.0)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[int]:
    """Accepts connections (into the backlog) and never says a word."""
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen(64)
        yield int(silent.getsockname()[1])


@contextmanager
def busy_server(reply: bytes = b"421 4.3.2 too busy, try later\r\n") -> Iterator[list[int]]:
    """Greets every connection with a 4xx and hangs up; yields the port in a list with the connections counted."""
    listener = socket.socket()
    listener.bind((HOST, 0))
    listener.listen(64)
    listener.settimeout(0.2)
    seen = [int(listener.getsockname()[1]), 0]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            seen[1] += 1
            with connection:
                connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()
        listener.close()


def dispatcher(engine: Engine, transport: SmtpTransport, clock: FixedClock, **options: Any) -> Dispatcher:
    return Dispatcher(outbox=SqlOutbox(engine), renderer=RENDERER, transport=transport, clock=clock, **options)


def test_three_days_down_then_up_delivers_every_message_once_and_fails_none(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=20)
    queued = 20 * KICKOFFS
    port = free_port()  # nothing listens: every connection is refused
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    transport = smtp(port)
    for hour in range(72):  # an hourly sweep, three days long
        clock.set((QUEUED + timedelta(hours=hour)).date(), at=QUEUED + timedelta(hours=hour))
        report = dispatcher(engine, transport, clock).deliver_due()
        assert report.sent == report.failed == report.held == 0
        assert report.unavailable and "ConnectionRefusedError" in report.unavailable
    assert SqlOutbox(engine).counts() == {"pending": queued}
    handler = Handler()
    with smtp_server(port, handler):
        clock.set((QUEUED + timedelta(hours=72)).date(), at=QUEUED + timedelta(hours=72))
        back = dispatcher(engine, transport, clock).deliver_due()
        assert (back.sent, back.failed, back.held, back.unavailable) == (queued, 0, 0, "")
        clock.set(clock.day, at=clock.at + timedelta(hours=1))
        assert dispatcher(engine, transport, clock).deliver_due().sent == 0
    keys = Counter(r.content.split(b"X-Onboarding-Key: ", 1)[1].split(b"\r\n", 1)[0] for r in handler.received)
    assert len(keys) == queued and set(keys.values()) == {1}
    assert SqlOutbox(engine).counts() == {"sent": queued}


def test_a_server_that_never_answers_cannot_stall_a_sweep(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=5)
    queued = 5 * KICKOFFS
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    with silent_server() as port:
        transport = smtp(port)  # the default 30 s time-out: each message waiting it would take 17 minutes
        started = time.monotonic()
        report = dispatcher(engine, transport, clock, deadline_seconds=2.0).deliver_due()
        took = time.monotonic() - started
    assert took < 3.0, took
    assert report.unavailable and report.sent == report.failed == report.held == 0
    assert report.retried + report.deferred == queued
    assert SqlOutbox(engine).counts() == {"pending": queued}  # nothing lost, nothing left claimed
    handler = Handler()
    with smtp_server(port, handler):  # the server comes back on the same port
        clock.set(clock.day, at=clock.at + timedelta(hours=1))
        assert dispatcher(engine, transport, clock).deliver_due().sent == queued
    assert len(handler.received) == queued


def test_a_server_that_answers_4xx_to_every_connection_is_tried_once_a_sweep(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=3)
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    with busy_server() as seen:
        report = dispatcher(engine, smtp(seen[0]), clock).deliver_due()
        connections = seen[1]
    assert connections == 1
    assert (report.retried, report.deferred, report.failed) == (1, 3 * KICKOFFS - 1, 0)
    assert "421" in report.unavailable


@dataclass
class SlowHandler(Handler):
    delay_seconds: float = 0.3

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay_seconds)
        return await super().handle_DATA(server, session, envelope)


def test_delivery_stops_at_its_deadline_and_the_rest_waits_for_the_next_sweep(engine: Engine, tmp_path: Path) -> None:
    launched(engine, tmp_path, projects=2)
    queued = 2 * KICKOFFS
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    port = free_port()
    handler = SlowHandler()
    with smtp_server(port, handler):
        transport = smtp(port)
        started = time.monotonic()
        first = dispatcher(engine, transport, clock, deadline_seconds=1.0).deliver_due()
        assert time.monotonic() - started < 2.0
        assert first.out_of_time and 0 < first.sent < queued  # the message the deadline cut short waits too
        assert first.sent + first.retried + first.deferred == queued
        later = dispatcher(engine, transport, clock, deadline_seconds=30.0).deliver_due()
        assert later.sent + first.sent == queued and not later.out_of_time
    assert len(handler.received) == queued
    assert SqlOutbox(engine).counts() == {"sent": queued}


@dataclass
class MeetingHandler(Handler):
    """Holds each message until another connection is delivering one too (or ``patience`` runs out), and notes
    which connection delivered what: delivery that uses its connections one after another never meets."""

    patience_seconds: float = 5.0
    delivering: int = 0
    met: bool = False
    peers: Counter[str] = field(default_factory=Counter)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivering += 1
        self.peers[f"{session.peer[0]}:{session.peer[1]}"] += 1
        try:
            deadline = time.monotonic() + self.patience_seconds
            while self.delivering < 2 and not self.met and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            self.met = self.met or self.delivering >= 2
            return await super().handle_DATA(server, session, envelope)
        finally:
            self.delivering -= 1


def test_delivery_over_several_connections_sends_each_message_once(engine: Engine, tmp_path: Path) -> None:
    """``ParallelDispatch``: four dispatchers, each its own run and SMTP connection, claiming batches of three
    side by side: messages are in flight on two connections at once, and each goes once, recorded sent."""
    launched(engine, tmp_path, projects=3)
    queued = 3 * KICKOFFS
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    port = free_port()
    handler = MeetingHandler()
    with smtp_server(port, handler):
        delivery = ParallelDispatch([dispatcher(engine, smtp(port), clock, batch=3) for _ in range(4)])
        report = delivery.deliver_due()
        again = delivery.deliver_due()
    assert (report.sent, report.retried, report.failed, report.deferred) == (queued, 0, 0, 0)
    assert report.waiting.pending == report.waiting.claimed == 0
    assert again.sent == 0
    assert handler.met, "no two connections ever delivered at the same time"
    assert len(handler.peers) >= 2 and sum(handler.peers.values()) == queued
    keys = Counter(r.content.split(b"X-Onboarding-Key: ")[1].split(b"\r\n")[0] for r in handler.received)
    assert len(keys) == queued and set(keys.values()) == {1}
    assert SqlOutbox(engine).counts() == {"sent": queued}


def test_parallel_delivery_shares_a_limit_and_reports_an_unavailable_server_once_put_back(
    engine: Engine, tmp_path: Path
) -> None:
    launched(engine, tmp_path, projects=2)
    clock = FixedClock(QUEUED.date(), at=QUEUED)
    with busy_server() as seen:
        delivery = ParallelDispatch([dispatcher(engine, smtp(seen[0]), clock, batch=2) for _ in range(3)])
        report = delivery.deliver_due(max_messages=5)
    assert report.sent == 0 and "421" in report.unavailable
    assert report.retried + report.deferred <= 5 and seen[1] <= 3  # each connection tried once, then stopped
    assert SqlOutbox(engine).counts() == {"pending": 2 * KICKOFFS}  # put back, nothing lost
