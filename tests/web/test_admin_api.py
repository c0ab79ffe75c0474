"""What used to need a shell on the database's machine, over HTTP: publishing blueprints, subscribing webhook
endpoints, adding hook sources and setting the team's defaults. Each needs an admin key (reads of team defaults:
any key); each refusal is a problem naming the field; nothing is stored by a refused request."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from onboarding.bootstrap import Application
from tests.crm import HUBSPOT_MAPPING, HUBSPOT_SECRET, PAYROLL
from tests.web.conftest import Keys

TEXT = Path(PAYROLL).read_text(encoding="utf-8")


def test_a_blueprint_is_published_once_and_its_version_never_changes(
    application: Application, client: TestClient, keys: Keys
) -> None:
    assert client.post("/api/v1/blueprints", json={"text": TEXT}, headers=keys.write).status_code == 403
    first = client.post("/api/v1/blueprints", json={"text": TEXT, "source": "crm-setup"}, headers=keys.admin)
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["key"], made["created"], made["source"], made["published_by"]) == (
        "payroll_implementation",
        True,
        "crm-setup",
        "admin-key",
    )
    again = client.post("/api/v1/blueprints", json={"text": TEXT}, headers=keys.admin)
    assert (again.status_code, again.json()["created"]) == (200, False)
    changed = TEXT.replace("title:", "title: Changed\n# was:", 1)
    refused = client.post("/api/v1/blueprints", json={"text": changed}, headers=keys.admin)
    assert (refused.status_code, refused.json()["code"]) == (409, "blueprint-version-exists")
    broken = client.post("/api/v1/blueprints", json={"text": "key: x\ntasks: [\n"}, headers=keys.admin)
    assert broken.status_code == 422 and broken.headers["content-type"].startswith("application/problem+json")
    assert [b["key"] for b in client.get("/api/v1/blueprints", headers=keys.read).json()["blueprints"]] == [
        "payroll_implementation"
    ]


def test_a_webhook_endpoint_is_subscribed_listed_and_removed(client: TestClient, keys: Keys) -> None:
    body = {"url": "https://hooks.example.com/onboarding", "events": ["project.launched", "task.completed"]}
    assert client.post("/api/v1/webhooks", json=body, headers=keys.write).status_code == 403
    made = client.post("/api/v1/webhooks", json=body, headers=keys.admin)
    assert made.status_code == 201, made.text
    endpoint = made.json()
    assert endpoint["secret"].startswith("whsec_") and endpoint["events"] == body["events"]
    listed = client.get("/api/v1/webhooks", headers=keys.admin).json()["webhooks"]
    assert [w["id"] for w in listed] == [endpoint["id"]] and "secret" not in listed[0]
    given = client.post("/api/v1/webhooks", json={**body, "secret": endpoint["secret"]}, headers=keys.admin)
    assert given.status_code == 201 and given.json()["secret"] is None  # a given secret is never echoed
    bad = client.post("/api/v1/webhooks", json={"url": "ftp://x", "events": ["nope"]}, headers=keys.admin)
    assert bad.status_code == 422
    assert [p["code"] for p in bad.json()["problems"]] == ["invalid-webhook-url", "unknown-webhook-event"]
    removed = client.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=keys.admin)
    assert (removed.status_code, removed.json()["removed"]) == (200, True)
    assert len(client.get("/api/v1/webhooks", headers=keys.admin).json()["webhooks"]) == 1
    assert len(client.get("/api/v1/webhooks?include_removed=true", headers=keys.admin).json()["webhooks"]) == 2
    missing = client.delete("/api/v1/webhooks/999", headers=keys.admin)
    assert (missing.status_code, missing.json()["code"]) == (404, "webhook-not-found")


def test_a_hook_source_is_added_replaced_and_removed(client: TestClient, keys: Keys) -> None:
    body = {"scheme": "hubspot", "secret": HUBSPOT_SECRET, "mapping": HUBSPOT_MAPPING}
    assert client.put("/api/v1/hook-sources/hubspot", json=body, headers=keys.write).status_code == 403
    added = client.put("/api/v1/hook-sources/hubspot", json=body, headers=keys.admin)
    assert added.status_code == 201, added.text
    assert added.json()["endpoint"] == "/hooks/launch/hubspot" and "secret" not in added.json()
    replaced = client.put(
        "/api/v1/hook-sources/hubspot",
        json={**body, "public_url": "https://onboarding.example.com"},
        headers=keys.admin,
    )
    assert (replaced.status_code, replaced.json()["public_url"]) == (200, "https://onboarding.example.com")
    bad = client.put("/api/v1/hook-sources/Bad Name", json={**body, "mapping": "customr: x\n"}, headers=keys.admin)
    assert bad.status_code == 422 and len(bad.json()["problems"]) >= 2
    assert [s["name"] for s in client.get("/api/v1/hook-sources", headers=keys.admin).json()["sources"]] == ["hubspot"]
    assert client.delete("/api/v1/hook-sources/hubspot", headers=keys.admin).status_code == 204
    gone = client.delete("/api/v1/hook-sources/hubspot", headers=keys.admin)
    assert (gone.status_code, gone.json()["code"]) == (404, "hook-source-not-found")


def test_team_defaults_are_set_listed_and_removed(client: TestClient, keys: Keys) -> None:
    dana = {"name": "Dana Ruiz", "email": "Dana@Vendor.example", "time_zone": "America/Los_Angeles"}
    assert client.put("/api/v1/team/defaults/csm", json=dana, headers=keys.write).status_code == 403
    made = client.put("/api/v1/team/defaults/csm", json=dana, headers=keys.admin)
    assert made.status_code == 200, made.text
    assert (made.json()["segment"], made.json()["replaced"], made.json()["updated_by"]) == ("any", None, "admin-key")
    sam = {"name": "Sam Okafor", "email": "sam@vendor.example", "segment": "enterprise"}
    client.put("/api/v1/team/defaults/csm", json=sam, headers=keys.admin)
    replaced = client.put("/api/v1/team/defaults/csm", json=dana, headers=keys.admin).json()["replaced"]
    assert replaced["email"].lower() == "dana@vendor.example"
    listed = client.get("/api/v1/team/defaults", headers=keys.read).json()["defaults"]
    assert sorted((d["role"], d["segment"]) for d in listed) == [("csm", "any"), ("csm", "enterprise")]
    bad = client.put("/api/v1/team/defaults/Not A Role", json={"email": "not-an-address"}, headers=keys.admin)
    assert bad.status_code == 422
    assert sorted(p["code"] for p in bad.json()["problems"]) == ["invalid-address", "invalid-binding"]
    gone = client.delete("/api/v1/team/defaults/csm?segment=enterprise", headers=keys.admin)
    assert (gone.status_code, gone.json()["email"]) == (200, "sam@vendor.example")
    again = client.delete("/api/v1/team/defaults/csm?segment=enterprise", headers=keys.admin)
    assert (again.status_code, again.json()["code"]) == (404, "team-default-not-found")
