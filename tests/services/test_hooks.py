"""Inbound hooks through the service, on every store: verify, map, dedupe, launch; failures store nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.hook_mappings import YamlMappings
from onboarding.adapters.store.blueprints import SqlBlueprintCatalog
from onboarding.adapters.store.hooks import InMemoryHookStore, SqlHookStore
from onboarding.adapters.store.memory import InMemoryBlueprintCatalog, InMemoryProjectStore
from onboarding.core.hook_signatures import Scheme
from onboarding.core.messages import Person
from onboarding.errors import (
    DeliveryInProgress,
    HookMappingInvalid,
    HookSourceExists,
    HookSourceNotFound,
    LaunchConflict,
    PayloadUnmapped,
    PayloadUnreadable,
    PayScheduleInvalid,
    ProblemsError,
    SignatureRefused,
)
from onboarding.services.blueprints import BlueprintRegistry
from onboarding.services.hooks import HookService
from onboarding.services.projects import ProjectService
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

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)
URL = "https://onboarding.example.com/hooks/launch/hubspot"
SEEN = "http://127.0.0.1:8080/hooks/launch/hubspot"  # behind the proxy


@pytest.fixture
def projects(store: Any) -> ProjectService:  # the store fixture: memory, SQLite, PostgreSQL
    clock = FixedClock(date(2026, 12, 4), at=NOW)
    memory = isinstance(store, InMemoryProjectStore)
    catalog = InMemoryBlueprintCatalog() if memory else SqlBlueprintCatalog(store.engine)
    registry = BlueprintRegistry(catalog=catalog, blueprints=FileBlueprints(), clock=clock)
    registry.publish([PAYROLL], by="test")  # hooks launch published blueprints only
    return ProjectService(
        store=store,
        blueprints=FileBlueprints(),
        clock=clock,
        sender=Person("Onboarding", "onboarding@vendor.example"),
        registry=registry,
    )


@pytest.fixture
def hook_store(store: Any) -> InMemoryHookStore | SqlHookStore:
    return InMemoryHookStore() if isinstance(store, InMemoryProjectStore) else SqlHookStore(store.engine)


@pytest.fixture
def hooks(projects: ProjectService, hook_store: InMemoryHookStore | SqlHookStore) -> Iterator[HookService]:
    service = HookService(
        store=hook_store, projects=projects, mappings=YamlMappings(), clock=FixedClock(date(2026, 12, 4), at=NOW)
    )
    service.add_source(
        "hubspot",
        secret=HUBSPOT_SECRET,
        mapping_text=HUBSPOT_MAPPING,
        scheme=Scheme.hubspot,
        public_url="https://onboarding.example.com/",
    )
    service.add_source("salesforce", secret=GENERIC_SECRET, mapping_text=SALESFORCE_MAPPING)
    yield service


def deliver(hooks: HookService, payload: Any, *, at: datetime = NOW, **more: Any) -> Any:
    body = more.pop("body", None) or body_of(payload)
    headers = more.pop("headers", None) or hubspot_headers(URL, body, at=at)
    return hooks.receive("hubspot", method="POST", url=SEEN, headers=headers, body=body, now=more.pop("now", NOW))


def count(projects: ProjectService) -> int:
    return len(projects.list_projects())


def test_a_hubspot_delivery_retried_three_times_launches_once_with_the_mapped_people(
    hooks: HookService, projects: ProjectService
) -> None:
    first = deliver(hooks, hubspot_deal())
    again = [
        deliver(hooks, hubspot_deal(), at=NOW + timedelta(minutes=m), now=NOW + timedelta(minutes=m)) for m in (1, 3)
    ]
    assert first.created and not any(r.created for r in again)
    assert {r.project.id for r in again} == {first.project.id}
    assert all(r.repeated for r in again)
    project = first.project
    assert project.external_id == "hubspot-deal-9876" and project.customer == "Acme Manufacturing"
    assert project.kickoff_on == date(2026, 12, 7) and project.segment == "mid-market"
    assert project.bindings["csm"] == Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles")
    assert project.bindings["customer_sponsor"] == Person("Alex Brown", "alex@acme.example", "America/Chicago")
    assert project.bindings["impl_engineer"] == Person("Ivo Petrov", "ivo@vendor.example", "Europe/Sofia")
    assert count(projects) == 1
    launched = projects.events(project.id)[0]
    assert launched.kind == "project_launched" and launched.actor == "hook:hubspot"


def test_a_deal_sent_again_changed_is_a_conflict_though_its_delivery_id_is_the_same(
    hooks: HookService, projects: ProjectService
) -> None:
    """HubSpot sends no delivery id: a deal's deliveries share its external id, so a changed deal is not a retry."""
    first = deliver(hooks, hubspot_deal())
    later = NOW + timedelta(minutes=5)
    with pytest.raises(LaunchConflict) as caught:
        deliver(hooks, hubspot_deal(kickoff_date="2026-12-14"), at=later, now=later)
    assert caught.value.codes == ["external-id-conflict"]
    assert "kickoff" in str(caught.value.problems)
    assert deliver(hooks, hubspot_deal(), at=later, now=later).project.id == first.project.id  # unchanged: a retry
    assert count(projects) == 1


