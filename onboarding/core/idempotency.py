"""Requests that are safe to retry: a request's fingerprint, and how two requests under one key differ.

A caller that retries a write sends the same ``Idempotency-Key``; the engine keeps the
first request's canonical form (JSON-ready values: text, numbers, mappings, lists)
and its fingerprint. The same key with the same request gets the first answer; with
another request, a refusal naming each field that differs.

References: the IETF HTTPAPI draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping


def fingerprint(request: Mapping[str, object]) -> str:
    """The hex SHA-256 of the request's canonical JSON (keys sorted, no spaces)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def request_differences(first: Mapping[str, object], now: Mapping[str, object], *, prefix: str = "") -> list[str]:
    """One line per field (nested fields dotted: ``bindings.csm.email``) whose value differs, sorted."""
    lines: list[str] = []
    for name in sorted({*first, *now}):
        before, after = first.get(name), now.get(name)
        where = f"{prefix}{name}"
        if isinstance(before, Mapping) and isinstance(after, Mapping):
            lines += request_differences(before, after, prefix=f"{where}.")
        elif before != after:
            lines.append(f"{where}: first sent {json.dumps(before)}, now {json.dumps(after)}")
    return lines
