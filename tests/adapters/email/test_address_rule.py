"""Entry and rendering agree: every mailbox the entry rule accepts renders and goes through both transports.

The rule is ``core/addresses``; the strategies are the ones its own properties use.
Each example is rendered (as a To, a Cc and a Reply-To), parsed back, written to
a Maildir and sent to a real SMTP server (aiosmtpd on 127.0.0.1), whose envelope
must name the same address. What the rule refuses, the renderer refuses too,
never rewriting it.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onboarding.adapters.email.rendering import MessageRenderer, key_digest
from onboarding.adapters.email.transports import MaildirTransport
from onboarding.adapters.email.unsubscribe import is_valid_unsubscribe_token
from onboarding.core.addresses import mailbox, mailbox_text
from onboarding.core.messages import Person
from onboarding.errors import AddressInvalid
from tests.adapters.email import samples
from tests.adapters.email.test_transports import Handler, Server, start
from tests.core.test_addresses import ADDRESS, CONTROL, NAME

KEYS = itertools.count()  # a fresh key per example: the Maildir keeps one message per key
NOW = datetime(2026, 2, 2, 15, 30, tzinfo=UTC)
SECRET = b"address-rule-test-key"
RENDERER = MessageRenderer(
    sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
    domain="vendor.example",
    unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
    unsubscribe_secret=SECRET,
    product_name="Vendor Onboarding",
)


class Smtp:
    """A real SMTP server and one transport to it, shared by the examples (short repr for hypothesis)."""

    def __init__(self, server: Server) -> None:
        self.handler = server.handler
        self.transport = server.transport()

    def __repr__(self) -> str:
        return "Smtp()"


@pytest.fixture(scope="module")
def smtp() -> Iterator[Smtp]:
    for server in start(Handler()):
        yield Smtp(server)


@pytest.fixture(scope="module")
def maildir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder) / "maildir"


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=60)
@given(name=NAME, address=ADDRESS)
def test_every_accepted_mailbox_renders_and_is_delivered(smtp: Smtp, maildir: Path, name: str, address: str) -> None:
    name, address = mailbox(name, address)  # the entry rule: accepted, canonical
    person = Person(name, address)
    message = replace(
        samples.status_message(),
        idempotency_key=f"status:prj-0001:{next(KEYS)}",
        to=(person,),
        cc=(samples.DANA,),
        reply_to=mailbox_text(name, address),
    )
    raw = RENDERER.render(message, now=NOW)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    [to] = parsed["To"].addresses
    assert to.addr_spec == address
    # Runs of spaces are folded, nothing else changes. (The stdlib's parser puts a space between adjacent
    # encoded words of a long name, which RFC 2047 says to join, so spaces are left out of the comparison.)
    assert "".join(to.display_name.split()) == "".join(name.split())
    [reply_to] = parsed["Reply-To"].addresses
    assert reply_to.addr_spec == address
    token = RENDERER.unsubscribe_token(message)  # the opt-out names the address as it was accepted
    assert token in str(parsed["List-Unsubscribe"])
    assert is_valid_unsubscribe_token(token, secret=SECRET, email=address, project_id=message.project_id)
    recipients = [address, samples.DANA.email]
    MaildirTransport(maildir, fsync=False).deliver(raw, message_key=message.idempotency_key, recipients=recipients)
    smtp.handler.received.clear()
    smtp.transport.deliver(raw, message_key=message.idempotency_key, recipients=recipients)
    [received] = smtp.handler.received
    assert received.rcpt_tos == recipients and received.mail_from == "onboarding@vendor.example"
    assert email.message_from_bytes(received.content, policy=email.policy.default)["To"].addresses[0].addr_spec == (
        address
    )
    stored = (maildir / "new" / f"{key_digest(message.idempotency_key)}{MaildirTransport.SUFFIX}").read_bytes()
    assert email.message_from_bytes(stored, policy=email.policy.default)["To"].addresses == parsed["To"].addresses


@given(name=NAME, address=ADDRESS, at=st.integers(min_value=0, max_value=40), char=CONTROL)
def test_the_renderer_refuses_what_the_rule_refuses_never_rewriting_it(
    name: str, address: str, at: int, char: str
) -> None:
    name, address = mailbox(name, address)
    bad_name = name[: min(at, len(name))] + char + name[min(at, len(name)) :]
    bad_address = address[: min(at, len(address))] + char + address[min(at, len(address)) :]
    for person in (Person(bad_name, address), Person(name, bad_address)):
        with pytest.raises(AddressInvalid):
            mailbox(person.name, person.email)
        with pytest.raises(AddressInvalid):
            RENDERER.render(replace(samples.status_message(), to=(person,)), now=NOW)


def test_a_non_ascii_local_part_is_refused_by_the_renderer_as_at_entry() -> None:
    with pytest.raises(AddressInvalid) as refused:
        RENDERER.render(replace(samples.status_message(), to=(Person("Jürgen", "jürgen@x.example"),)), now=NOW)
    assert refused.value.codes == ["invalid-address"]


def test_a_sender_address_with_url_characters_makes_a_working_mailto(tmp_path: Path) -> None:
    renderer = MessageRenderer(
        sender=Person(name="Ops", email="ops+a?b&c%d#e/f@vendor.example"),
        domain="vendor.example",
        unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
        unsubscribe_secret=b"address-rule-test-key",
        product_name="Vendor Onboarding",
    )
    parsed = email.message_from_bytes(renderer.render(samples.status_message(), now=NOW), policy=email.policy.default)
    mailto = str(parsed["List-Unsubscribe"]).split("<mailto:", 1)[1].split(">", 1)[0]
    assert mailto.startswith("ops+a%3Fb%26c%25d%23e%2Ff@vendor.example?subject=unsubscribe%20")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=25)
@given(name=NAME, address=ADDRESS)
def test_every_accepted_sender_is_the_smtp_envelope_sender(smtp: Smtp, name: str, address: str) -> None:
    name, address = mailbox(name, address)  # as ONBOARDING_SENDER_NAME and _EMAIL are read
    renderer = MessageRenderer(
        sender=Person(name, address),
        domain="vendor.example",
        unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
        unsubscribe_secret=SECRET,
        product_name="Vendor Onboarding",
    )
    message = replace(samples.status_message(), idempotency_key=f"status:prj-0001:{next(KEYS)}")
    raw = renderer.render(message, now=NOW)
    assert email.message_from_bytes(raw, policy=email.policy.default)["From"].addresses[0].addr_spec == address
    smtp.handler.received.clear()
    smtp.transport.deliver(raw, message_key=message.idempotency_key, recipients=[samples.LEE.email])
    [received] = smtp.handler.received
    assert received.mail_from == address  # the envelope sender is read back from the From header


def test_a_sender_name_folded_onto_two_lines_still_gives_the_envelope_sender(smtp: Smtp) -> None:
    renderer = MessageRenderer(
        sender=Person("Zoë Ångström, Équipe d'intégration des nouveaux clients", "onboarding@vendor.example"),
        domain="vendor.example",
        unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
        unsubscribe_secret=SECRET,
        product_name="Vendor Onboarding",
    )
    raw = renderer.render(samples.status_message(), now=NOW)
    assert b"\r\n " in raw.split(b"\r\nTo:", 1)[0]  # the From header (the first) is folded
    smtp.handler.received.clear()
    smtp.transport.deliver(raw, message_key="folded-sender", recipients=[samples.LEE.email])
    assert smtp.handler.received[0].mail_from == "onboarding@vendor.example"
