"""The CRM simulation through the ASGI app, on SQLite and PostgreSQL: a HubSpot-signed deal delivered three times
(as HubSpot retries) launches one project with the mapped people; forged, stale and unmappable ones launch none."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from onboarding.core.hook_signatures import Scheme
from onboarding.core.messages import Person
from tests.crm import (
    GENERIC_SECRET,
    HUBSPOT_MAPPING,
    HUBSPOT_SECRET,
    PAYROLL,
    SALESFORCE_MAPPING,
    body_of,
    generic_headers,
    hubspot_deal,
    hubspot_headers,
)

PROBLEM = "application/problem+json"
PUBLIC = "https://onboarding.example.com"
URL = f"{PUBLIC}/hooks/launch/hubspot"  # what HubSpot calls; the test client is seen as http://testserver


def add_sources(application: Application) -> None:
    application.blueprints.publish([PAYROLL], by="test")  # hooks launch published blueprints only
    application.hooks.add_source(
        "hubspot", secret=HUBSPOT_SECRET, mapping_text=HUBSPOT_MAPPING, scheme=Scheme.hubspot, public_url=PUBLIC
    )
    application.hooks.add_source("salesforce", secret=GENERIC_SECRET, mapping_text=SALESFORCE_MAPPING)


def project_count(application: Application) -> int:
    return len(application.projects.list_projects())


def test_a_hubspot_deal_delivered_three_times_launches_one_project_with_its_people(
    application: Application, client: TestClient
) -> None:
    add_sources(application)
    now = application.clock.now()
    body = body_of(hubspot_deal())
    answers = [
        client.post(
            "/hooks/launch/hubspot", content=body, headers=hubspot_headers(URL, body, at=now - timedelta(seconds=s))
        )
        for s in (90, 30, 0)  # the first attempt, then HubSpot's retries, each signed anew
    ]
    assert [a.status_code for a in answers] == [201, 200, 200], [a.text for a in answers]
    documents = [a.json() for a in answers]
    assert [d["created"] for d in documents] == [True, False, False]
    assert len({d["project"]["id"] for d in documents}) == 1
    launched = documents[0]["project"]
    assert launched["external_id"] == "hubspot-deal-9876" and launched["customer"] == "Acme Manufacturing"
    assert launched["bindings"]["csm"] == {
        "name": "Dana Ruiz",
        "email": "dana@vendor.example",
        "time_zone": "America/Los_Angeles",
    }
    project = application.projects.get(launched["id"])
    assert project.bindings["csm"] == Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles")
    assert project.bindings["customer_payroll_admin"] == Person("Lee Park", "lee@acme.example", "America/Chicago")
    assert project.bindings["implementation_manager"].email == "sam@vendor.example"
    assert project_count(application) == 1
    assert application.projects.events(project.id)[0].actor == "hook:hubspot"


def test_forged_stale_and_unmappable_deliveries_launch_nothing(application: Application, client: TestClient) -> None:
    add_sources(application)
    now = application.clock.now()
    body = body_of(hubspot_deal())
    unmappable = body_of(hubspot_deal(owner_email="not an address", dealname=None, kickoff_date="next week"))
    cases = {
        "forged": (body, hubspot_headers(URL, body, at=now, secret="a forger's guess at it")),  # noqa: S106
        "tampered": (body.replace(b"Acme", b"Evil"), hubspot_headers(URL, body, at=now)),
        "stale": (body, hubspot_headers(URL, body, at=now - timedelta(minutes=6))),
        "unsigned": (body, {"Content-Type": "application/json"}),
        "not json": (b"dealname=Acme", hubspot_headers(URL, b"dealname=Acme", at=now)),
        "unmappable": (unmappable, hubspot_headers(URL, unmappable, at=now)),
    }
    answers = {name: client.post("/hooks/launch/hubspot", content=c, headers=h) for name, (c, h) in cases.items()}
    assert {name: (a.status_code, a.json()["code"]) for name, a in answers.items()} == {
        "forged": (401, "signature-invalid"),
        "tampered": (401, "signature-invalid"),
        "stale": (401, "timestamp-stale"),
        "unsigned": (401, "signature-missing"),
        "not json": (400, "payload-not-json"),
        "unmappable": (422, answers["unmappable"].json()["code"]),
    }
    assert all(a.headers["content-type"] == PROBLEM for a in answers.values())
    assert "www-authenticate" not in answers["forged"].headers  # a signature is asked for, not a bearer key
    located = {(p["code"], p["loc"]) for p in answers["unmappable"].json()["problems"]}
    assert located == {
        ("payload-missing-value", "payload.dealname"),
        ("payload-invalid-date", "payload.kickoff_date"),
        ("invalid-address", "payload.owner_email"),
    }
    missing = client.post("/hooks/launch/pipedrive", content=body, headers=hubspot_headers(URL, body, at=now))
    assert (missing.status_code, missing.json()["code"]) == (404, "hook-source-not-found")
    assert project_count(application) == 0


def test_a_salesforce_flow_signing_with_the_generic_scheme(application: Application, client: TestClient) -> None:
    add_sources(application)
    now = application.clock.now()
    opportunity = {
        "opportunityId": "006Dn00000AbCdE",
        "name": "Beta Corp",
        "kickoffDate": "2026-12-07",
        "owner": {"name": "Dana Ruiz", "email": "dana@vendor.example"},
        "contacts": [{"name": f"Contact {i}", "email": f"c{i}@beta.example"} for i in range(3)],
    }
    body = body_of(opportunity)
    first = client.post("/hooks/launch/salesforce", content=body, headers=generic_headers(body, at=now))
    again = client.post("/hooks/launch/salesforce", content=body, headers=generic_headers(body, at=now))
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json()["project"]["external_id"] == "sf-opp-006Dn00000AbCdE"
    changed = body_of({**opportunity, "kickoffDate": "2026-12-14", "deliveryId": "evt-2"})
    conflict = client.post("/hooks/launch/salesforce", content=changed, headers=generic_headers(changed, at=now))
    assert (conflict.status_code, conflict.json()["code"]) == (409, "external-id-conflict")
    assert project_count(application) == 1


def test_the_hook_is_in_the_openapi_document_without_an_api_key(client: TestClient) -> None:
    operation = client.get("/api/openapi.json").json()["paths"]["/hooks/launch/{source}"]["post"]
    assert "security" not in operation and "requestBody" in operation
    assert {"200", "201", "401", "422"} <= set(operation["responses"])


def test_a_mapping_that_names_a_file_on_the_server_launches_nothing(
    application: Application, client: TestClient
) -> None:
    """A delivery comes from outside: its blueprint is a published one, never a file read on the server."""
    application.hooks.add_source(
        "filehub",
        secret=HUBSPOT_SECRET,
        mapping_text=HUBSPOT_MAPPING.replace("blueprint: payroll_implementation", f"blueprint: {PAYROLL}"),
        scheme=Scheme.hubspot,
        public_url=PUBLIC,
    )
    body = body_of(hubspot_deal())
    url = f"{PUBLIC}/hooks/launch/filehub"
    answer = client.post(
        "/hooks/launch/filehub", content=body, headers=hubspot_headers(url, body, at=application.clock.now())
    )
    assert answer.status_code == 404, answer.text
    assert answer.json()["code"] == "blueprint-not-found"
    assert project_count(application) == 0
