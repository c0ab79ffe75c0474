"""Transports: a real SMTP server in the test process (aiosmtpd on 127.0.0.1), Maildir folders, the recorder.

Failures are classified as the services need them: temporary (connection refused
or timed out, 4xx replies, STARTTLS missing, login refused) means retry later;
permanent (5xx to the message's sender, recipients or content) means give up.
"""

from __future__ import annotations

import email
import email.policy
import gc
import mailbox
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.adapters.email.transports import (
    MaildirTransport,
    PermanentDeliveryError,
    RecordingTransport,
    SmtpTransport,
    TemporaryDeliveryError,
)
from onboarding.core.messages import Person
from onboarding.services import ports
from tests.adapters.email import samples

HOST = "127.0.0.1"
LOGIN, SECRET = "mailer", "test-only-secret"  # the test server's one account
NOW = datetime(2026, 2, 2, 15, 30, tzinfo=UTC)
RENDERER = MessageRenderer(
    sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
    domain="vendor.example",
    unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
    unsubscribe_secret=b"transports-test-key",
    product_name="Vendor Onboarding",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def rendered(kind: str = "status") -> tuple[bytes, str, list[str]]:
    message = {
        "status": samples.status_message,
        "kickoff": samples.kickoff_message,
        "nudge_digest": samples.nudge_digest_message,
    }[kind]()
    recipients = [person.email for person in (*message.to, *message.cc)]
    return RENDERER.render(message, now=NOW), message.idempotency_key, recipients


# -- a real SMTP server -------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Handler:
    """An aiosmtpd handler that records messages and answers as told."""

    received: list[Received] = field(default_factory=list)
    data_reply: str = "250 OK"
    mail_reply: str | None = None
    rcpt_replies: dict[str, str] = field(default_factory=dict)  # address -> reply

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply.startswith("250"):
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
            )
        return self.data_reply


@dataclass
class Server:
    handler: Handler
    port: int
    opened: list[SmtpTransport] = field(default_factory=list)

    def transport(self, **overrides: Any) -> SmtpTransport:
        """A transport to this server, closed when the test ends."""
        options: dict[str, Any] = {
            "starttls": False,
            "username": None,
            "password": None,
            "timeout_seconds": 5.0,
            "local_hostname": "test.localhost",
        }
        options.update(overrides)
        transport = SmtpTransport(HOST, self.port, **options)
        self.opened.append(transport)
        return transport


def start(handler: Handler, **server_options: Any) -> Iterator[Server]:
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port, ready_timeout=5.0, **server_options)
    controller.start()
    server = Server(handler, port)
    try:
        yield server
    finally:
        for transport in server.opened:
            transport.close()
        controller.stop()


@pytest.fixture
def server() -> Iterator[Server]:
    yield from start(Handler())


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (LOGIN.encode(), SECRET.encode())
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_server() -> Iterator[Server]:
    yield from start(Handler(), authenticator=authenticate, auth_require_tls=False)


def test_delivers_with_the_right_envelope(server: Server) -> None:
    raw, key, recipients = rendered()
    with server.transport() as transport:
        transport.deliver(raw, message_key=key, recipients=recipients)
    [received] = server.handler.received
    assert received.mail_from == "onboarding@vendor.example"  # the From address when no envelope sender is set
    assert received.rcpt_tos == ["jose@acme.example", "lee@acme.example", "dana@vendor.example"]
    assert received.content.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    parsed = email.message_from_bytes(received.content, policy=email.policy.default)
    assert parsed["X-Onboarding-Key"] == key and parsed["Subject"] == samples.status_message().subject


def test_a_configured_envelope_sender_and_one_connection_for_many(server: Server) -> None:
    transport = server.transport(envelope_from="bounces@vendor.example")
    try:
        for kind in ("status", "kickoff", "nudge_digest"):
            raw, key, recipients = rendered(kind)
            transport.deliver(raw, message_key=key, recipients=recipients)
    finally:
        transport.close()
    assert [r.mail_from for r in server.handler.received] == ["bounces@vendor.example"] * 3
    assert [r.rcpt_tos for r in server.handler.received][1:] == [["lee@acme.example"], ["dana@vendor.example"]]


