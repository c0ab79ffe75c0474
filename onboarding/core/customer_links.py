"""Customer links: signed tokens that let one customer person see and act on one project, with no account.

A token names a project, the generation of the project's link key and a person
(their email address, in lower case), and carries an HMAC-SHA256 of those names
under a key derived from two secrets: the engine's secret key and the project's
own link key (a random value kept with the project). ``customer_link_token`` makes
one; ``read_customer_link`` checks one against the project's current key and state
and says whom it names, or refuses it with one problem code:

- ``customer-link-invalid``: not a token this engine made, or altered or cut short
  (the signature does not match, or the token cannot be read);
- ``customer-link-revoked``: made under an earlier link key of the project (the key
  was rotated: every link of the project made before stops working);
- ``customer-link-expired``: the project ended: cancelled, or completed more than
  ``EXPIRY_GRACE_DAYS`` days ago (a completed onboarding stays visible for a month).

Changing any character of a token, or naming another project, generation or
person, breaks its signature; the project's link key enters the signing key, so a
token for one project can never open another even under the same engine secret.

The module is pure: secrets, keys, the project's state and today are passed in.

Not here: where the keys are kept (the store), who counts as the project's
customer people and what they may see (``services/customer_links``), URLs (web).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from onboarding.core.lifecycle import ProjectState
from onboarding.errors import CustomerLinkRefused, Problem

VERSION: Final = "c1"  # the token format; a token of another format is not read
EXPIRY_GRACE_DAYS: Final = 30  # a completed project's links keep showing its status this long after it completed
LINK_KEY_BYTES: Final = 32
_PURPOSE: Final = b"onboarding-customer-link\x00"  # the engine's secret signs other things too
_CSRF_PURPOSE: Final = b"onboarding-customer-form\x00"
_SEPARATOR: Final = "\n"  # between the names in the signed text: none of them can contain it

INVALID: Final = "customer-link-invalid"
REVOKED: Final = "customer-link-revoked"
EXPIRED: Final = "customer-link-expired"


@dataclass(frozen=True, slots=True)
class LinkKey:
    """A project's link key: the random value that enters the signing key, and its generation (1, then +1 at
    each rotation), which tokens carry so that one made under an earlier key is told apart from a forged one."""

    value: bytes
    generation: int


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """What a token names: a project, the link-key generation it was made under, a person's address."""

    project_id: str
    generation: int
    email: str


_B64_TEXT = re.compile(r"[A-Za-z0-9_-]*")


