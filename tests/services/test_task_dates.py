"""The days recorded for work and holds, through the service on every store: refused ones change nothing."""

from __future__ import annotations

from datetime import date

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.core.blueprint import StartEvent
from onboarding.core.lifecycle import Action, ProjectState
from onboarding.core.ttfv import held_periods, ttfv_facts
from onboarding.errors import TransitionRefused
from tests.services.test_projects import launch, service
from tests.services.test_reports import World

D = date.fromisoformat


def refused(attempt, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TransitionRefused) as info:
        attempt()
    assert info.value.codes == [code]


def test_task_days_the_log_cannot_hold_are_refused_and_change_nothing(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-09")))
    pid = launch(svc).project.id  # kickoff Monday 2026-12-07
    before = svc.get(pid)
    for day, code in [
        ("1900-01-01", "date-too-early"),
        ("2099-06-01", "date-in-future"),
        ("9999-12-31", "date-in-future"),
        ("2026-12-04", "date-before-kickoff"),
    ]:
        refused(lambda day=day: svc.change_task(pid, "kickoff_call", Action.complete, on=D(day)), code)
    after = svc.get(pid)
    assert (after.version, after.tasks) == (before.version, before.tasks)
    assert [e.kind for e in svc.events(pid)] == ["project_launched"]

    svc.change_task(pid, "kickoff_call", Action.complete, on=D("2026-12-08"))
    refused(lambda: svc.change_task(pid, "sign_off_scope", Action.start, on=D("2026-12-07")), "date-before-predecessor")
    refused(
        lambda: svc.change_task(pid, "sign_off_scope", Action.complete, on=D("2026-12-07")), "date-before-predecessor"
    )
    forced = svc.change_task(pid, "sign_off_scope", Action.complete, on=D("2026-12-07"), force_date=True, reason="typo")
    assert forced.task("sign_off_scope").done_on == D("2026-12-07")
    event = next(e for e in reversed(svc.events(pid)) if e.task_key == "sign_off_scope")
    assert event.data["date_forced"] == ["date-before-predecessor"] and event.data["reason"] == "typo"
    assert "forced" not in event.data  # its predecessor was done: --force was not needed


def test_a_hold_that_began_last_friday_counts_from_then(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-16"))  # a Wednesday
    svc = service(store, clock)
    pid = launch(svc).project.id  # kickoff Monday 2026-12-07
    refused(lambda: svc.hold(pid, on=D("2026-12-04")), "date-before-kickoff")
    refused(lambda: svc.hold(pid, on=D("2026-12-17")), "date-in-future")
    assert svc.hold(pid, on=D("2026-12-11"), reason="customer away").state is ProjectState.on_hold
    refused(lambda: svc.resume(pid, on=D("2026-12-10")), "date-before-hold")
    refused(lambda: svc.resume(pid, on=D("9999-12-31")), "date-in-future")
    assert svc.resume(pid, on=D("2026-12-15")).state is ProjectState.active
    refused(lambda: svc.hold(pid, on=D("2026-12-14")), "date-before-resume")
    kinds = [e.kind for e in svc.events(pid)]
    assert kinds.count("project_held") == 1 and kinds.count("project_resumed") == 1
    events = svc.events(pid)
    assert held_periods(events, timezone="America/Chicago") == [(D("2026-12-11"), D("2026-12-15"))]
    svc.change_task(pid, "kickoff_call", Action.complete, on=D("2026-12-16"))
    facts = ttfv_facts(
        svc.events(pid),
        value_task="kickoff_call",
        start_event=StartEvent.kickoff,
        kickoff_on=D("2026-12-07"),
        timezone="America/Chicago",
    )
    assert (facts.value_on, facts.held_days) == (D("2026-12-16"), 4)  # Friday to Monday, net of the hold


def test_the_ttfv_report_nets_out_a_hold_from_the_day_given(store) -> None:  # type: ignore[no-untyped-def]
    w = World(store)
    pid = w.launch("Alpha")  # kickoff Monday 2026-01-05
    w.clock.set(D("2026-01-14"))  # a Wednesday: told today that the customer stopped on Friday
    w.projects.hold(pid, on=D("2026-01-09"))
    w.projects.resume(pid, on=D("2026-01-14"))
    w.do(pid, "first_use", Action.complete, "2026-01-25")
    (group,) = w.reports.ttfv(as_of=D("2026-03-01")).groups
    assert group.reached_calendar_days == (20,)
    assert group.net_days.median == 15.0  # the 9th to the 14th held: 5 days
