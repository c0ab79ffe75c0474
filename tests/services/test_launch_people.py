"""The launch service applies the address rule to every person it is given, whoever calls it."""

from __future__ import annotations

from datetime import date

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.core.messages import Person
from onboarding.errors import PlanInputInvalid
from tests.services.test_projects import PAYROLL, PEOPLE, service


def test_people_that_cannot_be_emailed_are_refused_all_at_once_and_nothing_is_stored(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(date(2026, 12, 4)))
    people = {
        **PEOPLE,
        "customer_payroll_admin": Person("Lee Park", "jürgen@acme.example", "America/Chicago"),
        "customer_hr_admin": Person("Kim\nDiaz", "kim@acme.example\r\nBcc: x@evil.example", "Nowhere/Town"),
    }
    with pytest.raises(PlanInputInvalid) as refused:
        svc.launch(
            PAYROLL, customer="Acme", kickoff_on=date(2026, 12, 7), bindings=people, pay_schedule="biweekly:2026-01-02"
        )
    assert sorted((p.loc, p.code) for p in refused.value.problems) == [
        (("bind", "customer_hr_admin"), "invalid-address"),
        (("bind", "customer_hr_admin"), "invalid-name"),
        (("bind", "customer_hr_admin"), "invalid-time-zone"),
        (("bind", "customer_payroll_admin"), "invalid-address"),
    ]
    assert svc.list_projects() == []


def test_people_are_stored_with_canonical_addresses(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(date(2026, 12, 4)))
    people = {**PEOPLE, "customer_payroll_admin": Person(" Lee Park ", "lee@BÜCHER.example", "America/Chicago")}
    project = svc.launch(
        PAYROLL, customer="Acme", kickoff_on=date(2026, 12, 7), bindings=people, pay_schedule="biweekly:2026-01-02"
    ).project
    stored = svc.get(project.id).bindings["customer_payroll_admin"]
    assert stored == Person("Lee Park", "lee@xn--bcher-kva.example", "America/Chicago")
