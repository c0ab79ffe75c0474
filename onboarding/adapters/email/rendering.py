"""Rendering: an ``OutgoingMessage`` becomes the bytes of one complete RFC 5322 email.

``MessageRenderer.render`` fills the message's two templates (``<kind>.txt.j2`` and
``<kind>.html.j2`` in ``templates/``, both extending a shared base layout) and
wraps them in a ``multipart/alternative`` message with From, To, Cc, Reply-To,
Subject, Date, Message-ID (derived from the idempotency key, so a retried message
is recognisably the same one), ``X-Onboarding-Key`` and, on customer emails,
List-Unsubscribe with one-click unsubscribe (RFC 8058). The unsubscribe link carries
a token signed with the engine's secret key (``unsubscribe``) that names the first
addressee and the message's project; the engine addresses each customer email to
one person. A context with ``attachments`` (text files: the managers' HTML report)
makes it a ``multipart/mixed`` with the alternative first and each file after it, base64.

The templates run under jinja2's ``StrictUndefined`` (a missing context key fails
loudly instead of printing nothing) and HTML autoescaping; they are compiled once,
when the renderer is built, and find the shared macros of their part (``macros.txt.j2``,
``macros.html.j2``) as ``show``. The HTML uses tables and inline styles only, since mail
clients strip ``<style>`` blocks.

The MIME is assembled directly with the stdlib's encoders (``binascii``,
``email.utils``) rather than through ``email.message`` objects, whose generator
alone costs more than rendering both templates (about 0.6 ms a message here;
the goal is 1,500 messages a second). Headers: non-ASCII text becomes RFC 2047
encoded words (UTF-8, base64, whole characters, at most 75 columns each) and
everything is folded to 78 columns where the words allow. Bodies are UTF-8 and
encoded only as needed: 7bit when already ASCII with no line over 998 characters
(the HTML gets there by writing non-ASCII characters as character references),
else quoted-printable, or base64 for mostly non-ASCII text. Lines end in CRLF, as
RFC 5322 and SMTP require. The boundary is derived from the key and starts with
``=_``, which quoted-printable and base64 cannot produce (a 7bit body containing
it is quoted-printable instead), so the same message always gives the same bytes.

Not here: deciding what to send or to whom (core), queuing (the outbox), delivery
(``transports``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import Any, Final, NamedTuple
from urllib.parse import quote

import jinja2
import jinja2.ext
import markupsafe

from onboarding.adapters.email.customer_links import CustomerLinkSigner, RecipientLinks
from onboarding.adapters.email.unsubscribe import unsubscribe_token
from onboarding.core.addresses import canonical_address, mailbox, mailbox_list
from onboarding.core.messages import EMAIL_KINDS, MessageKind, OutgoingMessage, Person, message_id

CRLF: Final = "\r\n"
MAX_LINE: Final = 78  # RFC 5322's recommended limit for header lines
_MAX_WORD: Final = 900  # an ASCII word longer than this is sent as encoded words (hard limit 998)
_REMEMBERED_REPLY_TO: Final = 1024  # Reply-To lines kept per renderer (a few addresses in practice)
_LONGEST_ADDRESS_HEADER: Final = len("Reply-To: ")
_WORD_FRAME: Final = len("=?utf-8?b??=")
_WORD_BYTES: Final = 45  # 60 base64 characters: an encoded word of 72, within RFC 2047's 75
_CONTROL_TO_SPACE: Final = dict.fromkeys((*range(32), 127), " ")
_HIGH_BYTES: Final = bytes(range(128, 256))
MAX_BODY_LINE: Final = 998  # RFC 5322's hard limit, CRLF excluded
# Quoted-printable triples each non-ASCII byte, base64 adds a third to everything:
# above this share of non-ASCII bytes base64 is the shorter encoding.
_BASE64_ABOVE: Final = 0.17

_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# Inline styles shared by the HTML templates, written there as ``{{ style.<name> }}``
# and substituted when a template is compiled (``_InlineStyles``), so they cost
# nothing per email. Mail clients drop <style> blocks, and Outlook does not inherit
# fonts into table cells, so every cell names its font.
_FONT = "font-family:Arial,Helvetica,sans-serif;"
_CELL = f"padding:8px;border-bottom:1px solid #eef0f3;vertical-align:top;{_FONT}font-size:14px;line-height:20px;"
_BOX = f"padding:12px 16px;{_FONT}font-size:15px;line-height:22px;color:#111827;"
STYLES: Final[dict[str, str]] = {
    "body": "margin:0;padding:0;background-color:#f3f4f6;",
    "outer": "background-color:#f3f4f6;",
    "outer_cell": "padding:24px 8px;",
    "card": "width:100%;max-width:600px;background-color:#ffffff;border:1px solid #e5e7eb;",
    "brand": f"padding:16px 20px;border-bottom:1px solid #e5e7eb;{_FONT}font-size:13px;font-weight:bold;color:#4b5563;",
    "main": f"padding:24px 20px;{_FONT}font-size:15px;line-height:22px;color:#111827;",
    "footer": f"padding:16px 20px;border-top:1px solid #e5e7eb;{_FONT}font-size:12px;line-height:18px;color:#6b7280;",
    "h1": f"margin:0 0 16px 0;{_FONT}font-size:20px;line-height:28px;color:#111827;",
    "h2": f"margin:24px 0 8px 0;{_FONT}font-size:16px;line-height:22px;color:#111827;",
    "p": f"margin:0 0 12px 0;{_FONT}font-size:15px;line-height:22px;color:#111827;",
    "table": "width:100%;border-collapse:collapse;",
    "th": f"padding:6px 8px;border-bottom:2px solid #e5e7eb;text-align:left;{_FONT}font-size:12px;color:#6b7280;",
    "td": _CELL,
    # Dates never break inside (``day_nb``) but their cells wrap between them: at phone width (390 px) a
    # cell of "Mon 16 Feb 2026 to Fri 13 Mar 2026" would otherwise push the card past the screen.
    "td_date": _CELL,
    "td_name": _CELL,
    "description": "color:#374151;font-size:13px;line-height:19px;",
    "muted": "color:#6b7280;font-size:13px;",
    "overdue": "color:#b91c1c;font-weight:bold;",
    "done": "color:#047857;font-weight:bold;",
    "progress": "color:#1d4ed8;font-weight:bold;",
    "upcoming": "color:#6b7280;",
    "good_box": _BOX + "background-color:#ecfdf5;border-left:4px solid #059669;",
    "warn_box": _BOX + "background-color:#fef2f2;border-left:4px solid #dc2626;",
    "info_box": _BOX + "background-color:#f3f4f6;border-left:4px solid #6b7280;",
    "footer_link": "color:#6b7280;text-decoration:underline;",
    "link": "color:#1d4ed8;text-decoration:underline;",
    # a paragraph holding a long URL alone (a sign-in link): it breaks anywhere rather than widen a phone's screen
    "url_p": f"margin:0 0 12px 0;{_FONT}font-size:15px;line-height:22px;color:#111827;word-break:break-all;",
    "preheader": "display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;opacity:0;overflow:hidden;"
    "mso-hide:all;",
}
_STYLE_REFERENCE = re.compile(r"\{\{ style\.(\w+) \}\}")
# An http(s) URL in running text; punctuation that ends a sentence or closes a bracket is not part of it.
_URL_IN_TEXT = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]}]")
_NO_BREAK = markupsafe.Markup("&#160;")  # join() escapes what it joins
_LINK = markupsafe.Markup('<a href="{url}" style="{style}">{url}</a>')  # format() escapes what it fills in


class MailInfo(NamedTuple):
    """What every template may use besides its context, as ``mail.<field>``."""

    product_name: str
    subject: str
    sender_name: str
    sender_email: str
    unsubscribe_url: str | None  # set on customer emails only
    links: RecipientLinks | None = None  # the recipient's signed page links: customer emails, with a signer


@lru_cache(maxsize=4096)
def day(value: str) -> str:
    """An ISO date as ``Mon 12 Jan 2026`` (no locale involved)."""
    parsed = date.fromisoformat(value)
    return f"{_WEEKDAYS[parsed.weekday()]} {parsed.day} {_MONTHS[parsed.month - 1]} {parsed.year}"


def done_on(item: Mapping[str, Any]) -> str:
    """The day a task or milestone was done (its due day when that is not known), as an ISO date."""
    on: str = item.get("done_on") or item["due_on"]
    return on


def done_day(item: Mapping[str, Any]) -> str:
    """The day a task or milestone was done, as ``day`` writes it."""
    return day(done_on(item))


@lru_cache(maxsize=4096)
def day_nb(value: str) -> markupsafe.Markup:
    """``day`` with no-break spaces: in HTML a date never breaks across lines, whatever the width.

    Written as the character reference ``&#160;``, the bytes the body's encoding made of a no-break space
    character, so that an HTML body with no other non-ASCII text is ASCII as it comes from its template and
    is encoded by a plain copy.
    """
    return _NO_BREAK.join(day(value).split(" "))


def done_day_nb(item: Mapping[str, Any]) -> markupsafe.Markup:
    """``done_day`` with no-break spaces (HTML)."""
    return day_nb(done_on(item))


def is_overdue(task: Mapping[str, Any]) -> bool:
    """Whether a task view is marked overdue (``task is overdue`` in templates)."""
    return bool(task.get("overdue"))


def linked(text: str) -> markupsafe.Markup:
    """Plain text for HTML, escaped, its http(s) URLs made into links (a reader can click them)."""
    parts: list[str] = []  # plain text, escaped when joined; the links are Markup
    end = 0
    for match in _URL_IN_TEXT.finditer(text):
        parts += [text[end : match.start()], _LINK.format(url=match.group(), style=STYLES["link"])]
        end = match.end()
    parts.append(text[end:])
    return markupsafe.Markup("").join(parts)


def count_of(number: int, noun: str) -> str:
    """``3 business days``, ``1 task``: a number with its noun, pluralised with an s."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def key_digest(idempotency_key: str) -> str:
    """The hex digest that stands for a message key in file names and boundaries (as in its Message-ID)."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


class _InlineStyles(jinja2.ext.Extension):
    """Replaces ``{{ style.<name> }}`` by its CSS when a template is compiled (an unknown name fails then)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return _STYLE_REFERENCE.sub(lambda match: STYLES[match.group(1)], source)


