"""Unsubscribe tokens: signed links that say who wants no more customer emails about which project.

A token names a recipient's address and a project (empty when the email covered
several projects, as a nudge digest can) and carries an HMAC-SHA256 of both under
the engine's secret key: only the holder of the key can make a token, so nobody
can unsubscribe someone else by guessing. ``unsubscribe_token`` makes one,
``read_unsubscribe_token`` checks one and says whom it names, and
``is_valid_unsubscribe_token`` says whether one is valid for a given recipient and
project. These three are pure: the key is passed in. ``SignedUnsubscribeTokens``
reads tokens under one key for the unsubscribe service (its ``UnsubscribeTokens``).

``secret_key`` finds the key: ``ONBOARDING_SECRET_KEY`` when set, else a random key
created once in the data folder (``secret_key``, mode 0600) and read back on every
later run, so links in emails already sent stay valid.

Not here: recording the opt-out (``UnsubscribeService``), putting the link into
emails (``rendering``).
"""

from __future__ import annotations

import binascii
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from onboarding.core.customer_links import b64_data, b64_text

KEY_FILE: Final = "secret_key"
_PURPOSE: Final = b"onboarding-unsubscribe\x00"  # the same key may sign other things later
_SEPARATOR: Final = "\n"  # between project id and address in the signed text: neither can contain it
_KEY_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class UnsubscribeRequest:
    """What a valid token names: an address, and the project (``None``: every project of that address)."""

    email: str
    project_id: str | None


def _normal_email(email: str) -> str:
    return email.strip().lower()


def _signature(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _PURPOSE + payload, hashlib.sha256).digest()


def unsubscribe_token(secret: bytes, *, email: str, project_id: str | None) -> str:
    """The token for ``email`` about ``project_id`` (``None``: every project): ``<names>.<signature>``, URL-safe."""
    if not secret:
        raise ValueError("an unsubscribe token needs a secret key")
    refused = f"cannot sign an unsubscribe token for {email!r} about {project_id!r}"
    if _SEPARATOR in (project_id or "") or _SEPARATOR in email:
        raise ValueError(refused)
    try:
        payload = f"{project_id or ''}{_SEPARATOR}{_normal_email(email)}".encode()
    except UnicodeEncodeError:  # a lone surrogate (undecodable bytes read from a command line, say)
        raise ValueError(refused) from None
    return f"{b64_text(payload)}.{b64_text(_signature(secret, payload))}"


def read_unsubscribe_token(token: str, *, secret: bytes) -> UnsubscribeRequest | None:
    """Whom a token names, if ``secret`` signed it; ``None`` for anything else (forged, altered, cut short)."""
    names, dot, signature = token.strip().partition(".")
    if not dot or not secret:
        return None
    try:
        payload, claimed = b64_data(names), b64_data(signature)
    except (binascii.Error, ValueError):
        return None
    if not hmac.compare_digest(claimed, _signature(secret, payload)):
        return None
    project_id, separator, email = payload.decode("utf-8", "replace").partition(_SEPARATOR)
    if not separator or not email:
        return None
    return UnsubscribeRequest(email=email, project_id=project_id or None)


class SignedUnsubscribeTokens:
    """The tokens signed with one secret key: ``read`` says whom a token names, ``None`` if that key did not sign it."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("unsubscribe tokens need a secret key")
        self._secret = secret

    def read(self, token: str) -> UnsubscribeRequest | None:
        return read_unsubscribe_token(token, secret=self._secret)


def is_valid_unsubscribe_token(token: str, *, secret: bytes, email: str, project_id: str | None) -> bool:
    """Whether ``secret`` signed ``token`` for this recipient (any letter case) and this project."""
    request = read_unsubscribe_token(token, secret=secret)
    return request is not None and request.email == _normal_email(email) and request.project_id == (project_id or None)


def secret_key(configured: str | None, *, data_dir: Path) -> bytes:
    """The configured key, else the one kept in ``data_dir``, created there (mode 0600) the first time.

    Two processes starting at once agree on one key: each writes its own file and
    links it into place, and the one that finds a key already there reads it.
    """
    if configured:
        return configured.encode("utf-8")
    path = data_dir / KEY_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(_KEY_BYTES) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it to make a new key (links already sent stop working)")
    return key.encode("ascii")
