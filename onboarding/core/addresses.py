"""Email addresses and display names: the one rule for what the engine accepts, sends and stores.

Every place that turns text into a ``Person`` (``launch --bind``, the launch
service, ``ONBOARDING_MANAGERS``, ``ONBOARDING_SENDER_*``) and the email renderer
use this module, so an address accepted at entry always renders, and one the
renderer would refuse never gets in.

The rule (``mailbox``):

- An address is ``local@domain``. The local part is an ASCII dot-atom (letters,
  digits and ``!#$%&'*+-/=?^_`{|}~``, in dot-separated runs), at most 64
  characters. Quoted local parts (``"a:b"@x.example``) and non-ASCII ones
  (``jürgen@x.example``) are refused: they need SMTPUTF8 from every server on the
  way, which the engine does not ask for; the hint says to give an ASCII address.
- The domain is a host name: dot-separated labels of letters, digits and hyphens
  (no hyphen at either end), each at most 63 characters; one label is enough
  (``onboarding@localhost``). A non-ASCII domain (``lee@bücher.example``) is
  accepted and stored in its ASCII form (IDNA 2008 with UTS 46 mapping:
  ``lee@xn--bcher-kva.example``), which names the same mailbox and is what SMTP,
  the headers and the unsubscribe tokens carry. Address literals (``[10.0.0.1]``)
  are refused. The whole address is at most 254 characters.
- Control characters (C0, DEL, C1, the Unicode line and paragraph separators) and
  lone surrogates are refused anywhere, in names too, never replaced by spaces:
  a name or address that changed on the way would no longer be the one given.
  Names are otherwise free text, at most 200 characters (a name is optional).

``reply_to_text`` writes a Reply-To list within the outbox's 320 characters.
``mailbox_text`` writes a (name, address) pair as ``Name <address>`` (quoting the
name when it needs it) and ``mailbox_list`` reads a comma-separated list of them
back, so ``mailbox_list(mailbox_text(n, a)) == ((n, a),)`` for every pair the rule
accepts.

References: RFC 5322 §3.2.3 (atext, dot-atom) and §3.4 (mailbox, name-addr);
RFC 5321 §4.5.3.1 (64-character local part, 254-character path); RFC 5890-5891
and UTS #46 (IDNA 2008, the ``idna`` package: Python's own codec is IDNA 2003,
which turns ``faß.de`` into ``fass.de``, another domain); RFC 6531 (SMTPUTF8, not
used).

``person_problems`` checks the people bound to roles (name, address, and that the
time zone is an IANA name); ``canonical_person`` is how they are stored.

Not here: MIME headers and their encoding (adapters/email/rendering).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import idna

from onboarding.core.messages import Person
from onboarding.errors import AddressInvalid, Loc, Problem

MAX_LOCAL: Final = 64
MAX_ADDRESS: Final = 254
MAX_NAME: Final = 200
MAX_ZONE: Final = 64
MAX_REPLY_TO: Final = 320  # the longest Reply-To the outbox keeps
ATEXT: Final = "!#$%&'*+-/=?^_`{|}~"
_ATOM = r"[A-Za-z0-9" + re.escape(ATEXT) + r"]+"
_DOT_ATOM = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Zl", "Zp", "Cs"})
_NEEDS_QUOTES = re.compile(r"[^A-Za-z0-9" + re.escape(ATEXT) + r" ]")


def control_character(text: str) -> str | None:
    """The first control character (or line separator, or lone surrogate) in ``text``, if any."""
    if text.isprintable():  # no Cc, Zl, Zp or Cs character (nor others the rule allows): the usual case
        return None
    return next((char for char in text if unicodedata.category(char) in _REFUSED_CATEGORIES), None)


def address_problem(address: str) -> tuple[str, str] | None:
    """Why ``address`` cannot be used, as (message, hint); None when it can."""
    return _checked(address)[0]


def _checked(address: str) -> tuple[tuple[str, str] | None, str]:
    """(why ``address`` cannot be used, as (message, hint), or None; its canonical form when it can), in one pass."""
    char = control_character(address)
    if char is not None:
        return (
            f"{address!r} contains the control character {char!r}",
            "remove it; nothing is sent to a changed address",
        ), address
    if address != address.strip(" "):
        return (f"{address!r} has spaces around it", "remove them"), address
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return (f"{address!r} is not an email address", "write it as name@example.com"), address
    if local.startswith('"'):
        return (
            f"{address!r} has a quoted local part",
            "give an address without quotes, such as name@example.com",
        ), address
    if not local.isascii():
        return (
            f"{address!r} has a non-ASCII local part, which needs SMTPUTF8",
            "give an ASCII address for this person; only the domain may be non-ASCII",
        ), address
    if _DOT_ATOM.fullmatch(local) is None:
        return (
            f"{address!r}: {local!r} is not a plain local part",
            f"use letters, digits, dots (not first, last or doubled) and {ATEXT}",
        ), address
    if len(local) > MAX_LOCAL:
        return (f"{address!r}: the local part is longer than {MAX_LOCAL} characters", "give a shorter address"), address
    ascii_domain = _ascii_domain(domain)
    if ascii_domain is None:
        return (
            f"{address!r}: {domain!r} is not a domain name",
            "letters, digits and hyphens in dot-separated labels, such as example.com",
        ), address
    if len(local) + 1 + len(ascii_domain) > MAX_ADDRESS:
        return (f"{address!r} is longer than {MAX_ADDRESS} characters", "give a shorter address"), address
    return None, f"{local}@{ascii_domain}"


def canonical_address(address: str, *, loc: Loc = (), source: str = "address") -> str:
    """The address as the engine stores and sends it (its domain in ASCII); raises ``AddressInvalid``."""
    problem, canonical = _checked(address)
    if problem is not None:
        raise AddressInvalid(source, (Problem("invalid-address", problem[0], loc, problem[1]),))
    return canonical


def name_problem(name: str) -> tuple[str, str] | None:
    """Why ``name`` cannot be a display name, as (message, hint); None when it can."""
    char = control_character(name)
    if char is not None:
        return f"the name {name!r} contains the control character {char!r}", "remove it"
    if len(name) > MAX_NAME:
        return f"the name is longer than {MAX_NAME} characters", "give a shorter name"
    return None


def mailbox(name: str, address: str, *, loc: Loc = (), source: str = "address") -> tuple[str, str]:
    """A (name, address) pair checked by the rule: the name without surrounding spaces, the address canonical.

    Every problem of the pair is reported at once (``AddressInvalid``, codes
    ``invalid-name`` and ``invalid-address``).
    """
    problems: list[Problem] = []
    found = name_problem(name)
    if found is not None:
        problems.append(Problem("invalid-name", found[0], loc, found[1]))
    found, canonical = _checked(address)
    if found is not None:
        problems.append(Problem("invalid-address", found[0], loc, found[1]))
    if problems:
        raise AddressInvalid(source, tuple(problems))
    return name.strip(" "), canonical


def parse_mailbox(text: str, *, loc: Loc = (), source: str = "address") -> tuple[str, str]:
    """``Name <address>``, ``"Quoted, Name" <address>`` or a bare address, read by the rule."""
    char = control_character(text)
    if char is not None:
        problem = Problem("invalid-address", f"{text!r} contains the control character {char!r}", loc, "remove it")
        raise AddressInvalid(source, (problem,))
    text = text.strip(" ")
    if text.endswith(">"):
        head, bracket, address = text[:-1].rpartition("<")
        if not bracket:
            raise AddressInvalid(source, (_unreadable(text, loc),))
        name = head.strip(" ")
        if name.startswith('"'):
            unquoted = _unquote(name)
            if unquoted is None:
                raise AddressInvalid(source, (_unreadable(text, loc),))
            name = unquoted
        elif '"' in name or "<" in name or ">" in name:
            raise AddressInvalid(source, (_unreadable(text, loc),))
        return mailbox(name, address, loc=loc, source=source)
    if "<" in text or ">" in text:
        raise AddressInvalid(source, (_unreadable(text, loc),))
    return mailbox("", text, loc=loc, source=source)


def mailbox_list(text: str, *, source: str = "addresses") -> tuple[tuple[str, str], ...]:
    """A comma-separated list of mailboxes (commas inside quoted names kept); every bad entry reported at once."""
    out: list[tuple[str, str]] = []
    problems: list[Problem] = []
    for index, entry in enumerate(_entries(text)):
        try:
            out.append(parse_mailbox(entry, loc=(index,), source=source))
        except AddressInvalid as error:
            problems += error.problems
    if problems:
        raise AddressInvalid(source, tuple(problems))
    return tuple(out)


def mailbox_text(name: str, address: str) -> str:
    """``Name <address>`` (the name quoted when it holds anything but atext and spaces), or the bare address."""
    if not name:
        return address
    if _NEEDS_QUOTES.search(name) is None and name == name.strip(" ") and "  " not in name:
        return f"{name} <{address}>"
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{quoted}" <{address}>'


def person_problems(people: Mapping[str, Person]) -> list[Problem]:
    """What is wrong with each person bound to a role (name, address, time zone), located at ``bind.<role>``."""
    problems: list[Problem] = []
    for role, person in people.items():
        loc: Loc = ("bind", role)
        found = name_problem(person.name)
        if found is not None:
            problems.append(Problem("invalid-name", found[0], loc, found[1]))
        found = address_problem(person.email)
        if found is not None:
            problems.append(Problem("invalid-address", found[0], loc, found[1]))
        if not known_zone(person.timezone):
            problems.append(
                Problem(
                    "invalid-time-zone",
                    f"unknown time zone {person.timezone!r}",
                    loc,
                    "use an IANA name such as Europe/Berlin",
                )
            )
    return problems


def canonical_person(person: Person) -> Person:
    """The person as the engine stores them: name without surrounding spaces, address canonical (checked first)."""
    name, address = mailbox(person.name, person.email)
    return person if (name, address) == (person.name, person.email) else person._replace(name=name, email=address)


def reply_to_text(people: Iterable[tuple[str, str]], *, limit: int = MAX_REPLY_TO) -> str | None:
    """A Reply-To list of (name, address) pairs in at most ``limit`` characters (what the outbox keeps).

    Each mailbox goes with its name when that fits, else as its bare address (at most
    254 characters). The list stops at the first mailbox that does not fit at all, so
    that it is always the first contacts in their order, never a later one without an
    earlier (the email's text still names them all). None when the list is empty.
    """
    out: list[str] = []
    used = 0
    for name, address in people:
        separator = 2 if out else 0
        text = next((t for t in (mailbox_text(name, address), address) if used + separator + len(t) <= limit), None)
        if text is None:
            break
        out.append(text)
        used += separator + len(text)
    return ", ".join(out) or None


# -- pieces --------------------------------------------------------------------------


def known_zone(name: str) -> bool:
    if control_character(name) is not None or not name or len(name) > MAX_ZONE:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@lru_cache(maxsize=4096)  # a few domains recur in every email (the vendor's, each customer's)
def _ascii_domain(domain: str) -> str | None:
    """The domain in ASCII (A-labels), or None when it is not a host name."""
    if not domain.isascii():
        # Mapped as a whole (UTS 46: case, full-width dots), then only the labels that are not ASCII are
        # encoded by IDNA 2008: an ASCII label is taken as it is, as in a domain that is all ASCII.
        try:
            mapped = idna.uts46_remap(domain, std3_rules=True, transitional=False)
            domain = ".".join(
                label if label.isascii() else idna.alabel(label).decode("ascii") for label in mapped.split(".")
            )
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    if len(domain) > MAX_ADDRESS - 2:
        return None
    labels = domain.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return domain


def _unquote(name: str) -> str | None:
    """The text of a quoted name (``\\"`` and ``\\\\`` unescaped); None when the quotes do not close it."""
    if len(name) < 2 or not name.endswith('"'):
        return None
    out: list[str] = []
    escaped = False
    for char in name[1:-1]:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return None
        else:
            out.append(char)
    return None if escaped else "".join(out)


def _unreadable(text: str, loc: Loc) -> Problem:
    return Problem(
        "invalid-address",
        f"cannot read a name and an address in {text!r}",
        loc,
        'write "Name <name@example.com>", quoting a name that has a comma or angle brackets',
    )


def _entries(text: str) -> list[str]:
    """The comma-separated entries, keeping commas inside quoted names."""
    entries, current, quoted, escaped = [], "", False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            entries.append(current)
            current = ""
        else:
            current += char
    entries.append(current)
    return [entry for entry in entries if entry.strip(" ")]