def test_reconnects_after_the_server_went_away(server: Server) -> None:
    transport = server.transport()
    raw, key, recipients = rendered()
    transport.deliver(raw, message_key=key, recipients=recipients)
    assert transport._connection is not None
    transport._connection.sock.close()  # the server (or a NAT) dropped the idle connection
    transport.deliver(raw, message_key=key + ":again", recipients=recipients)
    transport.close()
    assert len(server.handler.received) == 2


def test_a_transport_nobody_closed_leaves_no_socket_behind(server: Server) -> None:
    raw, key, recipients = rendered()
    transport = SmtpTransport(
        HOST, server.port, starttls=False, username=None, password=None, timeout_seconds=5, local_hostname=None
    )
    transport.deliver(raw, message_key=key, recipients=recipients)
    del transport
    gc.collect()  # a ResourceWarning here would fail the test (warnings are errors)
    assert len(server.handler.received) == 1


def test_a_server_that_is_down_is_temporary() -> None:
    raw, key, recipients = rendered()
    transport = SmtpTransport(
        HOST, free_port(), starttls=False, username=None, password=None, timeout_seconds=2.0, local_hostname=None
    )
    with pytest.raises(TemporaryDeliveryError) as raised:
        transport.deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "smtp-unreachable" and "ConnectionRefusedError" in raised.value.detail


def test_a_server_that_never_answers_times_out_as_temporary() -> None:
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen()  # accepts connections into the backlog and never says hello
        transport = SmtpTransport(
            HOST,
            silent.getsockname()[1],
            starttls=False,
            username=None,
            password=None,
            timeout_seconds=0.3,
            local_hostname=None,
        )
        raw, key, recipients = rendered()
        with pytest.raises(TemporaryDeliveryError) as raised:
            transport.deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "smtp-unreachable"


def test_451_is_temporary(server: Server) -> None:
    server.handler.data_reply = "451 4.3.0 Try again later"
    raw, key, recipients = rendered()
    with pytest.raises(TemporaryDeliveryError) as raised:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "smtp-deferred" and raised.value.code == 451
    assert server.handler.received == []


def test_550_is_permanent(server: Server) -> None:
    server.handler.data_reply = "550 5.7.1 Message rejected as spam"
    raw, key, recipients = rendered()
    with pytest.raises(PermanentDeliveryError) as raised:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "smtp-rejected" and raised.value.code == 550
    assert "spam" in raised.value.detail


def test_a_refused_sender_is_permanent(server: Server) -> None:
    server.handler.mail_reply = "553 5.7.1 Sender not allowed"
    raw, key, recipients = rendered()
    with pytest.raises(PermanentDeliveryError) as raised:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.code == 553


def test_all_recipients_refused_is_permanent(server: Server) -> None:
    raw, key, recipients = rendered()
    server.handler.rcpt_replies = dict.fromkeys(recipients, "550 5.1.1 No such user")
    with pytest.raises(PermanentDeliveryError) as raised:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "recipients-refused"
    assert set(raised.value.refused) == set(recipients) and raised.value.accepted == ()


def test_some_recipients_refused_is_permanent_for_them_and_delivered_to_the_rest(server: Server) -> None:
    raw, key, recipients = rendered()
    server.handler.rcpt_replies = {"lee@acme.example": "550 5.1.1 No such user"}
    with pytest.raises(PermanentDeliveryError) as raised:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    error = raised.value
    assert error.reason == "recipients-refused"
    assert error.refused == {"lee@acme.example": (550, "5.1.1 No such user")}
    assert error.accepted == ("jose@acme.example", "dana@vendor.example")
    assert error.retry_recipients == ()
    [received] = server.handler.received
    assert received.rcpt_tos == ["jose@acme.example", "dana@vendor.example"]


