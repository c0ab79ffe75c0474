"""Hook mappings: checking them (every problem, located) and mapping payloads (every problem, by payload path)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import yaml

from onboarding.core.hook_mapping import check_mapping, map_payload, parse_json_payload, parse_path, read_date
from onboarding.core.messages import Person
from onboarding.errors import HookMappingInvalid, PayloadUnmapped, PayloadUnreadable

TODAY = date(2026, 12, 2)

MAPPING = yaml.safe_load(
    """
blueprint: payroll_implementation@1.0.0
customer: {path: properties.dealname}
kickoff: {path: properties.kickoff_date, default: today}
external_id: {path: objectId, prefix: hubspot-deal-}
delivery_id: {header: X-Delivery-Id}
pay_schedule: {path: properties.pay_schedule, default: "biweekly:2026-01-02"}
segment: {path: properties.segment}
bindings:
  csm:
    name: {path: properties.owner.name}
    email: {path: properties.owner.email}
    time_zone: {path: properties.owner.tz, default: America/Chicago}
  customer_sponsor:
    name: {path: "contacts[0].name"}
    email: {path: "contacts[0].email"}
  implementation_manager: {email: sam@vendor.example, name: Sam Okafor, time_zone: America/New_York}
"""
)

PAYLOAD: dict[str, Any] = {
    "objectId": 9876,
    "properties": {
        "dealname": "Acme Manufacturing",
        "kickoff_date": "2026-12-07",
        "segment": "mid-market",
        "owner": {"name": "Dana Ruiz", "email": "dana@vendor.example", "tz": "America/Los_Angeles"},
    },
    "contacts": [{"name": "Alex Brown", "email": "alex@acme.example"}],
}


def mapped(payload: Any = PAYLOAD, headers: dict[str, str] | None = None) -> Any:
    return map_payload(check_mapping(MAPPING), payload, headers=headers or {"x-delivery-id": "d-1"}, today=TODAY)


def test_a_payload_maps_to_a_launch_with_people() -> None:
    launch = mapped()
    assert launch.blueprint == "payroll_implementation@1.0.0"
    assert launch.customer == "Acme Manufacturing"
    assert launch.kickoff_on == date(2026, 12, 7)
    assert launch.external_id == "hubspot-deal-9876"
    assert launch.delivery_id == "d-1"
    assert launch.pay_schedule == "biweekly:2026-01-02"  # the default
    assert launch.segment == "mid-market"
    assert launch.bindings == {
        "csm": Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles"),
        "customer_sponsor": Person("Alex Brown", "alex@acme.example", "UTC"),
        "implementation_manager": Person("Sam Okafor", "sam@vendor.example", "America/New_York"),
    }


def test_kickoff_today_and_offsets() -> None:
    payload = {**PAYLOAD, "properties": {**PAYLOAD["properties"], "kickoff_date": None}}
    assert mapped(payload).kickoff_on == TODAY
    data = {**MAPPING, "kickoff": "today", "kickoff_plus_days": 14}
    assert map_payload(check_mapping(data), PAYLOAD, headers={}, today=TODAY).kickoff_on == date(2026, 12, 16)


def test_dates_from_iso_datetimes_and_hubspot_milliseconds() -> None:
    assert read_date("2026-12-07") == date(2026, 12, 7)
    assert read_date("2026-12-07T23:30:00-05:00") == date(2026, 12, 8)
    assert read_date("1796601600000") == date(2026, 12, 7)  # midnight UTC, as HubSpot sends date properties
    assert read_date("next week") is None


def test_paths() -> None:
    assert parse_path("properties.dealname") == ("properties", "dealname")
    assert parse_path("[0].objectId") == (0, "objectId")
    assert parse_path("$.deals[2].id") == ("deals", 2, "id")
    assert parse_path("$[0]") == (0,)
    for bad in ("", "a..b", "a.", ".a", "a[x]", "a b", "a[0]b"):
        assert parse_path(bad) is None, bad


def test_a_payload_that_does_not_map_names_every_problem_by_its_path() -> None:
    payload = {
        "objectId": {"value": 9876},
        "properties": {"kickoff_date": "soon", "owner": {"name": "Dana", "email": "not an address", "tz": "Mars/Base"}},
        "contacts": [],
    }
    with pytest.raises(PayloadUnmapped) as caught:
        mapped(payload, headers={})
    found = {(p.code, ".".join(map(str, p.loc))) for p in caught.value.problems}
    assert found == {
        ("payload-missing-value", "payload.properties.dealname"),
        ("payload-invalid-date", "payload.properties.kickoff_date"),
        ("payload-wrong-type", "payload.objectId"),
        ("invalid-address", "payload.properties.owner.email"),
        ("invalid-time-zone", "payload.properties.owner.tz"),
        ("payload-missing-value", "payload.contacts.0.email"),
    }


def test_hubspot_array_payloads_by_index() -> None:
    data = {**MAPPING, "external_id": {"path": "[0].objectId"}, "customer": {"path": "[0].properties.dealname"}}
    data = {k: v for k, v in data.items() if k not in ("segment", "bindings")}
    data["bindings"] = {"csm": {"email": {"path": "[0].owner"}}}
    launch = map_payload(
        check_mapping(data),
        [
            {
                "objectId": 5,
                "owner": "dana@vendor.example",
                "properties": {"dealname": "Acme", "kickoff_date": "2026-12-07"},
            }
        ],
        headers={},
        today=TODAY,
    )
    assert (launch.external_id, launch.customer, launch.bindings["csm"].name) == ("5", "Acme", "dana@vendor.example")
    with pytest.raises(PayloadUnmapped) as caught:
        map_payload(check_mapping(data), {"objectId": 5}, headers={}, today=TODAY)
    assert "payload-missing-value" in caught.value.codes


def test_a_bad_mapping_lists_every_problem() -> None:
    data = {
        "blueprint": {"path": "a..b"},
        "customr": {"path": "properties.dealname"},
        "kickoff": "tomorrow",
        "external_id": {"path": "id", "header": "X-Id"},
        "bindings": {"CSM": {"email": {"path": "owner"}, "nmae": "Dana"}},
        "kickoff_plus_days": -1,
    }
    with pytest.raises(HookMappingInvalid) as caught:
        check_mapping(data)
    found = {(p.code, ".".join(map(str, p.loc))) for p in caught.value.problems}
    assert found == {
        ("unknown-field", "customr"),
        ("missing-field", "customer"),
        ("invalid-value", "external_id"),
        ("unknown-field", "bindings.CSM.nmae"),
        ("out-of-range", "kickoff_plus_days"),
    }
    customer = data.pop("customr")
    fixed = {**data, "customer": customer, "external_id": {"path": "id"}, "kickoff_plus_days": 0}
    fixed["bindings"] = {"CSM": {"email": {"path": "owner"}}}
    with pytest.raises(HookMappingInvalid) as caught:
        check_mapping(fixed)
    found = {(p.code, ".".join(map(str, p.loc))) for p in caught.value.problems}
    assert found == {
        ("invalid-path", "blueprint.path"),
        ("invalid-value", "kickoff.constant"),
        ("invalid-value", "bindings.CSM"),
    }


def test_bodies_that_are_not_json() -> None:
    assert parse_json_payload(b'[{"a": 1}]') == [{"a": 1}]
    for body in (b"", b"{", b"\xff\xfe", b"a=1&b=2"):
        with pytest.raises(PayloadUnreadable) as caught:
            parse_json_payload(body)
        assert caught.value.codes == ["payload-not-json"]