def test_forged_stale_and_unmappable_deliveries_launch_nothing(
    hooks: HookService, projects: ProjectService, hook_store: InMemoryHookStore | SqlHookStore
) -> None:
    body = body_of(hubspot_deal())
    refused: list[tuple[type[ProblemsError], dict[str, Any]]] = [
        (SignatureRefused, {"headers": hubspot_headers(URL, body, at=NOW, secret="not the secret at all")}),  # noqa: S106
        (SignatureRefused, {"headers": hubspot_headers(SEEN, body, at=NOW)}),  # signed for another URL
        (SignatureRefused, {"headers": hubspot_headers(URL, body, at=NOW - timedelta(minutes=6))}),
        (SignatureRefused, {"headers": {"Content-Type": "application/json"}}),
        (PayloadUnreadable, {"body": b"dealname=Acme"}),
        (PayloadUnmapped, {"body": body_of(hubspot_deal(owner_email=None, kickoff_date="soon"))}),
        (PayScheduleInvalid, {"body": body_of(hubspot_deal(pay_schedule="every other tuesday"))}),
    ]
    codes = []
    for error, more in refused:
        with pytest.raises(error) as caught:
            deliver(hooks, None, **more)
        codes.append(caught.value.codes)
    assert codes[:4] == [["signature-invalid"], ["signature-invalid"], ["timestamp-stale"], ["signature-missing"]]
    assert codes[4] == ["payload-not-json"]
    assert sorted(codes[5]) == ["payload-invalid-date", "payload-missing-value"]
    assert count(projects) == 0 and hook_store.delivery_count() == 0
    with pytest.raises(HookSourceNotFound):
        hooks.receive("pipedrive", method="POST", url=SEEN, headers={}, body=b"{}", now=NOW)


def test_a_deal_sent_again_with_other_inputs_is_a_conflict_and_a_failed_launch_can_be_retried(
    hooks: HookService, projects: ProjectService
) -> None:
    deliver(hooks, hubspot_deal())
    sf = body_of(
        {
            "opportunityId": "006A",
            "name": "Beta Corp",
            "kickoffDate": "2026-12-07",
            "deliveryId": "d-1",
            "owner": {"name": "Dana Ruiz", "email": "dana@vendor.example"},
            "contacts": [{"name": f"C{i}", "email": f"c{i}@beta.example"} for i in range(2)],  # one missing
        }
    )

    def salesforce(body: bytes) -> Any:
        return hooks.receive(
            "salesforce",
            method="POST",
            url="http://x/hooks/launch/salesforce",
            headers=generic_headers(body, at=NOW),
            body=body,
            now=NOW,
        )

    with pytest.raises(PayloadUnmapped):
        salesforce(sf)
    fixed = sf.replace(b'"contacts":[', b'"contacts":[{"name":"C9","email":"c9@beta.example"},')
    assert salesforce(fixed).created  # the same delivery id, retried after the failure: launched now
    assert not salesforce(fixed).created
    other = fixed.replace(b'"d-1"', b'"d-2"').replace(b"2026-12-07", b"2026-12-14")
    with pytest.raises(LaunchConflict) as caught:
        salesforce(other)
    assert caught.value.codes == ["external-id-conflict"]
    assert count(projects) == 2


def test_a_delivery_in_flight_is_waited_for_then_answered(
    hooks: HookService, hook_store: InMemoryHookStore | SqlHookStore
) -> None:
    claim = hook_store.claim_delivery(
        "hubspot", "external-id:hubspot-deal-9876", external_id="x", now=NOW, stale_before=NOW
    )
    assert claim.claimed
    with pytest.raises(DeliveryInProgress):
        deliver(hooks, hubspot_deal())
    # a claim left by a process that died is taken over once it is old
    assert deliver(hooks, hubspot_deal(), at=NOW + timedelta(minutes=3), now=NOW + timedelta(minutes=3)).created


def test_sources_are_checked_listed_and_removed(hooks: HookService) -> None:
    with pytest.raises(HookSourceExists):
        hooks.add_source("hubspot", secret=HUBSPOT_SECRET, mapping_text=HUBSPOT_MAPPING)
    with pytest.raises(HookMappingInvalid) as caught:
        hooks.add_source("Bad Name", secret="short", mapping_text="customr: x\n", public_url="onboarding.example.com")  # noqa: S106
    assert sorted(caught.value.codes) == [
        "invalid-value",
        "invalid-value",
        "missing-field",
        "missing-field",
        "missing-field",
        "missing-field",
        "missing-field",
        "out-of-range",
        "unknown-field",
    ]
    replaced = hooks.add_source("hubspot", secret="x" * 20, mapping_text=HUBSPOT_MAPPING, replace=True)
    assert hooks.source("hubspot").secret == "x" * 20 and replaced.scheme is Scheme.generic
    assert [s.name for s in hooks.sources()] == ["hubspot", "salesforce"]
    hooks.remove_source("hubspot")
    with pytest.raises(HookSourceNotFound):
        hooks.remove_source("hubspot")


def test_a_dry_run_maps_without_launching(hooks: HookService, projects: ProjectService) -> None:
    mapped = hooks.dry_run("hubspot", body_of(hubspot_deal(kickoff_date="")))
    assert mapped.kickoff_on == date(2026, 12, 4) and mapped.external_id == "hubspot-deal-9876"
    assert count(projects) == 0


def test_two_identical_deliveries_at_once_launch_one_project(
    hooks: HookService, projects: ProjectService, hook_store: InMemoryHookStore | SqlHookStore, store: Any
) -> None:
    if isinstance(store, InMemoryProjectStore):
        pytest.skip("the in-memory twin is not shared between threads")
    import time

    service = HookService(
        store=hook_store,
        projects=projects,
        mappings=YamlMappings(),
        clock=FixedClock(date(2026, 12, 4), at=NOW),
        pause=time.sleep,
    )
    body = body_of(hubspot_deal())
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        barrier.wait()
        results.append(
            service.receive(
                "hubspot", method="POST", url=SEEN, headers=hubspot_headers(URL, body, at=NOW), body=body, now=NOW
            )
        )

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and sum(r.created for r in results) == 1
    assert len({r.project.id for r in results}) == 1 and count(projects) == 1