def test_a_recipient_deferred_with_4xx_is_retried_alone(server: Server) -> None:
    raw, key, recipients = rendered()
    server.handler.rcpt_replies = {"lee@acme.example": "450 4.2.1 Mailbox busy"}
    transport = server.transport()
    with pytest.raises(TemporaryDeliveryError) as raised:
        transport.deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "recipients-deferred" and raised.value.retry_recipients == ("lee@acme.example",)
    server.handler.rcpt_replies = {}
    transport.deliver(raw, message_key=key, recipients=raised.value.retry_recipients)
    transport.close()
    assert [r.rcpt_tos for r in server.handler.received] == [
        ["jose@acme.example", "dana@vendor.example"],
        ["lee@acme.example"],
    ]


def test_starttls_asked_of_a_server_without_it_is_temporary_and_sends_nothing(server: Server) -> None:
    # A configuration mismatch, not a fault of the message: it stays queued until the
    # server or the settings are fixed, and nothing goes out in clear text meanwhile.
    raw, key, recipients = rendered()
    with pytest.raises(TemporaryDeliveryError) as raised:
        server.transport(starttls=True).deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "starttls-unavailable" and "STARTTLS" in raised.value.detail
    assert server.handler.received == []


def test_login(auth_server: Server) -> None:
    raw, key, recipients = rendered()
    with auth_server.transport(username=LOGIN, password=SECRET) as transport:
        transport.deliver(raw, message_key=key, recipients=recipients)
    assert len(auth_server.handler.received) == 1


def test_a_refused_login_is_temporary(auth_server: Server) -> None:
    raw, key, recipients = rendered()
    with pytest.raises(TemporaryDeliveryError) as raised:
        auth_server.transport(username=LOGIN, password=SECRET + "-wrong").deliver(
            raw, message_key=key, recipients=recipients
        )
    assert raised.value.reason == "smtp-login-failed" and raised.value.code == 535
    assert auth_server.handler.received == []


def test_login_needs_both_parts() -> None:
    with pytest.raises(ValueError, match="both"):
        SmtpTransport(HOST, 25, starttls=False, username="x", password=None, timeout_seconds=1, local_hostname=None)


def test_bare_line_feeds_are_sent_as_crlf(server: Server) -> None:
    raw, key, recipients = rendered()
    with server.transport() as transport:
        transport.deliver(raw.replace(b"\r\n", b"\n"), message_key=key, recipients=recipients)
    [received] = server.handler.received
    assert received.content == raw  # aiosmtpd keeps the line ends it was sent


# -- Maildir ------------------------------------------------------------------------


def test_maildir_delivery_is_readable_by_mailbox(tmp_path: Path) -> None:
    folder = tmp_path / "Maildir"
    transport = MaildirTransport(folder)
    assert {p.name for p in folder.iterdir()} >= {"cur", "new", "tmp"}
    for kind in ("status", "kickoff"):
        raw, key, recipients = rendered(kind)
        transport.deliver(raw, message_key=key, recipients=recipients)
    box = mailbox.Maildir(folder, create=False)
    subjects = sorted(message["Subject"] for message in box)
    assert subjects == sorted([samples.status_message().subject, samples.kickoff_message().subject])
    stored = next(iter((folder / "new").iterdir())).read_bytes()
    assert b"\r\n" not in stored  # local line ends, as Maildir readers expect
    parsed = email.message_from_bytes(stored, policy=email.policy.default)
    assert parsed.get_body(("html",)) is not None
    assert list((folder / "tmp").iterdir()) == []


