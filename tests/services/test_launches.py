"""Launches safe to retry (``LaunchService``) on the in-memory twins and SQL, and the portfolio a page at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.idempotency import InMemoryIdempotencyStore, SqlIdempotencyStore
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.adapters.store.sql import SqlProjectStore
from onboarding.core.idempotency import fingerprint, request_differences
from onboarding.core.lifecycle import Action
from onboarding.errors import ChangeConflict, LaunchConflict, PayScheduleInvalid, PlanInputInvalid, QueryInvalid
from onboarding.services.launches import LaunchService
from onboarding.services.ports import ConcurrentChange, IdempotentRequest
from onboarding.services.projects import LaunchRequest
from tests.services.test_projects import PAYROLL, PEOPLE, D, service

CLOCK = FixedClock(D("2026-12-07"), at=datetime(2026, 12, 7, 9, tzinfo=UTC))


def request(**more: object) -> LaunchRequest:
    fields: dict[str, object] = {
        "customer": "Acme",
        "kickoff_on": D("2026-12-07"),
        "bindings": PEOPLE,
        "pay_schedule": "biweekly:2026-01-02",
        **more,
    }
    return LaunchRequest(PAYROLL, **fields)  # type: ignore[arg-type]


def launches(store: InMemoryProjectStore | SqlProjectStore) -> LaunchService:
    keys = SqlIdempotencyStore(store.engine) if isinstance(store, SqlProjectStore) else InMemoryIdempotencyStore()
    return LaunchService(projects=service(store, CLOCK), keys=keys, clock=CLOCK, wait_seconds=0.2, sleep=lambda _: None)


def test_a_key_launches_once_and_replays_its_answer(store: InMemoryProjectStore | SqlProjectStore) -> None:
    svc = launches(store)
    first = svc.launch(request(), actor="crm", idempotency_key="k1")
    assert first.created and not first.replayed
    assert first.plan.go_live is not None and first.plan.go_live.chosen_on == first.project.committed_go_live_on
    again = svc.launch(request(), actor="crm", idempotency_key="k1")
    assert again.replayed and again.created and again.project.id == first.project.id
    assert again.plan.go_live == first.plan.go_live
    assert len(store.project_page(_everything())) == 1


def test_another_request_under_a_key_is_refused_with_what_differs(
    store: InMemoryProjectStore | SqlProjectStore,
) -> None:
    svc = launches(store)
    svc.launch(request(), actor="crm", idempotency_key="k1")
    with pytest.raises(LaunchConflict) as refused:
        svc.launch(request(customer="Acme Two", segment="smb"), actor="crm", idempotency_key="k1")
    (problem,) = refused.value.problems
    assert problem.code == "idempotency-key-reused"
    assert [line.split(":")[0] for line in problem.detail] == ["customer", "segment"]


def test_a_failed_launch_gives_its_key_back(store: InMemoryProjectStore | SqlProjectStore) -> None:
    svc = launches(store)
    with pytest.raises(PayScheduleInvalid):
        svc.launch(request(pay_schedule="fortnightly"), actor="crm", idempotency_key="k1")
    assert svc.launch(request(), actor="crm", idempotency_key="k1").created
    with pytest.raises(PlanInputInvalid) as bad:
        svc.launch(request(), actor="crm", idempotency_key="")
    assert bad.value.codes == ["invalid-idempotency-key"]


def test_a_key_held_by_a_request_in_flight_waits_then_is_refused_until_it_answers() -> None:
    store = InMemoryProjectStore()
    keys = InMemoryIdempotencyStore()
    svc = LaunchService(projects=service(store, CLOCK), keys=keys, clock=CLOCK, wait_seconds=0.2, sleep=lambda _: None)
    asked = {"anything": 1}
    keys.claim("crm", "k1", fingerprint=fingerprint(asked), request=asked, now=CLOCK.now(), stale_before=CLOCK.now())
    with pytest.raises(LaunchConflict):  # another request
        svc.launch(request(), actor="crm", idempotency_key="k1")
    from onboarding.services.launches import canonical_request

    same = canonical_request(request())
    keys.requests[("crm", "k1")] = IdempotentRequest(fingerprint(same), same, None, None, CLOCK.now())
    with pytest.raises(ChangeConflict) as busy:
        svc.launch(request(), actor="crm", idempotency_key="k1")
    assert busy.value.codes == ["idempotency-key-in-use"]
    # a claim whose server died long ago is taken over
    old = datetime(2026, 12, 6, tzinfo=UTC)
    keys.requests[("crm", "k1")] = replace(keys.requests[("crm", "k1")], created_at=old)
    assert svc.launch(request(), actor="crm", idempotency_key="k1").created


def test_an_external_id_stored_meanwhile_answers_the_first_launch() -> None:
    store = InMemoryProjectStore()
    svc = service(store, CLOCK)
    first = svc.launch(PAYROLL, customer="Acme", kickoff_on=D("2026-12-07"), bindings=PEOPLE,
                       pay_schedule="biweekly:2026-01-02", external_id="CRM-1")  # fmt: skip
    real = store.find_externals
    calls = []

    def blind(ids):  # type: ignore[no-untyped-def]
        calls.append(ids)
        return {} if len(calls) == 1 else real(ids)  # the first look misses the project stored meanwhile

    store.find_externals = blind  # type: ignore[method-assign]
    again = svc.launch(PAYROLL, customer="Acme", kickoff_on=D("2026-12-07"), bindings=PEOPLE,
                       pay_schedule="biweekly:2026-01-02", external_id="CRM-1")  # fmt: skip
    assert not again.created and again.project.id == first.project.id
    with pytest.raises(ConcurrentChange):
        store.find_externals = lambda ids: {}  # type: ignore[method-assign]
        svc.launch_many([request(external_id="CRM-1")])


def test_request_differences_name_nested_fields() -> None:
    first = {"customer": "A", "bindings": {"csm": {"email": "a@x.example"}}, "segment": None}
    now = {"customer": "A", "bindings": {"csm": {"email": "b@x.example"}, "ops": {"email": "o@x.example"}}}
    assert request_differences(first, now) == [
        'bindings.csm.email: first sent "a@x.example", now "b@x.example"',
        'bindings.ops: first sent null, now {"email": "o@x.example"}',
    ]
    assert fingerprint({"a": 1, "b": 2}) == fingerprint({"b": 2, "a": 1})


def _everything():  # type: ignore[no-untyped-def]
    from onboarding.services.ports import ProjectQuery

    return ProjectQuery()


def test_the_portfolio_pages_by_kickoff_and_filters_on_every_store(
    store: InMemoryProjectStore | SqlProjectStore,
) -> None:
    svc = service(store, CLOCK)
    for i in range(5):
        svc.launch(PAYROLL, customer=f"Customer {i}", kickoff_on=D(f"2026-12-0{7 + i % 3}"), bindings=PEOPLE,
                   pay_schedule="biweekly:2026-01-02", segment="smb" if i % 2 else None)  # fmt: skip
    seen, cursor, pages = [], None, 0
    while True:
        page = svc.page(limit=2, cursor=cursor)
        seen += page.projects
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3 and len(seen) == 5
    assert [p.sort_key for p in seen] == sorted(p.sort_key for p in seen)
    assert {p.customer for p in svc.page(segment="smb").projects} == {"Customer 1", "Customer 3"}
    assert [p.customer for p in svc.page(customer="CUSTOMER 2").projects] == ["Customer 2"]
    assert svc.page(state="completed").projects == []
    assert svc.page(at_risk=True).projects == []
    held = seen[0].id
    svc.hold(held, reason="budget")
    blocked = seen[1].id
    svc.change_task(blocked, "kickoff_call", Action.start)
    svc.change_task(blocked, "kickoff_call", Action.block)
    assert sorted(p.id for p in svc.page(at_risk=True).projects) == sorted([held, blocked])
    with pytest.raises(QueryInvalid) as bad:
        svc.page(cursor="garbage!")
    assert bad.value.codes == ["invalid-cursor"]
