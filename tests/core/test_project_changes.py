"""The verbs of a live project in the core: cancel (the project table), recommit, rebind, note, history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from onboarding.core.graph import TaskGraph
from onboarding.core.lifecycle import (
    PROJECT_TRANSITIONS,
    Action,
    Event,
    ProjectAction,
    ProjectState,
    TaskState,
    cancel,
    hold,
    resume,
    transition,
)
from onboarding.core.messages import Person
from onboarding.core.project_changes import HistoryQuery, close_open_tasks, note, rebind, recommit, select_history
from onboarding.core.projects import ProjectRecord, TaskRecord
from onboarding.errors import PlanInputInvalid, TransitionRefused

D = date.fromisoformat
AT = datetime(2027, 1, 5, 15, 0, tzinfo=UTC)
TODAY = D("2027-01-05")
KICKOFF = D("2026-12-07")


def project(**changes: object) -> ProjectRecord:
    base = ProjectRecord(
        id="acme-1",
        external_id=None,
        customer="Acme",
        segment=None,
        blueprint_key="payroll",
        blueprint_version="1",
        blueprint_title="Payroll",
        blueprint_source="x.yaml",
        blueprint_text="",
        kickoff_on=KICKOFF,
        pay_schedule=None,
        state=ProjectState.active,
        committed_go_live_on=D("2027-04-09"),
        projected_go_live_on=D("2027-04-23"),
        finish_on=D("2027-05-01"),
        bindings={"csm": Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles")},
        tasks=(),
        created_at=AT,
        updated_at=AT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- cancel ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [ProjectState.active, ProjectState.on_hold])
def test_an_active_or_held_project_is_cancelled_with_its_reason_and_actor(state: ProjectState) -> None:
    new, event = cancel(state, today=TODAY, kickoff_on=KICKOFF, at=AT, actor="dana", reason="  Deal lost  ")
    assert new is ProjectState.cancelled
    assert (event.kind, event.actor, event.task_key) == ("cancelled", "dana", None)
    assert event.data == {"from": state.value, "reason": "Deal lost"}


def test_the_table_declares_cancelled_terminal() -> None:
    assert PROJECT_TRANSITIONS[(ProjectState.active, ProjectAction.cancel)] is ProjectState.cancelled
    assert not [a for (s, a) in PROJECT_TRANSITIONS if s is ProjectState.cancelled]


@pytest.mark.parametrize(
    ("state", "code"),
    [(ProjectState.completed, "project-completed"), (ProjectState.cancelled, "project-cancelled")],
)
def test_a_live_or_cancelled_project_cannot_be_cancelled(state: ProjectState, code: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        cancel(state, today=TODAY, kickoff_on=KICKOFF, at=AT, actor="dana", reason="why")
    assert refused.value.codes == [code]


@pytest.mark.parametrize(
    ("reason", "code"), [("", "reason-required"), ("   ", "reason-required"), ("x" * 2001, "text-too-long")]
)
def test_a_cancel_needs_a_reason_of_bounded_length(reason: str, code: str) -> None:
    with pytest.raises(TransitionRefused) as refused:
        cancel(ProjectState.active, today=TODAY, kickoff_on=KICKOFF, at=AT, actor="dana", reason=reason)
    assert refused.value.codes == [code]


def test_a_cancel_is_not_dated_after_today_and_keeps_its_day() -> None:
    with pytest.raises(TransitionRefused) as refused:
        cancel(ProjectState.active, on=D("2027-01-06"), today=TODAY, kickoff_on=KICKOFF, at=AT, actor="a", reason="r")
    assert refused.value.codes == ["date-in-future"]
    _state, event = cancel(
        ProjectState.active, on=D("2027-01-04"), today=TODAY, kickoff_on=KICKOFF, at=AT, actor="a", reason="r"
    )
    assert event.data["on"] == "2027-01-04"


def test_nothing_changes_a_cancelled_project() -> None:
    for refused_change in (
        lambda: hold(ProjectState.cancelled, today=TODAY, kickoff_on=KICKOFF, at=AT, actor="a"),
        lambda: resume(ProjectState.cancelled, today=TODAY, at=AT, actor="a"),
    ):
        with pytest.raises(TransitionRefused) as refused:
            refused_change()
        assert refused.value.codes == ["project-cancelled"]


def test_no_task_changes_in_a_cancelled_project() -> None:
    with pytest.raises(TransitionRefused) as refused:
        transition(
            TaskGraph.__new__(TaskGraph),
            {},
            "anything",
            Action.complete,
            on=TODAY,
            at=AT,
            actor="a",
            kickoff_on=KICKOFF,
            today=TODAY,
            project_state=ProjectState.cancelled,
        )
    assert refused.value.codes == ["project-cancelled"]


# -- recommit ----------------------------------------------------------------------------------------------------


def test_recommit_accepts_the_projected_go_live_and_keeps_the_launch_commitment() -> None:
    changed, event = recommit(project(), reason="Customer's data late", at=AT, actor="dana", today=TODAY)
    assert changed.committed_go_live_on == D("2027-04-23")
    assert changed.launch_commitment == D("2027-04-09") and changed.recommits == 1
    assert event.kind == "recommitted" and event.actor == "dana"
    assert event.data == {"from": "2027-04-09", "to": "2027-04-23", "reason": "Customer's data late"}
    # a second recommit later keeps the first commitment for the on-time rate
    later = replace(changed, projected_go_live_on=D("2027-05-07"))
    again, _ = recommit(later, reason="r", at=AT, actor="d", today=TODAY)
    assert again.launch_commitment == D("2027-04-09") and again.recommits == 2


@pytest.mark.parametrize("projected", [D("2027-04-09"), D("2027-04-02"), None])
def test_nothing_to_recommit_when_the_projection_is_within_the_commitment(projected: date | None) -> None:
    with pytest.raises(TransitionRefused) as refused:
        recommit(project(projected_go_live_on=projected), reason="r", at=AT, actor="d", today=TODAY)
    assert refused.value.codes == ["nothing-to-recommit"]


def test_recommit_needs_a_reason_and_a_live_project() -> None:
    with pytest.raises(TransitionRefused) as refused:
        recommit(project(), reason=" ", at=AT, actor="d", today=TODAY)
    assert refused.value.codes == ["reason-required"]
    with pytest.raises(TransitionRefused) as refused:
        recommit(project(state=ProjectState.cancelled), reason="r", at=AT, actor="d", today=TODAY)
    assert refused.value.codes == ["project-cancelled"]


# -- rebind ------------------------------------------------------------------------------------------------------

ROLES = ("csm", "implementation_manager", "customer_payroll_admin")


def test_rebind_puts_another_person_in_the_role_and_records_both() -> None:
    person = Person(" Jo Smith ", "jo@bücher.example", "Europe/Berlin")  # stored as the address rule writes it
    changed, event = rebind(project(), "csm", person, roles=ROLES, note="Dana on leave", at=AT, actor="sam")
    assert changed.bindings["csm"] == Person("Jo Smith", "jo@xn--bcher-kva.example", "Europe/Berlin")
    assert event.kind == "rebound" and event.actor == "sam"
    assert event.data["role"] == "csm" and event.data["note"] == "Dana on leave"
    dana = {"name": "Dana Ruiz", "email": "dana@vendor.example", "time_zone": "America/Los_Angeles"}
    assert event.data["from"] == dana
    assert event.data["to"]["email"] == "jo@xn--bcher-kva.example"


def test_an_unknown_role_is_refused_with_a_guess() -> None:
    with pytest.raises(PlanInputInvalid) as refused:
        rebind(project(), "cms", Person("Jo", "jo@vendor.example"), roles=ROLES, at=AT, actor="sam")
    assert refused.value.codes == ["unknown-role"]
    assert "'csm'" in refused.value.problems[0].hint


def test_a_bad_address_or_zone_or_the_same_person_is_refused() -> None:
    with pytest.raises(PlanInputInvalid) as refused:
        rebind(project(), "csm", Person("Jo", "not an address", "Mars/Base"), roles=ROLES, at=AT, actor="s")
    assert sorted(refused.value.codes) == ["invalid-address", "invalid-time-zone"]
    same = Person("Dana Ruiz", "dana@vendor.example", "America/Los_Angeles")
    with pytest.raises(PlanInputInvalid) as refused:
        rebind(project(), "csm", same, roles=ROLES, at=AT, actor="s")
    assert refused.value.codes == ["binding-unchanged"]


def task(key: str, state: TaskState = TaskState.pending) -> TaskRecord:
    """A task row of its own key and state, every date the kickoff."""
    return TaskRecord(
        key=key,
        position=0,
        title=key,
        milestone_key="m",
        milestone_title="M",
        owner_role="csm",
        side="vendor",
        calendar="vendor",
        kind="human",
        duration_business_days=1,
        customer_visible=True,
        first_value=False,
        launch=False,
        state=state,
        started_on=None,
        done_on=None,
        start_on=KICKOFF,
        due_on=KICKOFF,
        target_due_on=KICKOFF,
        late_due_on=KICKOFF,
        slack_business_days=0,
        critical=False,
    )


# -- note --------------------------------------------------------------------------------------------------------


def test_a_note_is_an_event_on_the_project_or_a_task() -> None:
    p = project(tasks=(task("kickoff_call"),))
    event = note(p, "  Called the customer  ", at=AT, actor="dana")
    assert (event.kind, event.task_key, event.data) == ("noted", None, {"text": "Called the customer"})
    assert note(p, "ok", task="kickoff_call", at=AT, actor="dana").task_key == "kickoff_call"
    with pytest.raises(PlanInputInvalid) as refused:
        note(p, "ok", task="kickof_call", at=AT, actor="dana")
    assert refused.value.codes == ["unknown-task"] and "kickoff_call" in refused.value.problems[0].hint
    for text, code in (("  ", "empty-note"), ("x" * 2001, "text-too-long")):
        with pytest.raises(PlanInputInvalid) as refused:
            note(p, text, at=AT, actor="dana")
        assert refused.value.codes == [code]


# -- history -----------------------------------------------------------------------------------------------------


def log() -> list[Event]:
    def at(day: str) -> datetime:
        d = D(day)
        return datetime(d.year, d.month, d.day, 12, tzinfo=UTC)

    return [
        Event("project_launched", at("2026-12-04"), "cli"),
        Event("task_completed", at("2026-12-07"), "dana", "kickoff_call"),
        Event("noted", at("2026-12-08"), "dana", "kickoff_call", {"text": "went well"}),
        Event("plan_reforecast", at("2026-12-09"), "engine"),
        Event("noted", at("2026-12-10"), "sam", None, {"text": "budget ok"}),
        Event("cancelled", at("2026-12-11"), "sam", None, {"reason": "lost"}),
    ]


def test_history_filters_by_kind_task_actor_and_days() -> None:
    events = log()
    assert [h.seq for h in select_history(events, HistoryQuery(kinds=("noted",))).entries] == [3, 5]
    assert [h.seq for h in select_history(events, HistoryQuery(task="kickoff_call")).entries] == [2, 3]
    assert [h.seq for h in select_history(events, HistoryQuery(actor="sam")).entries] == [5, 6]
    page = select_history(events, HistoryQuery(since=D("2026-12-08"), until=D("2026-12-10")))
    assert [h.seq for h in page.entries] == [3, 4, 5] and page.total == 3


def test_history_newest_first_in_pages_after_a_cursor() -> None:
    events = log()
    first = select_history(events, HistoryQuery(newest_first=True, limit=4))
    assert [h.seq for h in first.entries] == [6, 5, 4, 3] and first.next_after == 3 and first.total == 6
    rest = select_history(events, HistoryQuery(newest_first=True, limit=4, after=first.next_after))
    assert [h.seq for h in rest.entries] == [2, 1] and rest.next_after is None
    oldest = select_history(events, HistoryQuery(limit=2, after=2))
    assert [h.seq for h in oldest.entries] == [3, 4] and oldest.next_after == 4


def test_history_refuses_unknown_kinds_and_impossible_filters_all_at_once() -> None:
    with pytest.raises(PlanInputInvalid) as refused:
        select_history(log(), HistoryQuery(kinds=("notes",), since=D("2027-01-02"), until=D("2027-01-01"), limit=0))
    assert refused.value.codes == ["invalid-history-filter", "invalid-history-filter", "unknown-event-kind"]
    assert "'noted'" in next(p.hint for p in refused.value.problems if p.code == "unknown-event-kind")


def test_history_of_a_task_the_project_does_not_have_is_refused_with_a_suggestion() -> None:
    with pytest.raises(PlanInputInvalid) as refused:
        select_history(log(), HistoryQuery(task="kickof_call"), tasks=["kickoff_call", "sign_off"])
    assert refused.value.codes == ["unknown-task"] and "'kickoff_call'" in refused.value.problems[0].hint
    assert select_history(log(), HistoryQuery(task="sign_off"), tasks=["kickoff_call", "sign_off"]).total == 0


def test_closing_a_cancelled_projects_open_tasks_keeps_what_each_was() -> None:
    tasks = (
        task("a", TaskState.done),
        task("b", TaskState.in_progress),
        task("c", TaskState.blocked),
        task("d", TaskState.skipped),
        task("e", TaskState.pending),
    )
    _state, event = cancel(ProjectState.active, today=TODAY, kickoff_on=KICKOFF, at=AT, actor="a", reason="r")
    closed, event = close_open_tasks(project(tasks=tasks), event)
    assert [t.state for t in closed.tasks] == [
        TaskState.done,
        TaskState.cancelled,
        TaskState.cancelled,
        TaskState.skipped,
        TaskState.cancelled,
    ]
    assert event.data["closed_tasks"] == {"b": "in_progress", "c": "blocked", "e": "pending"}
