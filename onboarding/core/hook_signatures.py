"""Signatures of inbound hook deliveries: who may launch a project by posting to ``/hooks/launch/{source}``.

Two schemes, each a pure function of the secret, the request as it was sent and
the instant it arrived (hmac and hashlib compute; nothing here reads a clock or a
socket):

- ``generic``: the engine's own, for any system that can compute an HMAC (a
  Salesforce Flow's Apex action, a script). Headers ``X-Onboarding-Timestamp``
  (unix seconds) and ``X-Onboarding-Signature: sha256=<hex>``, the hex of
  HMAC-SHA256(secret, ``"<timestamp>.<raw body>"``), as Stripe and Standard
  Webhooks sign.
- ``hubspot``: HubSpot's v3 request signature. ``X-HubSpot-Signature-v3`` is the
  base64 of HMAC-SHA256(client secret, method + URI + raw body + timestamp), where
  ``X-HubSpot-Request-Timestamp`` is in milliseconds and the URI is the full URL
  HubSpot called (scheme, host, path, query) with a listed set of percent-encoded
  characters decoded first.

Both refuse a timestamp more than 5 minutes from now, before or after (HubSpot's
documentation refuses older ones; a timestamp from the future is refused too, so
that a captured request cannot be replayed later either), and compare signatures in
constant time. Refusals raise ``SignatureRefused`` (``signature-missing``,
``signature-invalid``, ``timestamp-invalid``, ``timestamp-stale``).

``source_problems`` checks what a source is added with: a name fit for its URL, a secret long enough, a
public URL of a scheme, a host and an optional path.

Not here: reading a source's secret (the store), what the payload means (``core.hook_mapping``).

References:
    HubSpot, "Validating requests from HubSpot", v3 signature:
    https://developers.hubspot.com/docs/apps/legacy-apps/authentication/validating-requests
    Standard Webhooks specification (the timestamp-and-body construction):
    https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum

from onboarding.errors import Problem, SignatureRefused

_TIMESTAMP_DIGITS = 20  # milliseconds since 1970 take 13 digits; a longer number is no time of signing
TOLERANCE = timedelta(minutes=5)

GENERIC_TIMESTAMP = "X-Onboarding-Timestamp"
GENERIC_SIGNATURE = "X-Onboarding-Signature"
HUBSPOT_TIMESTAMP = "X-HubSpot-Request-Timestamp"
HUBSPOT_SIGNATURE = "X-HubSpot-Signature-v3"

# HubSpot decodes these (and only these) percent-encoded characters of the URI before signing it.
HUBSPOT_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_HUBSPOT_ENCODED = re.compile("|".join(HUBSPOT_DECODED), re.IGNORECASE)


class Scheme(StrEnum):
    generic = "generic"
    hubspot = "hubspot"


_SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_PUBLIC_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")
MIN_SECRET_LENGTH = 16


def source_problems(name: str, *, secret: str, public_url: str | None) -> list[Problem]:
    """What is wrong with a source's name (part of its URL), its secret and its public URL."""
    problems: list[Problem] = []
    if not _SOURCE_NAME.fullmatch(name):
        problems.append(
            Problem(
                "invalid-value",
                f"{name!r} is not a source name",
                ("source",),
                "use up to 64 of a-z, 0-9, _ and -, starting with a letter or digit (it is part of the URL)",
            )
        )
    if len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            Problem(
                "out-of-range",
                f"the secret has {len(secret)} characters; at least {MIN_SECRET_LENGTH} are needed",
                ("secret",),
                "use the CRM's client secret, or a long random one for the generic scheme",
            )
        )
    if public_url is not None and not _PUBLIC_URL.fullmatch(public_url):
        problems.append(
            Problem(
                "invalid-value",
                f"{public_url!r} is not a URL of a scheme, a host and an optional path",
                ("public_url",),
                "give the address the CRM calls, without /hooks/launch/..., e.g. https://onboarding.example.com",
            )
        )
    return problems


def generic_signature(secret: str, *, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the secret."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def hubspot_uri(url: str) -> str:
    """The URI as HubSpot signs it: the URL with its listed percent-encodings decoded (``%3A`` -> ``:``...)."""
    return _HUBSPOT_ENCODED.sub(lambda m: HUBSPOT_DECODED[m.group(0).upper()], url)


def hubspot_v3_signature(secret: str, *, method: str, url: str, body: bytes, timestamp: str) -> str:
    """The base64 HMAC-SHA256 of method + URI + body + timestamp under the app's client secret."""
    message = method.upper().encode("utf-8") + hubspot_uri(url).encode("utf-8") + body + timestamp.encode("ascii")
    return base64.b64encode(hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()).decode("ascii")


def signed_url(seen_url: str, *, public_url: str | None) -> str:
    """The URL the sender called: ``public_url`` (scheme, host, any path prefix a proxy strips) joined to the path
    and query the server saw; the seen URL itself when there is no public one."""
    if not public_url:
        return seen_url
    rest = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*", "", seen_url)  # the path and query
    return public_url.rstrip("/") + rest


def verify_delivery(
    scheme: Scheme,
    *,
    secret: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: datetime,
) -> None:
    """Raise ``SignatureRefused`` unless the delivery carries a valid, fresh signature of ``scheme``.

    ``headers`` may be in any case; ``url`` is the URL the sender called (``signed_url``).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if scheme is Scheme.generic:
        timestamp_header, signature_header, unit = GENERIC_TIMESTAMP, GENERIC_SIGNATURE, 1
    else:
        timestamp_header, signature_header, unit = HUBSPOT_TIMESTAMP, HUBSPOT_SIGNATURE, 1000
    timestamp = lowered.get(timestamp_header.lower(), "").strip()
    given = lowered.get(signature_header.lower(), "").strip()
    missing = [name for name, value in ((timestamp_header, timestamp), (signature_header, given)) if not value]
    if missing:
        raise _refused(
            "signature-missing",
            f"the delivery has no {' and no '.join(missing)} header",
            "sign each delivery as the source's scheme says (see the README, CRM launches)",
            loc=("headers", missing[0]),
        )
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _TIMESTAMP_DIGITS:
        raise _refused(
            "timestamp-invalid",
            f"{timestamp_header} is {timestamp[:40]!r}, not a time of signing",
            "send the time of signing as unix " + ("seconds" if unit == 1 else "milliseconds"),
            loc=("headers", timestamp_header),
        )
    age_seconds = now.timestamp() - int(timestamp) / unit
    if abs(age_seconds) > TOLERANCE.total_seconds():
        when = "before" if age_seconds > 0 else "after"
        raise _refused(
            "timestamp-stale",
            f"the delivery was signed {abs(age_seconds):.0f} seconds {when} it arrived; at most "
            f"{TOLERANCE.total_seconds():.0f} are accepted",
            "sign each delivery (and each retry) when it is sent, with a clock in step with the engine's",
            loc=("headers", timestamp_header),
        )
    if scheme is Scheme.generic:
        expected = generic_signature(secret, timestamp=timestamp, body=body)
    else:
        expected = hubspot_v3_signature(secret, method=method, url=url, body=body, timestamp=timestamp)
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "replace")):
        raise _refused(
            "signature-invalid",
            f"{signature_header} does not match the delivery and the source's secret",
            "check that the sender signs with the secret the source was added with"
            + (", and that the source's public URL is the one HubSpot calls" if scheme is Scheme.hubspot else ""),
            loc=("headers", signature_header),
        )


def _refused(code: str, message: str, hint: str, *, loc: tuple[str, ...]) -> SignatureRefused:
    return SignatureRefused("delivery", (Problem(code, message, loc, hint),))
