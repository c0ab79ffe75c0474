"""A CRM simulator for hook tests: HubSpot's workflow webhook (v3-signed) and a generic-signed sender.

The HubSpot deal payload is what the workflow action "Send a webhook" posts when its
request body is customised with the deal's properties (the README's set-up); the
signature is computed here from HubSpot's documented recipe, independently of the engine.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
HUBSPOT_SECRET = "hubspot-client-secret-0f6c"  # noqa: S105 - a test secret
GENERIC_SECRET = "generic-secret-7d1e5a9b2c"  # noqa: S105 - a test secret

# The documented mappings as they are: they name the published payroll example by its key (publish PAYROLL first).
HUBSPOT_MAPPING = (ROOT / "docs" / "hooks" / "hubspot-deal.yaml").read_text(encoding="utf-8")
SALESFORCE_MAPPING = (ROOT / "docs" / "hooks" / "salesforce-opportunity.yaml").read_text(encoding="utf-8")


def hubspot_deal(deal_id: int = 9876, **properties: Any) -> dict[str, Any]:
    """A closed-won deal as the workflow's customised body sends it."""
    return {
        "hs_object_id": deal_id,
        "dealname": "Acme Manufacturing",
        "kickoff_date": "2026-12-07",
        "pay_schedule": "biweekly:2026-01-02",
        "segment": "mid-market",
        "owner_name": "Dana Ruiz",
        "owner_email": "dana@vendor.example",
        "sponsor_name": "Alex Brown",
        "sponsor_email": "alex@acme.example",
        "payroll_admin_name": "Lee Park",
        "payroll_admin_email": "lee@acme.example",
        "hr_admin_name": "Kim Diaz",
        "hr_admin_email": "kim@acme.example",
        **properties,
    }


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def hubspot_headers(url: str, body: bytes, *, at: datetime, secret: str = HUBSPOT_SECRET) -> dict[str, str]:
    """HubSpot's v3 headers: base64 HMAC-SHA256 of POST + URL + body + timestamp (ms)."""
    timestamp = str(int(at.timestamp() * 1000))
    signed = b"POST" + url.encode() + body + timestamp.encode()
    signature = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": signature,
        "X-HubSpot-Request-Timestamp": timestamp,
    }


def generic_headers(body: bytes, *, at: datetime, secret: str = GENERIC_SECRET) -> dict[str, str]:
    """The generic scheme: hex HMAC-SHA256 of "<unix seconds>.<body>"."""
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Onboarding-Timestamp": timestamp,
        "X-Onboarding-Signature": f"sha256={digest}",
    }
