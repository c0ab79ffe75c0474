"""Rendering: every template into a complete email that parses back, headers, escaping, encodings, golden files.

Rewrite the golden emails with ``pytest --update-golden`` after a deliberate change,
and read the diff.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.adapters.email.rendering import MessageRenderer, linked
from onboarding.adapters.email.unsubscribe import is_valid_unsubscribe_token, unsubscribe_token
from onboarding.core.messages import EMAIL_KINDS, MessageKind, OutgoingMessage, Person, message_id
from onboarding.errors import AddressInvalid
from tests.adapters.email import samples

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "emails"
NOW = datetime(2026, 2, 2, 15, 30, tzinfo=UTC)
DOMAIN = "onboarding.vendor.example"
UNSUBSCRIBE = "https://onboarding.vendor.example/unsubscribe"
SECRET = b"golden-emails-test-key-not-a-real-secret"
UNFOLDABLE = ("Message-ID:", "List-Unsubscribe:", " <mailto:")  # one token each: a long URL, a long domain


@pytest.fixture(scope="module")
def renderer() -> MessageRenderer:
    return MessageRenderer(
        sender=Person(name="Vendor Onboarding", email="onboarding@vendor.example"),
        domain=DOMAIN,
        unsubscribe_url=UNSUBSCRIBE,
        unsubscribe_secret=SECRET,
        product_name="Vendor Onboarding",
    )


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and markup is not None
    return text.get_content(), markup.get_content()


def header_lines(raw: bytes) -> list[str]:
    return raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_every_template_renders_a_complete_multipart_email(renderer: MessageRenderer, kind: MessageKind) -> None:
    message = samples.ALL[kind]()
    raw = renderer.render(message, now=NOW)
    parsed = parse(raw)

    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parsed.iter_parts())
    assert parsed.defects == [] and all(part.defects == [] for part in parsed.iter_parts())
    text, markup = bodies(parsed)
    assert text.strip() and "<td" not in text and "<p>" not in text and "<p " not in text and "<br" not in text
    assert markup.lstrip().startswith("<!DOCTYPE html>") and markup.rstrip().endswith("</html>")
    assert "<style" not in markup  # clients strip style blocks: everything is inline

    assert parsed["Subject"] == message.subject
    assert parsed["From"] == "Vendor Onboarding <onboarding@vendor.example>"
    assert [a.addr_spec for a in parsed["To"].addresses] == [p.email for p in message.to]
    assert [a.display_name for a in parsed["To"].addresses] == [p.name for p in message.to]
    if message.cc:
        assert [a.addr_spec for a in parsed["Cc"].addresses] == [p.email for p in message.cc]
    else:
        assert parsed["Cc"] is None
    assert parsed["Date"].datetime == NOW
    assert parsed["Message-ID"] == message_id(message.idempotency_key, domain=DOMAIN)
    assert parsed["X-Onboarding-Key"] == message.idempotency_key
    assert parsed["MIME-Version"] == "1.0"
    reply_to = parsed["Reply-To"].addresses[0].addr_spec
    assert reply_to == (email.utils.parseaddr(message.reply_to)[1] if message.reply_to else "onboarding@vendor.example")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
class _TagBalance(HTMLParser):
    VOID = frozenset({"br", "meta", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.styles += tag == "style"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.problems.append(f"unexpected </{tag}>")


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_html_is_well_formed_tables_with_inline_styles(renderer: MessageRenderer, kind: MessageKind) -> None:
    _, markup = bodies(parse(renderer.render(samples.ALL[kind](), now=NOW)))
    checker = _TagBalance()
    checker.feed(markup)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    assert checker.styles == 0 and "class=" not in markup
    assert markup.count('role="presentation"') >= 2  # layout tables, read as such by screen readers


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_list_unsubscribe_only_on_customer_emails(renderer: MessageRenderer, kind: MessageKind) -> None:
    for customer_facing in (True, False):
        message = replace(samples.ALL[kind](), customer_facing=customer_facing)
        parsed = parse(renderer.render(message, now=NOW))
        text, markup = bodies(parsed)
        if customer_facing:
            token = unsubscribe_token(SECRET, email=message.to[0].email, project_id=message.project_id)
            assert is_valid_unsubscribe_token(
                token, secret=SECRET, email=message.to[0].email, project_id=message.project_id
            )
            link = f"{UNSUBSCRIBE}?token={token}"
            assert parsed["List-Unsubscribe"] == (
                f"<{link}>, <mailto:onboarding@vendor.example?subject=unsubscribe%20{token}>"
            )
            assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            assert link in text and link in markup
        else:
            assert parsed["List-Unsubscribe"] is None and parsed["List-Unsubscribe-Post"] is None
            assert "unsubscribe" not in text.lower() and "unsubscribe" not in markup.lower()


def _variants() -> list[tuple[str, OutgoingMessage]]:
    status, kickoff = samples.status_message(), samples.kickoff_message()
    jump, digest = samples.window_jump_message(), samples.nudge_digest_message()
    project_without_id = {key: value for key, value in samples.ACME.items() if key != "external_id"}
    return [
        (
            "status-milestone-complete-empty",
            replace(
                status,
                context={
                    **status.context,
                    "reason": "milestone_complete",
                    "completed_milestone": "Data migration",
                    "done_recently": [],
                    "next_up": [],
                    "needs_from_you": [],
                    "go_live": None,
                },
            ),
        ),
        (
            "kickoff-uncommitted-no-tasks",
            replace(
                kickoff,
                context={
                    **kickoff.context,
                    "your_tasks": [],
                    "go_live": {"projected_on": "2026-04-01", "committed_on": None, "on_track": True},
                },
            ),
        ),
        ("window-jump-minimal", replace(jump, context={**jump.context, "rejected": [], "project": project_without_id})),
        (
            "window-jump-no-cause",
            replace(
                jump,
                context={**jump.context, "causes": [], "cause": "No task on the go-live's chain is late."},
            ),
        ),
        (
            "window-jump-tied-causes",
            replace(
                jump,
                context={
                    **jump.context,
                    "causes": [
                        *jump.context["causes"],
                        {
                            **jump.context["causes"][0],
                            "title": "Send the signed mandate",
                            "done_on": "2026-02-02",
                            "slip_days": 1,
                        },
                    ],
                },
            ),
        ),
        ("digest-one-item", replace(digest, context={**digest.context, "items": digest.context["items"][:1]})),
    ]


@pytest.mark.parametrize(("name", "message"), _variants(), ids=[name for name, _ in _variants()])
def test_optional_parts_render(renderer: MessageRenderer, name: str, message: OutgoingMessage) -> None:
    text, markup = bodies(parse(renderer.render(message, now=NOW)))
    visible = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())  # what a reader sees
    phrases = {
        "status-milestone-complete-empty": ["completed", "Data migration", "Nothing right now. Thank you!"],
        "kickoff-uncommitted-no-tasks": ["No go-live date has been committed yet.", "Nothing is assigned to you yet."],
        "window-jump-minimal": ["(Payroll implementation) is later"],
        "window-jump-no-cause": ["No task on the go-live's chain is late."],
        "window-jump-tied-causes": ["Confirm bank details", "Send the signed mandate", "Mon 2 Feb 2026", "1 day"],
        "digest-one-item": ["onboarding task has passed its due date"],
    }[name]
    for phrase in phrases:
        assert phrase in text and phrase in visible


def test_the_samples_mark_the_customer_emails(renderer: MessageRenderer) -> None:
    facing = {
        kind for kind, build in samples.ALL.items() if parse(renderer.render(build(), now=NOW))["List-Unsubscribe"]
    }
    assert facing == {MessageKind.kickoff, MessageKind.status, MessageKind.automated}


def test_the_same_key_gives_the_same_message(renderer: MessageRenderer) -> None:
    message = samples.status_message()
    first = renderer.render(message, now=NOW)
    assert renderer.render(message, now=NOW) == first  # deterministic, boundary included
    later = parse(renderer.render(message, now=NOW + timedelta(hours=5)))
    assert later["Message-ID"] == parse(first)["Message-ID"]
    other = parse(renderer.render(replace(message, idempotency_key=message.idempotency_key + ":2"), now=NOW))
    assert other["Message-ID"] != later["Message-ID"]


def test_date_keeps_the_offset_it_is_given(renderer: MessageRenderer) -> None:
    chicago = NOW.astimezone(timezone(timedelta(hours=-6)))  # the same instant as NOW, written in another offset
    dates = [parse(renderer.render(samples.kickoff_message(), now=now))["Date"] for now in (NOW, chicago, NOW)]
    utc, central = "Mon, 02 Feb 2026 15:30:00 +0000", "Mon, 02 Feb 2026 09:30:00 -0600"
    assert dates == [utc, central, utc]
    assert {date.datetime for date in dates} == {NOW}
    fraction = parse(renderer.render(samples.kickoff_message(), now=NOW + timedelta(microseconds=999_999)))
    assert fraction["Date"] == dates[0]  # to the second


def test_a_naive_now_is_refused(renderer: MessageRenderer) -> None:
    with pytest.raises(ValueError, match="aware"):
        renderer.render(samples.kickoff_message(), now=datetime(2026, 2, 2, 15, 30))


def test_a_missing_context_key_fails_loudly(renderer: MessageRenderer) -> None:
    message = samples.status_message()
    context = dict(message.context)
    del context["needs_from_you"]
    with pytest.raises(jinja2.UndefinedError, match="needs_from_you") as raised:
        renderer.render(replace(message, context=context), now=NOW)
    assert any(message.idempotency_key in note for note in raised.value.__notes__)


def test_a_missing_nested_key_fails_loudly(renderer: MessageRenderer) -> None:
    message = samples.nudge_digest_message()
    items = [dict(item) for item in message.context["items"]]
    del items[1]["due_on"]
    with pytest.raises(jinja2.UndefinedError, match="due_on"):
        renderer.render(replace(message, context={**message.context, "items": items}), now=NOW)


def test_html_escapes_what_people_typed(renderer: MessageRenderer) -> None:
    text, markup = bodies(parse(renderer.render(samples.status_message(), now=NOW)))
    assert "<script>" not in markup
    assert "Approve the &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons import" in markup
    assert "Approve the <script>alert(1)</script> & Sons import" in text  # plain text stays as typed
    _, digest = bodies(parse(renderer.render(samples.nudge_digest_message(), now=NOW)))
    assert "Globex &amp; Sons" in digest and "Globex & Sons" not in digest
    automated_text, automated = bodies(parse(renderer.render(samples.automated_message(), now=NOW)))
    assert "https://sandbox.example/globex?a=1&amp;b=2" in automated
    assert "https://sandbox.example/globex?a=1&b=2" in automated_text


def test_non_ascii_names_round_trip(renderer: MessageRenderer) -> None:
    raw = renderer.render(samples.status_message(), now=NOW)
    assert raw.isascii()
    parsed = parse(raw)
    assert parsed["To"].addresses[0].display_name == "José Müller"
    assert "To: =?utf-8?b?" in raw.decode("ascii")
    assert b"Jos\xc3\xa9" not in raw  # encoded in the headers and the bodies
    text, markup = bodies(parsed)
    assert "Hi José Müller," in text
    assert "Hi José Müller," in html.unescape(markup)


def test_a_non_ascii_sender_and_subject(renderer: MessageRenderer) -> None:
    accented = MessageRenderer(
        sender=Person(name="Zoë Ångström, Onboarding", email="zoe@vendor.example"),
        domain=DOMAIN,
        unsubscribe_url=UNSUBSCRIBE + "?list=customers",
        unsubscribe_secret=SECRET,
        product_name="Vendor Onboarding",
    )
    message = replace(samples.kickoff_message(), subject="Bienvenue à bord : Café Señor Pérez démarre le 5 janvier")
    raw = accented.render(message, now=NOW)
    parsed = parse(raw)
    assert parsed["From"].addresses[0].display_name == "Zoë Ångström, Onboarding"
    assert parsed["Subject"] == message.subject
    token = unsubscribe_token(SECRET, email=message.to[0].email, project_id=message.project_id)
    assert f"{UNSUBSCRIBE}?list=customers&token={token}" in parsed["List-Unsubscribe"]
    assert all(len(line) <= 78 for line in header_lines(raw) if not line.startswith(UNFOLDABLE))


def test_long_headers_are_folded(renderer: MessageRenderer) -> None:
    people = tuple(Person(name=f"Person Number {n} of the Team", email=f"person{n}@acme.example") for n in range(8))
    subject = "Acme Manufacturing onboarding: " + " ".join(["weekly status with a very long subject"] * 6)
    message = replace(samples.status_message(), to=people, cc=people[:3], subject=subject)
    raw = renderer.render(message, now=NOW)
    lines = header_lines(raw)
    assert all(len(line) <= 78 for line in lines if not line.startswith(UNFOLDABLE))
    parsed = parse(raw)
    assert parsed["Subject"] == subject
    assert [a.addr_spec for a in parsed["To"].addresses] == [p.email for p in people]
    assert [a.display_name for a in parsed["Cc"].addresses] == [p.name for p in people[:3]]


def test_line_breaks_cannot_inject_headers(renderer: MessageRenderer) -> None:
    message = replace(samples.kickoff_message(), subject="Hello\r\nBcc: victim@example.com\nX-Evil: 1")
    parsed = parse(renderer.render(message, now=NOW))
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["Subject"] == "Hello Bcc: victim@example.com X-Evil: 1"
    with pytest.raises(AddressInvalid) as refused:
        renderer.render(replace(message, to=(Person(name="X", email="x@acme.example>\r\nBcc: y@z"),)), now=NOW)
    assert refused.value.codes == ["invalid-address"]


def test_long_and_non_ascii_bodies_are_encoded(renderer: MessageRenderer) -> None:
    body = "Здравствуйте! " * 200 + "\n" + "x" * 3000 + "\n--=_ and = signs\n.\nFrom the team"
    context = {**samples.automated_message().context, "body": body}
    raw = renderer.render(replace(samples.automated_message(), context=context), now=NOW)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = parse(raw)
    text_part, html_part = list(parsed.iter_parts())
    # Mostly Cyrillic with a line too long for 7bit: base64 is the shorter encoding for both.
    assert text_part["Content-Transfer-Encoding"] == html_part["Content-Transfer-Encoding"] == "base64"
    text, markup = bodies(parsed)
    assert body.strip() in text.replace("\r\n", "\n")  # base64 keeps the canonical CRLF line ends
    assert "x" * 3000 in markup and html.unescape(markup).count("Здравствуйте!") == 200


def test_mostly_ascii_bodies_with_a_long_line_are_quoted_printable(renderer: MessageRenderer) -> None:
    context = {**samples.automated_message().context, "body": "Grüße an José, " + "y" * 1200}
    parsed = parse(renderer.render(replace(samples.automated_message(), context=context), now=NOW))
    assert [part["Content-Transfer-Encoding"] for part in parsed.iter_parts()] == ["quoted-printable"] * 2
    text, markup = bodies(parsed)
    assert "Grüße an José, " + "y" * 1200 in text
    assert "Grüße an José, " + "y" * 1200 in markup  # UTF-8 inside quoted-printable: no references needed


def test_plain_ascii_bodies_are_sent_as_they_are(renderer: MessageRenderer) -> None:
    raw = renderer.render(samples.window_jump_message(), now=NOW)
    parts = list(parse(raw).iter_parts())
    assert [part["Content-Transfer-Encoding"] for part in parts] == ["7bit", "7bit"]
    assert b"the first pay date that allows both runs is Wed 15 Apr." in raw


_printable = st.characters(categories=["L", "N", "P", "S", "Zs"])


# A name longer than one encoded word (42 UTF-8 bytes after "Reply-To: ") is split into several, which
# RFC 2047 decoders join as they are; Python's address parser puts a space between
# them (test_long_non_ascii_names_split_into_encoded_words), so names stay short here.
@settings(max_examples=150, deadline=None)
@given(
    subject=st.text(_printable, min_size=1, max_size=200),
    name=st.text(_printable, max_size=80).filter(lambda name: name.isascii() or len(name.encode()) <= 42),
)
def test_any_subject_and_name_round_trip(renderer: MessageRenderer, subject: str, name: str) -> None:
    message = replace(
        samples.automated_message(), subject=subject, to=(Person(name=name, email="someone@acme.example"),)
    )
    raw = renderer.render(message, now=NOW)
    parsed = parse(raw)
    assert parsed["Subject"] == " ".join(subject.split())
    assert parsed["To"].addresses[0].display_name == " ".join(name.split())
    assert parsed["To"].addresses[0].addr_spec == "someone@acme.example"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.decode("ascii").split("\r\n\r\n", 1)[0]
    field = re.search(r"^Subject: .*?\r\n(?=\S)", head, re.MULTILINE | re.DOTALL)
    assert field is not None
    if not subject.isascii():  # encoded words always fit in 78 columns
        assert all(len(line) <= 78 for line in field.group(0).split("\r\n"))


def test_long_non_ascii_names_split_into_encoded_words(renderer: MessageRenderer) -> None:
    name = "José Müller-Lüdenscheidt von und zu Überschallgeschwindigkeit"
    raw = renderer.render(
        replace(samples.kickoff_message(), to=(Person(name=name, email="jose@acme.example"),)), now=NOW
    )
    head = raw.decode("ascii").split("\r\n\r\n", 1)[0]
    field = re.search(r"^To: (.*?)\r\n(?=\S)", head, re.MULTILINE | re.DOTALL)
    assert field is not None
    lines = f"To: {field.group(1)}".split("\r\n")
    assert len(lines) > 1 and all(len(line) <= 78 for line in lines)
    words = " ".join(line.strip() for line in lines).removeprefix("To: ").removesuffix(" <jose@acme.example>")
    assert str(make_header(decode_header(words))) == name  # RFC 2047: adjacent encoded words join as they are
    assert parse(raw)["To"].addresses[0].addr_spec == "jose@acme.example"


@settings(max_examples=100, deadline=None)
@given(body=st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=400))
def test_any_body_round_trips(renderer: MessageRenderer, body: str) -> None:
    context = {**samples.automated_message().context, "body": body}
    raw = renderer.render(replace(samples.automated_message(), context=context), now=NOW)
    text, _ = bodies(parse(raw))
    expected = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    assert expected in text.replace("\r\n", "\n")


def test_templates_are_in_the_package_data() -> None:
    templates = Path(__file__).resolve().parents[3] / "onboarding" / "adapters" / "email" / "templates"
    names = {path.name for path in templates.glob("*.j2")}
    assert {f"{kind.value}.{ext}.j2" for kind in EMAIL_KINDS for ext in ("txt", "html")} <= names
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert '"adapters/email/templates/*.j2"' in pyproject


@pytest.mark.parametrize("kind", EMAIL_KINDS, ids=str)
def test_golden_email(renderer: MessageRenderer, kind: MessageKind, update_golden: bool) -> None:
    raw = renderer.render(samples.ALL[kind](), now=NOW)
    golden = GOLDEN / f"{kind.value}.eml"
    if update_golden or not golden.exists():
        if not update_golden:
            pytest.fail(f"no golden file {golden.name}; run pytest --update-golden and review it")
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(raw)
    assert raw == golden.read_bytes()


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("no links", "no links"),
        (
            "See https://a.example/x?a=1&b=2.",
            'See <a href="https://a.example/x?a=1&amp;b=2" style="color:#1d4ed8;text-decoration:underline;">'
            "https://a.example/x?a=1&amp;b=2</a>.",
        ),
        (
            "(http://a.example/p), <b>",
            '(<a href="http://a.example/p" style="color:#1d4ed8;text-decoration:underline;">'
            "http://a.example/p</a>), &lt;b&gt;",
        ),
        (
            'https://a.example/"onmouseover=x',
            '<a href="https://a.example/" style="color:#1d4ed8;text-decoration:underline;">'
            "https://a.example/</a>&#34;onmouseover=x",
        ),
        ("ftp://a.example/f and javascript:alert(1)", "ftp://a.example/f and javascript:alert(1)"),
    ],
)
def test_urls_in_text_become_links_and_nothing_else_does(text: str, html: str) -> None:
    assert str(linked(text)) == html
