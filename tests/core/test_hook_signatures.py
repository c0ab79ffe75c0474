"""Signatures of inbound hook deliveries: vectors computed here with hmac, the 5-minute tolerance, forgeries."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from onboarding.core.hook_signatures import (
    Scheme,
    generic_signature,
    hubspot_uri,
    hubspot_v3_signature,
    signed_url,
    verify_delivery,
)
from onboarding.errors import SignatureRefused

NOW = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
SECRET = "shh-0123456789"  # noqa: S105 - a test secret
BODY = b'{"objectId": 42, "properties": {"dealname": "Acme"}}'
URL = "https://onboarding.example.com/hooks/launch/hubspot"


def generic_headers(*, at: datetime = NOW, secret: str = SECRET, body: bytes = BODY) -> dict[str, str]:
    ts = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Onboarding-Timestamp": ts, "X-Onboarding-Signature": f"sha256={digest}"}


def hubspot_headers(*, at: datetime = NOW, url: str = URL, secret: str = SECRET, body: bytes = BODY) -> dict[str, str]:
    ts = str(int(at.timestamp() * 1000))
    source = b"POST" + url.encode() + body + ts.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), source, hashlib.sha256).digest()).decode()
    return {"X-HubSpot-Request-Timestamp": ts, "X-HubSpot-Signature-v3": signature}


def verify(scheme: Scheme, headers: dict[str, str], *, body: bytes = BODY, url: str = URL, now: datetime = NOW) -> None:
    verify_delivery(scheme, secret=SECRET, method="POST", url=url, headers=headers, body=body, now=now)


def codes(scheme: Scheme, headers: dict[str, str], **more: object) -> list[str]:
    with pytest.raises(SignatureRefused) as caught:
        verify(scheme, headers, **more)  # type: ignore[arg-type]
    return caught.value.codes


def test_generic_signature_is_hex_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert generic_signature("k", timestamp="1700000000", body=b"{}") == f"sha256={expected}"


def test_hubspot_signature_is_base64_hmac_of_method_uri_body_timestamp() -> None:
    expected = base64.b64encode(
        hmac.new(b"k", b"POSThttps://h.example/x?a=b{}1700000000000", hashlib.sha256).digest()
    ).decode()
    got = hubspot_v3_signature("k", method="post", url="https://h.example/x?a=b", body=b"{}", timestamp="1700000000000")
    assert got == expected


def test_valid_deliveries_pass_in_any_header_case() -> None:
    verify(Scheme.generic, generic_headers())
    verify(Scheme.generic, {k.lower(): v for k, v in generic_headers().items()})
    verify(Scheme.hubspot, hubspot_headers())
    verify(Scheme.hubspot, {k.upper(): v for k, v in hubspot_headers().items()})


def test_within_five_minutes_either_way_passes_and_beyond_is_stale() -> None:
    verify(Scheme.generic, generic_headers(at=NOW - timedelta(seconds=300)))
    verify(Scheme.hubspot, hubspot_headers(at=NOW + timedelta(seconds=299)))
    assert codes(Scheme.generic, generic_headers(at=NOW - timedelta(seconds=301))) == ["timestamp-stale"]
    assert codes(Scheme.generic, generic_headers(at=NOW + timedelta(minutes=6))) == ["timestamp-stale"]
    assert codes(Scheme.hubspot, hubspot_headers(at=NOW - timedelta(minutes=5, seconds=1))) == ["timestamp-stale"]


def test_hubspot_timestamp_is_milliseconds_not_seconds() -> None:
    headers = hubspot_headers()
    headers["X-HubSpot-Request-Timestamp"] = str(int(NOW.timestamp()))  # seconds: read as 1970
    assert codes(Scheme.hubspot, headers) == ["timestamp-stale"]


@pytest.mark.parametrize("scheme", list(Scheme))
def test_forgeries_are_refused(scheme: Scheme) -> None:
    make = generic_headers if scheme is Scheme.generic else hubspot_headers
    assert codes(scheme, make(secret="another secret")) == ["signature-invalid"]  # noqa: S106
    assert codes(scheme, make(), body=BODY.replace(b"Acme", b"Evil")) == ["signature-invalid"]
    assert codes(scheme, {}) == ["signature-missing"]
    headers = make()
    headers[next(k for k in headers if "Timestamp" in k)] = "yesterday"
    assert codes(scheme, headers) == ["timestamp-invalid"]


def test_hubspot_signs_the_url_it_called() -> None:
    assert codes(Scheme.hubspot, hubspot_headers(), url="http://10.0.0.5:8080/hooks/launch/hubspot") == [
        "signature-invalid"
    ]
    proxied = signed_url("http://10.0.0.5:8080/hooks/launch/hubspot?x=1", public_url="https://onboarding.example.com/")
    assert proxied == "https://onboarding.example.com/hooks/launch/hubspot?x=1"
    assert signed_url("http://testserver/hooks/launch/a", public_url=None) == "http://testserver/hooks/launch/a"


def test_hubspot_uri_decodes_only_the_listed_characters() -> None:
    assert (
        hubspot_uri("https://h.example/p%3Fq?e=a%40b.c&l=%5B1%5D&t=%3a%2f")
        == "https://h.example/p?q?e=a@b.c&l=%5B1%5D&t=:/"
    )
    url = "https://h.example/hooks/launch/hubspot?email=a%40b.example"
    headers = hubspot_headers(url="https://h.example/hooks/launch/hubspot?email=a@b.example")
    verify(Scheme.hubspot, headers, url=url)
