"""Launching and running projects through the service, on every store."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import update

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import projects
from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import MessageKind, OutgoingMessage, Person
from onboarding.core.status import reader_to_compose
from onboarding.errors import PayScheduleInvalid, PlanInputInvalid, ProjectNotFound, TransitionRefused
from onboarding.services.ports import ConcurrentChange, ProjectChange
from onboarding.services.projects import ProjectService
from tests.stores import queued_messages

ROOT = Path(__file__).parents[2]
PAYROLL = str(ROOT / "blueprints" / "payroll-implementation.yaml")
D = date.fromisoformat
SENDER = Person("Onboarding", "onboarding@vendor.example")

PEOPLE = {
    "implementation_manager": Person("Sam Okafor", "sam@vendor.example", "America/New_York"),
    "csm": Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles"),
    "impl_engineer": Person("Ivo Petrov", "ivo@vendor.example", "Europe/Sofia"),
    "payroll_specialist": Person("Mei Chen", "mei@vendor.example", "America/Chicago"),
    "customer_sponsor": Person("Alex Brown", "alex@acme.example", "America/Chicago"),
    "customer_payroll_admin": Person("Lee Park", "lee@acme.example", "America/Chicago"),
    "customer_hr_admin": Person("Kim Diaz", "kim@acme.example", "America/Chicago"),
}


def service(store, clock):  # type: ignore[no-untyped-def]
    return ProjectService(store=store, blueprints=FileBlueprints(), clock=clock, sender=SENDER)


def launch(svc, **more):  # type: ignore[no-untyped-def]
    return svc.launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=D("2026-12-07"),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02",
        segment="mid-market",
        **more,
    )


def test_launch_plans_stores_and_queues_kickoff_emails(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-04")))
    launched = launch(svc, external_id="CRM-123")
    assert launched.created
    project = svc.get("CRM-123")
    assert project.id == launched.project.id and project.customer == "Acme Manufacturing"
    assert project.committed_go_live_on == project.projected_go_live_on == D("2027-04-09")
    assert project.task("kickoff_call").due_on == D("2026-12-07")
    assert project.bindings["csm"] == PEOPLE["csm"]
    assert [e.kind for e in svc.events(project.id)] == ["project_launched"]


def test_launching_the_same_external_id_twice_makes_one_project(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-04")))
    first = launch(svc, external_id="CRM-9")
    second = launch(svc, external_id="CRM-9")
    assert not second.created and second.project.id == first.project.id
    assert len(svc.list_projects()) == 1


def test_relaunching_with_an_address_written_another_way_is_the_same_request(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-04")))
    people = {**PEOPLE, "csm": Person("Dana Ruiz", "dana@bücher.example")}  # stored in its ASCII (IDNA) form
    first, again = (
        svc.launch(
            PAYROLL,
            customer="Acme",
            kickoff_on=D("2026-12-07"),
            bindings=people,
            pay_schedule="biweekly:2026-01-02",
            external_id="CRM-7",
        )
        for _ in range(2)
    )
    assert first.project.bindings["csm"].email == "dana@xn--bcher-kva.example"
    assert not again.created and again.project.id == first.project.id


@pytest.mark.parametrize(
    ("signed", "code"),
    [("2026-12-05", "date-in-future"), ("1900-01-01", "date-too-early"), ("2025-12-05", "date-too-early")],
)
def test_a_contract_signed_after_today_or_long_before_kickoff_is_refused(store, signed: str, code: str) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-04")))
    with pytest.raises(PlanInputInvalid) as info:
        launch(svc, contract_signed_on=D(signed))
    assert info.value.codes == [code]
    assert store.list_projects() == []
    assert launch(svc, contract_signed_on=D("2025-12-07")).created  # a year before kickoff: kept


def test_relaunching_an_external_id_with_other_inputs_is_refused_naming_each_difference(store) -> None:  # type: ignore[no-untyped-def]
    from onboarding.errors import LaunchConflict
    from onboarding.services.projects import LaunchRequest

    svc = service(store, FixedClock(D("2026-12-04")))
    first = launch(svc, external_id="CRM-9", contract_signed_on=D("2026-11-20"))
    # the same request, its pay schedule written out with the default roll: the project it has
    same = svc.launch(
        PAYROLL,
        customer="Acme Manufacturing",
        kickoff_on=D("2026-12-07"),
        bindings=PEOPLE,
        pay_schedule="biweekly:2026-01-02:preceding",
        segment="mid-market",
        external_id="CRM-9",
        contract_signed_on=D("2026-11-20"),
    )
    assert not same.created and same.project.id == first.project.id
    other = {**PEOPLE, "csm": Person("Pat Lee", "pat@vendor.example")}
    with pytest.raises(LaunchConflict) as info:
        svc.launch(
            str(ROOT / "blueprints" / "saas-onboarding.yaml"),
            customer="Birch Ltd",
            kickoff_on=D("2026-12-08"),
            bindings=other,
            external_id="CRM-9",
        )
    assert info.value.codes == ["external-id-conflict"]
    detail = "\n".join(info.value.problems[0].detail)
    for differs in ("blueprint", "customer", "kickoff", "pay schedule", "segment", "contract signed", "role csm"):
        assert f"{differs}: launched with " in detail, differs
    assert first.project.id in str(info.value)
    # twice in one batch with different customers: refused too, and nothing of the batch is stored
    twice = [
        LaunchRequest(PAYROLL, customer=name, kickoff_on=D("2026-12-07"), bindings=PEOPLE, external_id="CRM-10")
        for name in ("Acme", "Birch")
    ]
    with pytest.raises(LaunchConflict) as info:
        svc.launch_many(twice)
    assert info.value.codes == ["external-id-conflict"] and info.value.problems[0].loc == (1,)
    assert [p.id for p in svc.list_projects()] == [first.project.id]
    assert [e.kind for e in svc.events(first.project.id)] == ["project_launched"]


def test_a_missing_binding_is_refused_and_nothing_is_stored(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-04")))
    people = {k: v for k, v in PEOPLE.items() if k != "customer_sponsor"}
    with pytest.raises(PlanInputInvalid) as info:
        svc.launch(
            PAYROLL, customer="Acme", kickoff_on=D("2026-12-07"), bindings=people, pay_schedule="biweekly:2026-01-02"
        )
    assert info.value.codes == ["missing-binding"]
    assert svc.list_projects() == []


def test_work_is_recorded_checked_and_reforecast(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    svc.change_task(pid, "kickoff_call", Action.complete, by="dana")
    with pytest.raises(TransitionRefused) as info:
        svc.change_task(pid, "company_setup_questionnaire", Action.complete)
    assert info.value.codes == ["predecessors-not-done"]
    clock.set(D("2026-12-10"))
    project = svc.change_task(pid, "sign_off_scope", Action.complete, by="alex", on=D("2026-12-10"))
    assert project.task("sign_off_scope").state is TaskState.done
    assert project.task("sign_off_scope").done_on == D("2026-12-10")
    # a day late: what follows moves by a day
    assert project.task("company_setup_questionnaire").start_on == D("2026-12-11")
    forced = svc.change_task(pid, "load_ytd_balances", Action.complete, force=True, reason="loaded early")
    assert forced.task("load_ytd_balances").state is TaskState.done
    kinds = [e.kind for e in svc.events(pid)]
    assert kinds.count("task_completed") == 3 and "plan_reforecast" in kinds
    last = next(e for e in svc.events(pid) if e.task_key == "load_ytd_balances")
    assert last.data["forced"] is True and last.data["reason"] == "loaded early"


def test_a_slip_past_the_window_alerts_the_csm_and_escalation_once(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    for key in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        svc.change_task(pid, key, Action.complete)
    svc.change_task(pid, "employer_bank_verification", Action.start)
    # the bank verification drags on for months: by late March it cannot be done
    # 10 banking days before the 2027-04-09 check date
    clock.set(D("2027-03-29"))
    project = svc.reforecast(pid)
    assert project.projected_go_live_on is not None and project.projected_go_live_on > D("2027-04-09")
    assert project.committed_go_live_on == D("2027-04-09")
    jumps = [e for e in svc.events(pid) if e.kind == "window_jump"]
    assert len(jumps) == 1
    svc.reforecast(pid)  # nothing new: no second alert
    assert len([e for e in svc.events(pid) if e.kind == "window_jump"]) == 1
    (alert,) = queued_messages(store, kind=MessageKind.window_jump)
    assert {p.email for p in alert.to} == {"dana@vendor.example", "sam@vendor.example"}
    # the task on the go-live's chain with the largest own slip: started on 7 Dec, expected two business days
    # later, still open (the never-started questionnaire is late too, but was expected later)
    assert [(c["title"], c["expected_on"], c["slip_days"]) for c in alert.context["causes"]] == [
        ("Verify the employer's funding bank account", "2026-12-08", 111)
    ]
    assert alert.context["committed_on"] == "2027-04-09"
    assert not alert.customer_facing


def test_a_task_done_late_keeps_the_date_it_was_expected_by(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    svc.change_task(pid, "kickoff_call", Action.complete, by="dana", on=D("2026-12-07"))
    expected = svc.get(pid).task("sign_off_scope").target_due_on
    assert expected == D("2026-12-09")  # two business days after the kickoff call
    clock.set(D("2026-12-14"))
    svc.change_task(pid, "sign_off_scope", Action.start, by="alex", on=D("2026-12-08"))
    done = svc.change_task(pid, "sign_off_scope", Action.complete, by="alex", on=D("2026-12-14"))
    task = done.task("sign_off_scope")
    assert (task.done_on, task.target_due_on) == (D("2026-12-14"), expected)  # three business days late
    # what follows is expected from the real finish
    assert done.task("company_setup_questionnaire").target_due_on > expected
    # reopened, it is open work again: expected by when its predecessors' real finish says,
    # and its nudges start afresh with its owner
    reopened = svc.change_task(pid, "sign_off_scope", Action.reopen, by="alex").task("sign_off_scope")
    assert reopened.target_due_on == expected
    assert (reopened.due_version, reopened.nudges_sent, reopened.last_nudged_on) == (task.due_version + 1, 0, None)


def test_the_change_that_ends_a_late_project_keeps_its_dates_as_of_that_day(store) -> None:  # type: ignore[no-untyped-def]
    # no re-forecast follows the last task's completion: the project ends with the dates its readers saw that day
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    *first, last = sorted(svc.get(pid).tasks, key=lambda t: t.position)
    for task in first:
        svc.change_task(pid, task.key, Action.complete, force=True, reason="done early")
    clock.set(D("2027-06-01"))  # the last task is late: its dates as of today moved since they were stored
    seen = svc.get(pid)
    assert seen.task(last.key).start_on > svc.stored_many([pid])[0].task(last.key).start_on
    ended = svc.change_task(pid, last.key, Action.complete, force=True, reason="done late")
    assert ended.state is ProjectState.completed and svc.get(pid).state is ProjectState.completed

    def dates(project):  # type: ignore[no-untyped-def]
        return [(t.key, t.start_on, t.due_on, t.late_due_on) for t in project.tasks]

    assert dates(svc.get(pid)) == dates(ended) == dates(seen)


def test_hold_stops_work_until_resumed(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    pid = launch(svc).project.id
    assert svc.hold(pid, reason="customer reorganising").state is ProjectState.on_hold
    with pytest.raises(TransitionRefused) as info:
        svc.change_task(pid, "kickoff_call", Action.complete)
    assert info.value.codes == ["project-on-hold"]
    assert svc.resume(pid).state is ProjectState.active
    svc.change_task(pid, "kickoff_call", Action.complete)


def test_unknown_project(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    with pytest.raises(ProjectNotFound):
        svc.get("nope")


def test_a_stale_write_is_refused(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    project = launch(svc).project
    store.save_many([ProjectChange(project, project, [], [])])
    with pytest.raises(ConcurrentChange):
        store.save_many([ProjectChange(project, project, [], [])])


def test_launch_many_checks_everything_first_and_skips_known_external_ids(store) -> None:  # type: ignore[no-untyped-def]
    from onboarding.services.projects import LaunchRequest

    svc = service(store, FixedClock(D("2026-12-04")))

    def request(external_id: str, people: dict[str, Person] = PEOPLE) -> LaunchRequest:
        return LaunchRequest(
            PAYROLL,
            customer=f"Customer {external_id}",
            kickoff_on=D("2026-12-07"),
            bindings=people,
            pay_schedule="biweekly:2026-01-02",
            external_id=external_id,
        )

    svc.launch_many([request("CRM-1")])
    broken = {k: v for k, v in PEOPLE.items() if k != "csm"}
    with pytest.raises(PlanInputInvalid) as info:
        svc.launch_many([request("CRM-2"), request("CRM-3", broken)])
    assert info.value.codes == ["missing-binding"] and info.value.problems[0].loc[0] == 1
    assert len(svc.list_projects()) == 1  # nothing of the batch was stored
    results = svc.launch_many([request("CRM-1"), request("CRM-2"), request("CRM-2"), request("CRM-4")])
    assert [r.created for r in results] == [False, True, False, True]
    assert results[1].project.id == results[2].project.id
    assert len(svc.list_projects()) == 3
    assert svc.get("CRM-4").committed_go_live_on == D("2027-04-09")


def test_completing_a_milestone_queues_status_emails_to_the_customer_recipients(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    pid = launch(svc).project.id
    svc.change_task(pid, "kickoff_call", Action.complete)
    svc.change_task(pid, "sign_off_scope", Action.complete)
    assert queued_messages(store, kind=MessageKind.status) == []
    svc.change_task(pid, "notify_old_provider", Action.complete)  # the last task of the Kickoff milestone
    status = queued_messages(store, kind=MessageKind.status)
    assert sorted(m.to[0].email for m in status) == ["alex@acme.example", "lee@acme.example"]
    # queued to be composed when delivered, from the project as of then
    assert all(m.customer_facing and m.subject.endswith("onboarding: Kickoff complete") for m in status)
    assert all(getattr(reader_to_compose(m), "milestone", None) == "kickoff" for m in status)
    composed = svc.compose(status)
    assert all(
        isinstance(m, OutgoingMessage)
        and reader_to_compose(m) is None
        and m.context["completed_milestone"] == "Kickoff"
        and (m.idempotency_key, m.subject) == (q.idempotency_key, q.subject)
        for m, q in zip(composed, status, strict=True)
    )


def _slipping(svc, customer: str) -> str:  # type: ignore[no-untyped-def]
    """A project whose bank verification drags on (as in the window-jump test above)."""
    pid = svc.launch(
        PAYROLL, customer=customer, kickoff_on=D("2026-12-07"), bindings=PEOPLE, pay_schedule="biweekly:2026-01-02"
    ).project.id
    for key in ("kickoff_call", "sign_off_scope", "notify_old_provider"):
        svc.change_task(pid, key, Action.complete)
    svc.change_task(pid, "employer_bank_verification", Action.start)
    return pid


def queued(store, project_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(kind, key) of each email queued for the project, its id in the key written P."""
    rows = [(m.kind.value, m.idempotency_key) for m in queued_messages(store, project_id=project_id)]
    return sorted((kind, key.replace(project_id, "P")) for kind, key in rows)