class _Environment(jinja2.Environment):
    """Looks keys up before attributes on plain dicts, which is what the JSON contexts are.

    jinja2 tries ``getattr`` first and falls back to ``[key]`` after an AttributeError,
    which for ``task.title`` costs an exception on every lookup. Methods (``task.get``)
    still resolve, since no context key shadows them.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _environment() -> jinja2.Environment:
    environment = _Environment(
        loader=jinja2.PackageLoader("onboarding.adapters.email", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        extensions=[_InlineStyles],
    )
    environment.filters["day"] = day
    environment.filters["done_day"] = done_day
    environment.filters["day_nb"] = day_nb
    environment.filters["done_day_nb"] = done_day_nb
    environment.filters["count_of"] = count_of
    environment.filters["linked"] = linked
    environment.tests["overdue"] = is_overdue
    environment.globals["count_of"] = count_of
    return environment


def _templates() -> dict[MessageKind, tuple[jinja2.Template, jinja2.Template]]:
    """Each kind's plain-text and HTML templates, compiled, with the shared macros of their part as ``show``.

    The macros are made once and given to the templates as a global rather than imported by each: an
    ``{% import %}`` finds and checks the macros' template again at every render, which costs about as much
    as rendering a short email.
    """
    environment = _environment()
    shown = {part: environment.get_template(f"macros.{part}.j2").module for part in ("txt", "html")}
    return {
        kind: (
            environment.get_template(f"{kind.value}.txt.j2", globals={"show": shown["txt"]}),
            environment.get_template(f"{kind.value}.html.j2", globals={"show": shown["html"]}),
        )
        for kind in EMAIL_KINDS
    }


class MessageRenderer:
    """Renders outgoing messages into complete emails from one sender.

    ``domain`` is the right-hand side of Message-IDs; ``unsubscribe_url`` the base of
    the one-click unsubscribe link of customer emails (``?token=<token>`` is appended,
    the token signed with ``unsubscribe_secret``); ``unsubscribe_mailto`` the address
    of its mailto: form (the sender's by default). With ``customer_links``, a customer
    email also links its recipient to their status page, to done, stuck and snooze on
    each of their open tasks it lists, and to the calendar feeds (``mail.links``).
    """

    def __init__(
        self,
        *,
        sender: Person,
        domain: str,
        unsubscribe_url: str,
        unsubscribe_secret: bytes,
        product_name: str,
        unsubscribe_mailto: str | None = None,
        customer_links: CustomerLinkSigner | None = None,
    ) -> None:
        if not unsubscribe_secret:
            raise ValueError("unsubscribe links need a secret key")
        self.sender = sender
        self.domain = domain
        self.unsubscribe_url = unsubscribe_url
        self._unsubscribe_secret = unsubscribe_secret
        self.product_name = product_name
        self.customer_links = customer_links
        # RFC 6068: in a mailto: URL, an address's characters beyond some-delims are percent-encoded
        self.unsubscribe_mailto = quote(_address_spec(unsubscribe_mailto or sender.email), safe="!$'()*+,;:@-._~")
        self._from = _address_list("From", [(sender.name, sender.email)])
        self._reply_to = _address_list("Reply-To", [(sender.name, sender.email)])
        self._separator = "&" if "?" in unsubscribe_url else "?"
        self._reply_to_lines: dict[str, str] = {}
        self._templates = _templates()

    def unsubscribe_token(self, message: OutgoingMessage) -> str:
        """The signed token naming the message's first addressee and its project."""
        address = _address_spec(message.to[0].email)  # refuses what cannot be addressed, as the To header does
        return unsubscribe_token(self._unsubscribe_secret, email=address, project_id=message.project_id)

    def unsubscribe_link(self, message: OutgoingMessage) -> str:
        """The one-click unsubscribe URL of a customer message (its token is URL-safe as it is)."""
        return f"{self.unsubscribe_url}{self._separator}token={self.unsubscribe_token(message)}"

    def _reply_to_header(self, reply_to: str) -> str:
        line = self._reply_to_lines.get(reply_to)
        if line is not None:
            return line
        people = mailbox_list(reply_to, source="Reply-To")
        if not people:
            raise ValueError(f"cannot read a Reply-To address in {reply_to!r}")
        line = _address_list(
            "Reply-To",
            [
                (self.sender.name if not name and address == self.sender.email else name, address)
                for name, address in people
            ],
        )
        if len(self._reply_to_lines) < _REMEMBERED_REPLY_TO:
            self._reply_to_lines[reply_to] = line
        return line

    def render_parts(self, message: OutgoingMessage) -> tuple[str, str]:
        """The plain-text and HTML bodies of a message (its context must fit its template)."""
        token = self.unsubscribe_token(message) if message.customer_facing and message.to else None
        return self._render_parts(message, unsubscribe_token=token)

    def _render_parts(self, message: OutgoingMessage, *, unsubscribe_token: str | None) -> tuple[str, str]:
        text_template, html_template = self._templates[message.kind]
        mail = MailInfo(
            self.product_name,
            message.subject,
            self.sender.name,
            self.sender.email,
            f"{self.unsubscribe_url}{self._separator}token={unsubscribe_token}" if unsubscribe_token else None,
            self.customer_links.for_recipient(message.to[0].email)
            if self.customer_links is not None and message.customer_facing and message.to
            else None,
        )
        try:
            return text_template.render(message.context, mail=mail), html_template.render(message.context, mail=mail)
        except jinja2.UndefinedError as error:
            error.add_note(f"rendering the {message.kind.value} message {message.idempotency_key!r}")
            raise

    def prepare(self, messages: Sequence[OutgoingMessage]) -> None:
        """Read the link keys of these messages' projects at once (customer emails, with a signer), for their
        renders to use until the next ``prepare``."""
        if self.customer_links is not None:
            self.customer_links.prepare(
                m.project_id for m in messages if m.customer_facing and m.to and m.project_id is not None
            )

    def render(self, message: OutgoingMessage, *, now: datetime) -> bytes:
        """The complete email (CRLF line endings) for ``message``, dated ``now`` (an aware datetime)."""
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"the Date of a message needs an aware datetime, got {now!r}")
        if not message.to:
            raise ValueError(f"message {message.idempotency_key!r} has no recipients")
        token = self.unsubscribe_token(message) if message.customer_facing else None  # signed once, used twice
        text, html = self._render_parts(message, unsubscribe_token=token)
        key = message.idempotency_key
        digest = key_digest(key)
        boundary = f"=_{digest[:32]}"
        headers = [
            self._from,
            _address_list("To", [(person.name, person.email) for person in message.to]),
        ]
        if message.cc:
            headers.append(_address_list("Cc", [(person.name, person.email) for person in message.cc]))
        headers.append(self._reply_to_header(message.reply_to) if message.reply_to else self._reply_to)
        headers += [
            _unstructured("Subject", message.subject),
            f"Date: {format_datetime(now)}",
            f"Message-ID: {message_id(key, domain=self.domain)}",  # never folded: readers would keep the space
            "MIME-Version: 1.0",
            "Auto-Submitted: auto-generated",
            _unstructured("X-Onboarding-Key", key),
        ]
        if token is not None:
            mailto = f"mailto:{self.unsubscribe_mailto}?subject=unsubscribe%20{token}"  # URL-safe: no quoting
            link = f"{self.unsubscribe_url}{self._separator}token={token}"
            headers.append(_folded_list("List-Unsubscribe", [f"<{link}>", f"<{mailto}>"]))
            headers.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
        content_type = f'Content-Type: multipart/alternative;{CRLF} boundary="{boundary}"'
        text_encoding, text_body = _encode_body(text, boundary=boundary, markup=False)
        html_encoding, html_body = _encode_body(html, boundary=boundary, markup=True)
        attachments = message.context.get("attachments")
        if attachments:  # the alternative becomes the first part of a multipart/mixed, then the files
            mixed = f"{boundary}m"  # not hex: no line of the alternative part can begin with it
            headers.append(f'Content-Type: multipart/mixed;{CRLF} boundary="{mixed}"')
            head, tail = f"--{mixed}{CRLF}{content_type}", _attachment_parts(attachments, boundary=mixed)
        else:
            headers.append(content_type)
            head, tail = "", b""
        return b"".join(
            (
                CRLF.join(headers).encode("ascii"),
                (
                    f"{CRLF}{CRLF}{head}{CRLF + CRLF if head else ''}--{boundary}{CRLF}"
                    f'Content-Type: text/plain; charset="utf-8"{CRLF}'
                    f"Content-Transfer-Encoding: {text_encoding}{CRLF}{CRLF}"
                ).encode("ascii"),
                text_body,
                (
                    f"{CRLF}--{boundary}{CRLF}"
                    f'Content-Type: text/html; charset="utf-8"{CRLF}'
                    f"Content-Transfer-Encoding: {html_encoding}{CRLF}{CRLF}"
                ).encode("ascii"),
                html_body,
                f"{CRLF}--{boundary}--{CRLF}".encode("ascii"),
                tail,
            )
        )