def test_maildir_delivers_a_key_once(tmp_path: Path) -> None:
    raw, key, recipients = rendered()
    first = MaildirTransport(tmp_path, fsync=False)
    first.deliver(raw, message_key=key, recipients=recipients)
    first.deliver(raw, message_key=key, recipients=recipients)
    MaildirTransport(tmp_path).deliver(raw, message_key=key, recipients=recipients)  # after a restart
    assert len(mailbox.Maildir(tmp_path)) == 1


def test_maildir_knows_messages_a_reader_has_moved_to_cur(tmp_path: Path) -> None:
    raw, key, recipients = rendered()
    MaildirTransport(tmp_path).deliver(raw, message_key=key, recipients=recipients)
    box = mailbox.Maildir(tmp_path)
    [(box_key, message)] = list(box.items())
    message.set_subdir("cur")
    message.add_flag("S")
    box[box_key] = message  # a mail client read it: now cur/<name>:2,S
    assert list((tmp_path / "new").iterdir()) == []
    MaildirTransport(tmp_path).deliver(raw, message_key=key, recipients=recipients)
    assert len(mailbox.Maildir(tmp_path)) == 1


def test_maildir_concurrent_deliveries_of_one_key_leave_one_message(tmp_path: Path) -> None:
    raw, key, recipients = rendered()
    transports = [MaildirTransport(tmp_path, fsync=False) for _ in range(8)]
    threads = [
        threading.Thread(target=t.deliver, args=(raw,), kwargs={"message_key": key, "recipients": recipients})
        for t in transports
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(mailbox.Maildir(tmp_path)) == 1
    assert list((tmp_path / "tmp").iterdir()) == []


def test_maildir_write_failures_are_temporary(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path / "box")
    (tmp_path / "box" / "tmp").rmdir()  # someone removed part of the folder
    raw, key, recipients = rendered()
    with pytest.raises(TemporaryDeliveryError) as raised:
        transport.deliver(raw, message_key=key, recipients=recipients)
    assert raised.value.reason == "maildir-write-failed"


def inodes(folder: Path) -> dict[str, int]:
    return {entry.name: entry.stat().st_ino for entry in folder.iterdir()}


def test_a_batched_maildir_delivers_nothing_until_it_settles_then_the_whole_batch(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path, batched=True)
    assert transport.settles_later
    messages = [rendered(kind) for kind in ("status", "kickoff", "nudge_digest")]
    for raw, key, recipients in [*messages, messages[0]]:  # a key twice in one batch is written once
        transport.deliver(raw, message_key=key, recipients=recipients)
    assert list((tmp_path / "new").iterdir()) == []  # staged: a crash now leaves nothing in new/
    assert len(list((tmp_path / "tmp").iterdir())) == 3
    transport.settle()
    delivered = inodes(tmp_path / "new")
    assert len(delivered) == 3 and list((tmp_path / "tmp").iterdir()) == []
    transport.settle()  # nothing staged: nothing to do
    # the batch delivered again after a restart (a crash before it was recorded sent): nothing is written twice
    again = MaildirTransport(tmp_path, batched=True)
    for raw, key, recipients in messages:
        again.deliver(raw, message_key=key, recipients=recipients)
    assert list((tmp_path / "tmp").iterdir()) == []
    again.settle()
    assert inodes(tmp_path / "new") == delivered


def test_a_batched_maildir_flushes_a_batch_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from onboarding.adapters.email import transports

    flushes: list[str] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: flushes.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(transports, "_SYNCFS", lambda fd: flushes.append("syncfs"))
    transport = MaildirTransport(tmp_path, batched=True)
    for number in range(5):
        raw, key, recipients = rendered()
        transport.deliver(raw, message_key=f"{key}:{number}", recipients=recipients)
    assert flushes == []
    transport.settle()
    assert flushes == ["syncfs", "fsync"]  # the files, then new/
    assert len(list((tmp_path / "new").iterdir())) == 5
    # without syncfs (not Linux), each file is flushed as it is written, new/ once a batch
    monkeypatch.setattr(transports, "_SYNCFS", None)
    flushes.clear()
    for number in range(5, 8):
        raw, key, recipients = rendered()
        transport.deliver(raw, message_key=f"{key}:{number}", recipients=recipients)
    transport.settle()
    assert flushes == ["fsync"] * 4


def test_a_batched_maildir_closed_before_it_settles_delivers_nothing(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path, batched=True)
    raw, key, recipients = rendered()
    transport.deliver(raw, message_key=key, recipients=recipients)
    transport.close()  # the run ended without settling (an error in the dispatcher)
    transport.settle()
    assert list((tmp_path / "new").iterdir()) == [] and list((tmp_path / "tmp").iterdir()) == []
    transport.deliver(raw, message_key=key, recipients=recipients)  # the next run delivers it
    transport.settle()
    assert len(mailbox.Maildir(tmp_path)) == 1


def test_a_batched_maildir_that_cannot_settle_fails_temporarily_and_delivers_the_batch_later(tmp_path: Path) -> None:
    transport = MaildirTransport(tmp_path / "box", batched=True)
    messages = [rendered(kind) for kind in ("status", "kickoff")]
    for raw, key, recipients in messages:
        transport.deliver(raw, message_key=key, recipients=recipients)
    (tmp_path / "box" / "new").rmdir()  # someone removed part of the folder
    with pytest.raises(TemporaryDeliveryError) as raised:
        transport.settle()
    assert raised.value.reason == "maildir-write-failed" and raised.value.unavailable
    assert list((tmp_path / "box" / "tmp").iterdir()) == []
    (tmp_path / "box" / "new").mkdir()
    for raw, key, recipients in messages:  # retried: none of them counted as delivered
        transport.deliver(raw, message_key=key, recipients=recipients)
    transport.settle()
    assert len(mailbox.Maildir(tmp_path / "box")) == 2


# -- in memory ------------------------------------------------------------------------


def test_recording_transport_keeps_every_delivery() -> None:
    transport = RecordingTransport()
    raw, key, recipients = rendered()
    transport.deliver(raw, message_key=key, recipients=recipients)
    transport.deliver(raw, message_key=key, recipients=recipients[:1])
    assert transport.keys == [key, key]  # a repeat is kept: tests can see a double send
    first = transport.delivered[0]
    assert first.recipients == tuple(recipients) and first.raw == raw
    assert first.message["X-Onboarding-Key"] == key
    assert first.message.get_body(("plain",)) is not None


def test_recording_transport_fails_on_request() -> None:
    transport = RecordingTransport()
    raw, key, recipients = rendered()
    transport.fail_next(2)
    transport.fail_next(kind="permanent")
    for expected in (TemporaryDeliveryError, TemporaryDeliveryError, PermanentDeliveryError):
        with pytest.raises(expected):
            transport.deliver(raw, message_key=key, recipients=recipients)
    transport.deliver(raw, message_key=key, recipients=recipients)
    assert transport.attempts == 4 and transport.keys == [key]


def test_recording_transport_can_settle_later_as_a_batched_maildir_does() -> None:
    transport = RecordingTransport(settles_later=True)
    raw, key, recipients = rendered()
    transport.deliver(raw, message_key=key, recipients=recipients)
    assert transport.keys == [] and len(transport.staged) == 1
    transport.settle()
    assert transport.keys == [key] and transport.settles == 1
    transport.deliver(raw, message_key=key, recipients=recipients)
    transport.fail_settle()
    with pytest.raises(TemporaryDeliveryError):
        transport.settle()
    assert transport.keys == [key] and transport.staged == []  # the failed batch was not delivered
    transport.deliver(raw, message_key=key, recipients=recipients)
    transport.close()
    assert transport.staged == [] and transport.keys == [key]


def test_every_transport_fits_the_protocol(tmp_path: Path) -> None:
    transports: list[ports.Transport] = [
        RecordingTransport(),
        RecordingTransport(settles_later=True),
        MaildirTransport(tmp_path),
        MaildirTransport(tmp_path, batched=True),
        SmtpTransport(HOST, 25, starttls=False, username=None, password=None, timeout_seconds=1, local_hostname=None),
    ]
    assert all(callable(t.deliver) and callable(t.settle) for t in transports)
    assert [t.settles_later for t in transports] == [False, True, False, True, False]


def test_delivery_errors_are_the_services_errors_and_not_user_errors() -> None:
    from onboarding.errors import OnboardingError

    assert issubclass(TemporaryDeliveryError, ports.TemporaryDeliveryError)  # what the dispatcher catches
    assert issubclass(PermanentDeliveryError, ports.PermanentDeliveryError)
    assert not issubclass(TemporaryDeliveryError, ports.PermanentDeliveryError)
    assert not issubclass(TemporaryDeliveryError, OnboardingError)
    assert not issubclass(PermanentDeliveryError, OnboardingError)
    error = TemporaryDeliveryError("try later", code=421, reason="smtp-deferred")
    assert (error.detail, error.code, error.reason, str(error)) == ("try later", 421, "smtp-deferred", "try later")


def test_an_address_smtplib_cannot_write_is_permanent_and_the_connection_goes_on(server: Server) -> None:
    raw, key, _ = rendered()
    transport = server.transport()
    with pytest.raises(PermanentDeliveryError) as raised:
        transport.deliver(raw, message_key=key, recipients=["josé@acme.example"])
    assert raised.value.reason == "unsendable-address" and not raised.value.unavailable
    transport.deliver(raw, message_key=key, recipients=["lee@acme.example"])
    assert [r.rcpt_tos for r in server.handler.received] == [["lee@acme.example"]]


def test_a_delivery_takes_no_longer_than_the_time_it_is_given() -> None:
    import time

    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen()
        transport = SmtpTransport(
            HOST,
            silent.getsockname()[1],
            starttls=False,
            username=None,
            password=None,
            timeout_seconds=30.0,
            local_hostname=None,
        )
        raw, key, recipients = rendered()
        started = time.monotonic()
        with pytest.raises(TemporaryDeliveryError) as raised:
            transport.deliver(raw, message_key=key, recipients=recipients, timeout_seconds=0.3)
        assert time.monotonic() - started < 2.0
    assert raised.value.unavailable  # the server, not the message: the next ones would wait the same


def test_a_server_failure_is_marked_unavailable_and_a_message_deferral_is_not(server: Server) -> None:
    raw, key, recipients = rendered()
    server.handler.data_reply = "451 4.3.0 Try again later"
    with pytest.raises(TemporaryDeliveryError) as deferred:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert deferred.value.reason == "smtp-deferred" and not deferred.value.unavailable
    server.handler.data_reply = "421 4.3.2 shutting down"
    with pytest.raises(TemporaryDeliveryError) as closing:
        server.transport().deliver(raw, message_key=key, recipients=recipients)
    assert closing.value.unavailable
    down = SmtpTransport(
        HOST, free_port(), starttls=False, username=None, password=None, timeout_seconds=2.0, local_hostname=None
    )
    with pytest.raises(TemporaryDeliveryError) as refused:
        down.deliver(raw, message_key=key, recipients=recipients)
    assert refused.value.unavailable


def test_several_deliveries_making_one_missing_maildir_at_once_all_succeed(tmp_path: Path) -> None:
    """A serve's delivery and a CLI's can open one missing folder at the same moment: each makes what is not
    there yet, and neither fails for the other having made it first."""
    for n in range(20):
        path = tmp_path / f"maildir-{n}"
        start = threading.Barrier(6)
        failures: list[BaseException] = []

        def open_it(
            path: Path = path, start: threading.Barrier = start, failures: list[BaseException] = failures
        ) -> None:
            start.wait()
            try:
                MaildirTransport(path)
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(p.name for p in path.iterdir()) == ["cur", "new", "tmp"]
