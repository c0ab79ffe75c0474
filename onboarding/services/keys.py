"""API keys: make one (shown once, kept as its SHA-256), list them, revoke one, and tell who a request's key is.

A key is ``onb_`` and 43 characters of randomness; the store never holds the key
itself, so a copy of the database lets nobody in. Scopes are ordered: ``read`` reads,
``write`` also changes projects, ``admin`` also looks after the outbox and keys.
Changes made with a key are recorded under its name.

A key found valid is remembered for ``RECHECK_SECONDS`` (one second), so that a
client sending many requests costs the store one look-up a second rather than one
per request: a key revoked by another process is refused within that second, one
revoked through this service at once. Unknown, revoked or altered keys are never
remembered: a new key works on its first request.

Not here: reading the ``Authorization`` header (the web edge), the table (``adapters/store/keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from onboarding.errors import ApiKeyRefused, NotAuthenticated, NotPermitted, Problem
from onboarding.services.ports import Clock

KEY_PREFIX = "onb_"
RECHECK_SECONDS = 1.0  # how long a key found valid is taken as valid without asking the store again
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"

    def allows(self, needed: Scope) -> bool:
        order = list(Scope)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    scope: Scope
    prefix: str  # the key's first characters: enough to recognise it, too few to use it
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class NewApiKey:
    key: ApiKey
    secret: str  # the whole key, shown once


class ApiKeyStore(Protocol):
    def add(self, key: ApiKey, *, key_hash: str) -> bool:
        """Store a new key; False (nothing stored) when its name is taken."""
        ...

    def by_hash(self, key_hash: str) -> ApiKey | None: ...

    def all(self) -> list[ApiKey]: ...

    def revoke(self, name: str, *, at: datetime) -> ApiKey | None:
        """Mark the key revoked (once: a second revoke keeps the first time); None when no key has that name."""
        ...


def key_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


class ApiKeyService:
    def __init__(self, *, store: ApiKeyStore, clock: Clock, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._monotonic = monotonic  # the memory's own clock: elapsed seconds, never the business day
        self._valid: dict[str, tuple[ApiKey, float]] = {}  # key hash -> (key, when the store said it was valid)

    def create(self, name: str, *, scope: Scope) -> NewApiKey:
        if not _NAME.fullmatch(name):
            raise ApiKeyRefused(
                "api-key",
                (
                    Problem(
                        "invalid-api-key-name",
                        f"{name!r} cannot name a key",
                        ("name",),
                        "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
                    ),
                ),
            )
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(name=name, scope=Scope(scope), prefix=secret[:10], created_at=self._clock.now())
        if not self._store.add(key, key_hash=key_hash(secret)):
            raise ApiKeyRefused(
                "api-key",
                (
                    Problem(
                        "api-key-exists",
                        f"a key named {name!r} exists or existed",
                        ("name",),
                        "choose another name; names are never reused, so that history stays unambiguous",
                    ),
                ),
            )
        return NewApiKey(key, secret)

    def list(self) -> list[ApiKey]:
        return sorted(self._store.all(), key=lambda k: (k.revoked_at is not None, k.name))

    def revoke(self, name: str) -> ApiKey:
        self._valid.clear()
        revoked = self._store.revoke(name, at=self._clock.now())
        if revoked is None:
            names = [k.name for k in self._store.all()]
            raise ApiKeyRefused(
                "api-key",
                (
                    Problem(
                        "api-key-not-found",
                        f"no key is named {name!r}",
                        ("name",),
                        f"the keys are: {', '.join(names)}" if names else "no key has been made yet",
                    ),
                ),
            )
        return revoked

    def remembered(self, secret: str | None, *, needs: Scope) -> ApiKey | None:
        """The key, checked as ``authenticate`` does, when the store found it valid within ``RECHECK_SECONDS``;
        ``None`` when only the store can tell (no I/O here: an edge may call it on its event loop)."""
        if not secret:
            return None
        found = self._valid.get(key_hash(secret))
        if found is None or self._monotonic() - found[1] >= RECHECK_SECONDS:
            return None
        return self._permitted(found[0], needs)

    def authenticate(self, secret: str | None, *, needs: Scope) -> ApiKey:
        """The key a request carries, when it is known, not revoked, and its scope allows ``needs``."""
        if (known := self.remembered(secret, needs=needs)) is not None:
            return known
        hashed = key_hash(secret) if secret else ""
        asked_at = self._monotonic()
        key = self._store.by_hash(hashed) if secret else None
        if key is None or key.revoked_at is not None or not hmac.compare_digest(key.prefix, (secret or "")[:10]):
            said = (
                "no key" if not secret else ("a revoked key" if key is not None else "a key this engine does not know")
            )
            raise NotAuthenticated(
                "request",
                (
                    Problem(
                        "not-authenticated",
                        f"the request carries {said}",
                        ("Authorization",),
                        "send a valid API key as 'Authorization: Bearer <key>'",
                    ),
                ),
            )
        if len(self._valid) >= 1024:  # a bound on the memory: keys in use come back within a second
            self._valid.clear()
        self._valid[hashed] = (key, asked_at)
        return self._permitted(key, needs)

    @staticmethod
    def _permitted(key: ApiKey, needs: Scope) -> ApiKey:
        if not key.scope.allows(needs):
            raise NotPermitted(
                "request",
                (
                    Problem(
                        "not-permitted",
                        f"the key {key.name!r} has scope {key.scope.value}; this request needs {needs.value}",
                        ("Authorization",),
                        f"use a key with scope {needs.value} or above",
                    ),
                ),
            )
        return key