# -- headers ------------------------------------------------------------------


def _date_header(now: datetime) -> str:
    """``Date: Tue, 16 Mar 2027 17:00:00 +0000``: to the second, as RFC 5322 writes it (a batch shares it)."""
    return _date_line(now.replace(microsecond=0), now.utcoffset())


@lru_cache(maxsize=8)
def _date_line(now: datetime, offset: timedelta | None) -> str:
    """The header of an instant in its own offset (instants that are equal in other offsets are other lines)."""
    return f"Date: {format_datetime(now)}"


def _clean(value: str) -> str:
    """A header value on one line: control characters (CR, LF) become spaces, runs of spaces one."""
    return " ".join(value.translate(_CONTROL_TO_SPACE).split())


def _plain(value: str) -> bool:
    """Whether a value can go into a header as it is (no encoded words needed)."""
    return value.isascii() and "=?" not in value


def _unstructured(name: str, value: str) -> str:
    """``Name: value`` for free text, encoded (RFC 2047) and folded as needed."""
    value = _clean(value)
    if _plain(value):
        if len(name) + 2 + len(value) <= MAX_LINE:
            return f"{name}: {value}"
        words = value.split(" ")
        if max(map(len, words)) <= _MAX_WORD:
            return _fold_words(name, words)
    return f"{name}: " + _encoded_words(value, first_line_used=len(name) + 2)


