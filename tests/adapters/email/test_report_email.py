"""The weekly report email: headline figures in the body, the full HTML report attached."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from onboarding.adapters.email.rendering import MessageRenderer
from onboarding.core.messages import OutgoingMessage, Person
from tests.adapters.email import samples

NOW = datetime(2026, 2, 2, 15, 30, tzinfo=UTC)
REPORT = "<!DOCTYPE html>\n<html><body><h1>Onboarding report</h1><p>Zoë’s =_ boundary-like text</p></body></html>\n"


@pytest.fixture(scope="module")
def renderer() -> MessageRenderer:
    return MessageRenderer(
        sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
        domain="onboarding.vendor.example",
        unsubscribe_url="https://onboarding.vendor.example/unsubscribe",
        unsubscribe_secret=b"a test key that signs unsubscribe links, 32+ bytes",
        product_name="Vendor Onboarding",
    )


def with_report(text: str = REPORT, filename: str = "onboarding-report-2026-02-02.html") -> OutgoingMessage:
    message = samples.manager_report_message()
    attachment = {"filename": filename, "content_type": "text/html", "text": text}
    return replace(message, context={**message.context, "attachments": [attachment]})


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_the_report_goes_as_an_attachment_beside_the_headline_figures(renderer: MessageRenderer) -> None:
    raw = renderer.render(with_report(), now=NOW)
    parsed = parse(raw)
    assert parsed.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "text/html",
    ]
    assert parsed.defects == [] and all(p.defects == [] for p in parsed.walk())
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "onboarding-report-2026-02-02.html"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content() == REPORT
    text = parsed.get_body(("plain",))
    markup = parsed.get_body(("html",))
    assert text is not None and markup is not None
    assert "Median time to first value: 47 days" in text.get_content()
    assert "attached: open it in a web browser" in text.get_content()
    assert "attached: open it in a web browser" in markup.get_content()
    encoded = raw.split(b"Content-Transfer-Encoding: base64\r\n\r\n", 1)[1].split(b"\r\n--", 1)[0]
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))  # RFC 2045's limit for base64 lines


def test_without_an_attachment_the_email_is_the_usual_alternative(renderer: MessageRenderer) -> None:
    parsed = parse(renderer.render(samples.manager_report_message(), now=NOW))
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    assert text is not None and "attached" not in text.get_content()


def test_the_same_report_gives_the_same_bytes(renderer: MessageRenderer) -> None:
    assert renderer.render(with_report(), now=NOW) == renderer.render(with_report(), now=NOW)


@pytest.mark.parametrize("filename", ["../report.html", "report name.html", 'a"b.html', ""])
def test_odd_file_names_are_refused(renderer: MessageRenderer, filename: str) -> None:
    with pytest.raises(ValueError, match="cannot attach"):
        renderer.render(with_report(filename=filename), now=NOW)