def b64_text(data: bytes) -> str:
    """``data`` as URL-safe base64 without padding: how a token writes its parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64_data(text: str) -> bytes:
    """The bytes ``b64_text`` wrote as ``text``; ``ValueError`` for anything else: a character outside the
    alphabet, padding, or spare bits set (so that each token has one spelling, and a changed character is
    never the same token)."""
    if not _B64_TEXT.fullmatch(text):
        raise ValueError("not URL-safe base64 without padding")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64_text(data) != text:
        raise ValueError("not the one way base64 writes these bytes")
    return data


def normal_email(email: str) -> str:
    return email.strip().lower()


def _signing_key(secret: bytes, link_key: LinkKey) -> bytes:
    return hmac.new(secret, _PURPOSE + link_key.value, hashlib.sha256).digest()


def _payload(link: CustomerLink) -> bytes:
    return _SEPARATOR.join((VERSION, link.project_id, str(link.generation), link.email)).encode("utf-8")


def customer_link_token(secret: bytes, link_key: LinkKey, *, project_id: str, email: str) -> str:
    """The token for ``email`` on ``project_id`` under the project's current ``link_key``: ``<names>.<signature>``,
    URL-safe."""
    if not secret or not link_key.value:
        raise ValueError("a customer link needs the engine's secret and the project's link key")
    email = normal_email(email)
    if not email or _SEPARATOR in email or _SEPARATOR in project_id or not project_id:
        raise ValueError(f"cannot sign a customer link for {email!r} on {project_id!r}")
    try:
        payload = _payload(CustomerLink(project_id, link_key.generation, email))
    except UnicodeEncodeError:
        raise ValueError(f"cannot sign a customer link for {email!r} on {project_id!r}") from None
    signature = hmac.new(_signing_key(secret, link_key), payload, hashlib.sha256).digest()
    return f"{b64_text(payload)}.{b64_text(signature)}"


def link_names(token: str) -> CustomerLink | None:
    """What a token claims to name, unchecked (to find the project whose key checks it); ``None`` when it cannot
    be read as a token at all."""
    names, dot, signature = token.strip().partition(".")
    if not dot or not names or not signature:
        return None
    try:
        text = b64_data(names).decode("utf-8")
        b64_data(signature)
    except (binascii.Error, ValueError):
        return None
    parts = text.split(_SEPARATOR)
    if (
        len(parts) != 4
        or parts[0] != VERSION
        or not parts[1]
        or not parts[3]
        or not (parts[2].isascii() and parts[2].isdigit())
    ):
        return None
    return CustomerLink(project_id=parts[1], generation=int(parts[2]), email=parts[3])


def read_customer_link(
    token: str,
    *,
    secret: bytes,
    link_key: LinkKey | None,
    project_state: ProjectState,
    ended_on: date | None,
    today: date,
) -> CustomerLink:
    """Whom a valid token names; raises ``CustomerLinkRefused`` with the one code that says why it is refused.

    ``link_key`` is the current key of the project the token names (``None``: it has none, so no link of it was
    ever made); ``ended_on`` the day a completed project completed.
    """
    claimed = link_names(token)
    if claimed is None or link_key is None or not secret:
        raise refused(INVALID)
    if claimed.generation != link_key.generation:
        if 0 < claimed.generation < link_key.generation:
            raise refused(REVOKED)
        raise refused(INVALID)
    names, _dot, signature = token.strip().partition(".")
    expected = hmac.new(_signing_key(secret, link_key), b64_data(names), hashlib.sha256).digest()
    if not hmac.compare_digest(b64_data(signature), expected):
        raise refused(INVALID)
    if is_expired(project_state, ended_on=ended_on, today=today):
        raise refused(EXPIRED)
    return claimed


def is_expired(project_state: ProjectState, *, ended_on: date | None, today: date) -> bool:
    """Whether a project's links no longer open: cancelled, or completed ``EXPIRY_GRACE_DAYS`` days ago or more."""
    if project_state is ProjectState.cancelled:
        return True
    if project_state is ProjectState.completed:
        return ended_on is None or today >= ended_on + timedelta(days=EXPIRY_GRACE_DAYS)
    return False


def form_token(secret: bytes, *, link_token: str, action: str, task_key: str) -> str:
    """The anti-forgery value a confirmation form carries: an HMAC of the link token, the action and the task, so
    that only a page served for that link can post that action (another site cannot make it without the link)."""
    text = _SEPARATOR.join((link_token, action, task_key)).encode("utf-8", "replace")
    return b64_text(hmac.new(secret, _CSRF_PURPOSE + text, hashlib.sha256).digest())


def is_form_token(value: str | None, secret: bytes, *, link_token: str, action: str, task_key: str) -> bool:
    if not value:
        return False
    expected = form_token(secret, link_token=link_token, action=action, task_key=task_key)
    return hmac.compare_digest(value.encode("ascii", "replace"), expected.encode("ascii"))


_REFUSALS: Final[dict[str, tuple[str, str]]] = {
    INVALID: (
        "this link was not made by this engine, or was altered or cut short",
        "open the link straight from the email, or copy all of it",
    ),
    REVOKED: (
        "this link was withdrawn: the project's links were renewed after it was sent",
        "use the link in the latest email about the onboarding, or ask your contact for a new one",
    ),
    EXPIRED: (
        "this onboarding has ended, so its links no longer open",
        "ask your contact at the vendor if you need anything about it",
    ),
}


def refused(code: str) -> CustomerLinkRefused:
    message, hint = _REFUSALS[code]
    return CustomerLinkRefused("link", (Problem(code, message, ("token",), hint),))


# -- where the links lead (paths under the public URL; tokens and task keys are URL-safe as they are) ----------


def status_path(token: str) -> str:
    return f"/c/{token}"


def action_path(token: str, task_key: str, action: str) -> str:
    return f"/c/{token}/tasks/{task_key}/{action}"


def project_calendar_path(token: str) -> str:
    return f"/c/{token}/project.ics"


def person_calendar_path(token: str) -> str:
    return f"/c/{token}/mine.ics"
