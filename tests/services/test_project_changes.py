"""Cancel, recommit, rebind, note and history through the project service, on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryOutbox, InMemoryProjectStore
from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import MessageKind, Person
from onboarding.core.project_changes import HistoryQuery
from onboarding.errors import ChangeConflict, PlanInputInvalid, TransitionRefused
from onboarding.services.ports import OutboxQuery
from tests.services.test_projects import D, launch, service


def clock(day: str) -> FixedClock:
    d = D(day)
    return FixedClock(d, at=datetime(d.year, d.month, d.day, 15, tzinfo=UTC))


def test_cancel_records_why_and_who_and_refuses_every_later_change(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-10"))
    pid = launch(svc, external_id="CRM-1").project.id
    cancelled = svc.cancel("CRM-1", reason="Deal lost", by="dana")
    assert cancelled.state is ProjectState.cancelled and svc.get(pid).state is ProjectState.cancelled
    event = svc.events(pid)[-1]
    assert (event.kind, event.actor) == ("cancelled", "dana")
    assert (event.data["reason"], event.data["from"]) == ("Deal lost", "active")
    # its open work is closed with it (out of the open-task indexes, never overdue), what it was kept in the event
    stored = svc.get(pid)
    assert {t.state for t in stored.tasks} == {TaskState.cancelled}
    assert event.data["closed_tasks"] == {t.key: "pending" for t in stored.tasks}
    assert stored.overdue(D("2027-06-01")) == []
    for change, code in (
        (lambda: svc.cancel(pid, reason="again"), "project-cancelled"),
        (lambda: svc.change_task(pid, "kickoff_call", Action.complete), "project-cancelled"),
        (lambda: svc.hold(pid), "project-cancelled"),
        (lambda: svc.recommit(pid, reason="r"), "project-cancelled"),
    ):
        with pytest.raises(TransitionRefused) as refused:
            change()
        assert refused.value.codes == [code]
    assert [e.kind for e in svc.events(pid)] == ["project_launched", "cancelled"]
    assert svc.reforecast_many([pid]) == 0  # nothing left to plan
    assert [p.id for p in svc.list_projects(state="cancelled")] == [pid]


def test_a_held_project_can_be_cancelled(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-10"))
    pid = launch(svc).project.id
    svc.hold(pid, reason="budget freeze")
    assert svc.cancel(pid, reason="budget gone", on=D("2026-12-09")).state is ProjectState.cancelled
    assert svc.events(pid)[-1].data["on"] == "2026-12-09"


def test_cancel_without_a_reason_changes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-10"))
    project = launch(svc).project
    with pytest.raises(TransitionRefused) as refused:
        svc.cancel(project.id, reason="  ")
    assert refused.value.codes == ["reason-required"]
    assert svc.get(project.id).state is ProjectState.active and len(svc.events(project.id)) == 1


def test_recommit_accepts_the_projection_and_stops_the_comparison_with_the_old_date(store) -> None:  # type: ignore[no-untyped-def]
    now = clock("2026-12-07")
    svc = service(store, now)
    project = launch(svc).project
    with pytest.raises(TransitionRefused) as refused:
        svc.recommit(project.id, reason="nothing late yet")
    assert refused.value.codes == ["nothing-to-recommit"]
    pid = project.id
    for key in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        svc.change_task(pid, key, Action.complete)
    svc.change_task(pid, "employer_bank_verification", Action.start)
    now.set(D("2027-03-29"))  # the bank verification dragged on: the go-live leaves its window (one alert)
    moved = svc.reforecast(pid)
    assert moved.projected_go_live_on is not None and moved.projected_go_live_on > D("2027-04-09")
    loaded = svc.blueprint_of(moved)

    def on_track(p):  # type: ignore[no-untyped-def]
        return [m.context["go_live"]["on_track"] for m in svc.status_messages(p, loaded, completed=["kickoff"])]

    assert on_track(moved) and not any(on_track(moved))  # "later than committed"
    recommitted = svc.recommit(pid, reason="customer data late", by="dana")
    assert recommitted.committed_go_live_on == moved.projected_go_live_on
    stored = svc.get(pid)
    assert stored.committed_go_live_on == moved.projected_go_live_on
    assert stored.launch_commitment == D("2027-04-09") and stored.recommits == 1
    event = svc.events(pid)[-1]
    assert event.kind == "recommitted" and event.actor == "dana" and event.data["reason"] == "customer data late"
    assert (event.data["from"], event.data["to"]) == ("2027-04-09", moved.projected_go_live_on.isoformat())
    assert all(on_track(stored))  # the customer's emails compare to the accepted date now
    # re-planned again (the commitment holds the go-live no earlier than it): no new alert for the accepted date
    again = svc.reforecast(pid)
    assert again.projected_go_live_on == stored.committed_go_live_on
    assert [e.kind for e in svc.events(pid)].count("window_jump") == 1
    with pytest.raises(TransitionRefused) as refused:
        svc.recommit(pid, reason="again")
    assert refused.value.codes == ["nothing-to-recommit"]


def test_rebind_changes_who_is_emailed_from_now_on(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-04"))
    pid = launch(svc).project.id
    jo = Person("Jo Smith", "jo@acme.example", "America/Denver")
    changed = svc.rebind(pid, "customer_payroll_admin", jo, note="Lee left Acme", by="dana")
    assert changed.bindings["customer_payroll_admin"] == jo
    stored = svc.get(pid)
    assert stored.bindings["customer_payroll_admin"] == jo
    assert stored.bindings["csm"].email == "dana@vendor.example"  # the others as they were
    event = svc.events(pid)[-1]
    assert event.kind == "rebound" and event.data["from"]["email"] == "lee@acme.example"
    assert event.data["to"] == {"name": "Jo Smith", "email": "jo@acme.example", "time_zone": "America/Denver"}
    # the next status email goes to Jo, not Lee
    loaded = svc.blueprint_of(stored)
    to = {p.email for m in svc.status_messages(stored, loaded, completed=["kickoff"]) for p in m.to}
    assert "jo@acme.example" in to and "lee@acme.example" not in to
    with pytest.raises(PlanInputInvalid) as refused:
        svc.rebind(pid, "payroll_admin", jo)
    assert refused.value.codes == ["unknown-role"]
    assert len(svc.events(pid)) == 2


def test_notes_and_history(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-07"))
    pid = launch(svc).project.id
    svc.note(pid, "Customer asked for a second kickoff", by="dana")
    svc.change_task(pid, "kickoff_call", Action.complete, by="dana")
    svc.note(pid, "Went well", task="kickoff_call", by="sam")
    with pytest.raises(PlanInputInvalid) as refused:
        svc.note(pid, "x", task="kickof_call")
    assert refused.value.codes == ["unknown-task"]
    page = svc.history(pid, HistoryQuery(kinds=("noted",), newest_first=True))
    assert [(h.event.actor, h.event.task_key, h.event.data["text"]) for h in page.entries] == [
        ("sam", "kickoff_call", "Went well"),
        ("dana", None, "Customer asked for a second kickoff"),
    ]
    assert [h.event.kind for h in svc.history(pid, HistoryQuery(task="kickoff_call")).entries] == [
        "task_completed",
        "noted",
    ]
    assert [h.seq for h in svc.history(pid, HistoryQuery(actor="dana")).entries] == [2, 3]
    # a cancelled project still takes notes
    svc.cancel(pid, reason="lost")
    svc.note(pid, "Post-mortem booked")
    assert svc.history(pid).entries[-1].event.kind == "noted"


def test_a_change_decided_on_a_stale_version_is_refused_and_writes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-07"))
    project = launch(svc).project
    seen = svc.get(project.id).version
    svc.note(project.id, "someone else's change")
    with pytest.raises(ChangeConflict) as refused:
        svc.cancel(project.id, reason="lost", expected_version=seen)
    assert refused.value.codes == ["concurrent-change"]
    assert svc.get(project.id).state is ProjectState.active
    assert svc.cancel(project.id, reason="lost", expected_version=seen + 1).state is ProjectState.cancelled


def test_queued_kickoff_emails_of_a_cancelled_project_are_never_delivered(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-04"))
    pid = launch(svc).project.id
    svc.cancel(pid, reason="Deal lost")
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    now = datetime(2026, 12, 4, 16, tzinfo=UTC)
    assert outbox.claim(now=now, worker="run:1", limit=100, lease=timedelta(minutes=5)) == []
    entries, total = outbox.entries(OutboxQuery(project_id=pid))
    assert total == 7 and {e.state for e in entries} == {"suppressed"}
    assert all(e.last_error == "project cancelled: Deal lost" for e in entries)
    assert {e.kind for e in entries} == {MessageKind.kickoff.value}


def test_a_weekly_status_decided_before_a_cancel_is_not_queued_after_it(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, clock("2026-12-14"))
    project = launch(svc).project
    decided = svc.status_messages(project, svc.blueprint_of(project), completed=["kickoff"])
    assert decided
    svc.cancel(project.id, reason="Deal lost")
    assert svc.queue(decided) == 0  # the sweep's batch, read before the cancel, queued after it
    outbox = InMemoryOutbox(store) if isinstance(store, InMemoryProjectStore) else SqlOutbox(store.engine)
    entries, _total = outbox.entries(OutboxQuery(project_id=project.id))
    assert {e.kind for e in entries} == {MessageKind.kickoff.value}