def _fold_words(name: str, words: Sequence[str]) -> str:
    """ASCII text folded before spaces so that lines keep within 78 columns where words allow."""
    lines: list[str] = []
    head = line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > MAX_LINE and line not in (head, ""):
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return CRLF.join(lines)


def _encoded_words(value: str, *, first_line_used: int) -> str:
    """``value`` as RFC 2047 encoded words (UTF-8, base64), one per folded line.

    Each word holds whole characters and is at most 75 characters long; the first
    one is shortened to fit after ``first_line_used`` columns. Decoders join adjacent
    encoded words without the folding whitespace between them.
    """
    budget = min(_WORD_BYTES, max(4, (MAX_LINE - first_line_used - _WORD_FRAME) // 4 * 3))
    words: list[str] = []
    start = 0
    while start < len(value):
        end = min(len(value), start + budget)  # at most one byte a character
        data = value[start:end].encode("utf-8")
        while len(data) > budget:  # drop characters (at most four bytes each) until it fits
            end = max(start + 1, end - max(1, (len(data) - budget) // 4))
            data = value[start:end].encode("utf-8")
        words.append(_encoded_word(data))
        start, budget = end, _WORD_BYTES
    return f"{CRLF} ".join(words)


def _encoded_word(data: bytes) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(data, newline=False).decode('ascii')}?="


def _address_spec(address: str) -> str:
    """The addr-spec the headers carry, by the engine's one address rule (``core/addresses``).

    The rule is the one every entry point applies, so an address accepted there
    renders here; anything else (stored before the rule, or made up in code) raises
    ``AddressInvalid`` (a ValueError) rather than being changed into another address.
    """
    return canonical_address(address, source="email header")


@lru_cache(maxsize=4096)
def _mailbox(name: str, address: str) -> str:
    """``Name <user@domain>`` with the name quoted or encoded as needed, folded to fit after any header name.

    The pair is checked by the address rule: a control character in the name or the
    address is refused (``AddressInvalid``), never turned into a space.
    """
    name, address = mailbox(name, address, source="email header")
    name = _clean(name)
    if not name:
        return address
    if _plain(name) and len(name) <= _MAX_WORD:
        return formataddr((name, address))
    words = _encoded_words(name, first_line_used=_LONGEST_ADDRESS_HEADER)
    last_line = words.rpartition(CRLF)[2]
    used = len(last_line) + (_LONGEST_ADDRESS_HEADER if last_line == words else 0)
    if used + len(address) + 3 > MAX_LINE:
        return f"{words}{CRLF} <{address}>"
    return f"{words} <{address}>"


def _address_list(name: str, people: Iterable[tuple[str, str]]) -> str:
    return _folded_list(name, [_mailbox(person, address) for person, address in people])


def _folded_list(name: str, items: Sequence[str]) -> str:
    """A comma-separated header on one line when it fits, else one item per line."""
    line = f"{name}: " + ", ".join(items)
    if len(line) <= MAX_LINE and CRLF not in line:
        return line
    return f"{name}: " + f",{CRLF} ".join(items)


# -- bodies -------------------------------------------------------------------


def _encode_body(text: str, *, boundary: str, markup: bool) -> tuple[str, bytes]:
    """The Content-Transfer-Encoding and the encoded bytes of a UTF-8 body, with CRLF line ends.

    A body that needs no encoding is sent as it is (7bit): ASCII, no NUL, no line over
    998 characters, no copy of the boundary. HTML gets there by writing non-ASCII
    characters as character references. Otherwise quoted-printable, or base64 when
    that is shorter (mostly non-ASCII text).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if markup or text.isascii():
        data = text.encode("ascii", "xmlcharrefreplace")  # a no-op on ASCII text
        if (
            b"\x00" not in data
            and boundary.encode("ascii") not in data
            and max(map(len, data.split(b"\n"))) <= MAX_BODY_LINE
        ):
            return "7bit", data.replace(b"\n", b"\r\n")
    data = text.replace("\n", CRLF).encode("utf-8")
    non_ascii = len(data) - len(data.translate(None, _HIGH_BYTES))
    if non_ascii <= _BASE64_ABOVE * len(data):
        return "quoted-printable", binascii.b2a_qp(data, istext=True)
    return "base64", base64.encodebytes(data).replace(b"\n", b"\r\n")


# -- attachments --------------------------------------------------------------

_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")


def _attachment_parts(attachments: Sequence[Mapping[str, str]], *, boundary: str) -> bytes:
    """The parts of a multipart/mixed after its first: each text file base64-encoded, then the closing line.

    An attachment is ``{filename, content_type, text}`` (``AttachmentView``); the text
    goes as UTF-8. File names are plain ASCII (no quoting or RFC 2231 needed): any
    other name is refused, since it is the engine's own.
    """
    out: list[bytes] = []
    for attachment in attachments:
        filename, content_type = attachment["filename"], attachment["content_type"]
        if _FILENAME.fullmatch(filename) is None or not re.fullmatch(r"text/[a-z0-9.+-]+", content_type):
            raise ValueError(f"cannot attach {filename!r} as {content_type!r}: a plain file name and a text type")
        body = base64.encodebytes(attachment["text"].encode("utf-8")).replace(b"\n", b"\r\n")
        out.append(
            (
                f"{CRLF}--{boundary}{CRLF}"
                f'Content-Type: {content_type}; charset="utf-8"; name="{filename}"{CRLF}'
                f'Content-Disposition: attachment; filename="{filename}"{CRLF}'
                f"Content-Transfer-Encoding: base64{CRLF}{CRLF}"
            ).encode("ascii")
            + body.rstrip(b"\r\n")
        )
    out.append(f"{CRLF}--{boundary}--{CRLF}".encode("ascii"))
    return b"".join(out)