def test_reforecasting_together_writes_what_one_at_a_time_does(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    alone, together, other = (_slipping(svc, name) for name in ("Acme", "Birch", "Cedar"))
    for day in ("2027-01-20", "2027-03-29", "2027-03-30"):
        clock.set(D(day))
        svc.reforecast(alone)
        assert svc.reforecast_many([together, other, "no-such-project"]) == 2
        a, b = svc.get(alone), svc.get(together)
        assert a.tasks == b.tasks
        assert (a.projected_go_live_on, a.finish_on, a.version) == (b.projected_go_live_on, b.finish_on, b.version)
        after_launch = [[(e.kind, e.data) for e in svc.events(p)[1:]] for p in (alone, together)]
        assert after_launch[0] == after_launch[1]
    assert [e.kind for e in svc.events(together)].count("window_jump") == 1
    # the same emails queued, the window-jump alerts among them
    assert queued(store, alone) == queued(store, together) == queued(store, other)
    assert ("window_jump", "window_jump:P:2027-07-02") in queued(store, together)
    # nothing moved since: nothing is written
    versions = [svc.get(p).version for p in (together, other)]
    svc.reforecast_many([together, other])
    assert [svc.get(p).version for p in (together, other)] == versions


def test_a_batch_changed_meanwhile_is_written_by_no_one_and_reforecast_one_at_a_time(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    first, second = _slipping(svc, "Acme"), _slipping(svc, "Birch")
    clock.set(D("2027-03-29"))
    read = store.load_many([first, second])
    svc.change_task(second, "company_setup_questionnaire", Action.start)  # someone else gets there first
    changes = [ProjectChange(p, replace(p, customer=p.customer + " (renamed)"), [], []) for p in read]
    with pytest.raises(ConcurrentChange):
        store.save_many(changes)
    assert svc.get(first).customer == "Acme" and svc.get(first).version == read[0].version  # none written

    class Racing:
        """The store, with another change landing between the batch's read and its write."""

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def load_many(self, ids: list[str]) -> list[object]:
            found = store.load_many(ids)
            if len(reads) < races:  # a write that re-plans nothing lands before the batch is written
                (now,) = store.load_many([first])
                store.save_many([ProjectChange(now, replace(now, segment=f"race {len(reads)}"), [], [])])
            reads.append(ids)
            return found

    racing = ProjectService(store=Racing(), blueprints=FileBlueprints(), clock=clock, sender=SENDER)  # type: ignore[arg-type]
    for races, day in ((1, "2027-03-29"), (10, "2027-03-30")):  # once: read again; every time: one by one
        reads: list[list[str]] = []
        clock.set(D(day))
        assert racing.reforecast_many([first, second]) == 2
        assert len(reads) == min(races + 1, 5)
        for pid in (first, second):
            project = svc.get(pid)
            assert project.projected_go_live_on is not None and project.projected_go_live_on > D("2027-04-09")
            assert [e.kind for e in svc.events(pid)].count("window_jump") == 1
            assert project.updated_at.date() == D(day)


def test_a_project_that_cannot_be_replanned_does_not_keep_the_batch_from_being_written(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    broken, fine = _slipping(svc, "Acme"), _slipping(svc, "Birch")
    if hasattr(store, "engine"):
        with store.engine.begin() as connection:
            connection.execute(update(projects).where(projects.c.id == broken).values(pay_schedule="fortnightly"))
    else:
        store.projects[broken] = replace(store.projects[broken], pay_schedule="fortnightly")
    clock.set(D("2027-03-29"))
    with pytest.raises(PayScheduleInvalid):
        svc.reforecast_many([broken, fine])
    assert svc.get(fine).projected_go_live_on > D("2027-04-09")  # written all the same
    assert "window_jump" not in [e.kind for e in svc.events(broken)]
