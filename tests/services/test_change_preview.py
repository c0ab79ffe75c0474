"""Previewing a change: the dates it would move are the dates applying it moves, and a preview stores nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.change_preview import DateChanges
from onboarding.core.lifecycle import Action
from onboarding.core.projects import ProjectRecord
from onboarding.errors import OnboardingError, ProblemsError
from onboarding.services.projects import ProjectService
from tests.services.test_projects import D, launch, service


def applied_as_previewed(before: ProjectRecord, after: ProjectRecord, dates: DateChanges) -> None:
    """Every task the preview names moved as it said; every other task kept its date; so did the go-live."""
    moved = {m.key: (m.before, m.after) for m in dates.tasks}
    for was, now in zip(before.tasks, after.tasks, strict=True):
        if was.key in moved:
            assert (was.due_on, now.due_on) == moved[was.key], was.key
        else:
            assert was.due_on == now.due_on, was.key
    assert (dates.go_live_before, dates.go_live_after) == (before.projected_go_live_on, after.projected_go_live_on)
    milestones = {m.key: m.after for m in dates.milestones}
    for key in {t.milestone_key for t in after.tasks}:
        due = max(t.due_on for t in after.tasks if t.milestone_key == key)
        assert due == milestones.get(key, max(t.due_on for t in before.tasks if t.milestone_key == key))


def stored(svc: ProjectService, pid: str) -> tuple[int, int, tuple[object, ...]]:
    project = svc.get(pid)
    return project.version, len(svc.events(pid)), project.tasks


def test_a_completion_dated_in_the_past_moves_the_work_after_it_and_says_so(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    clock.set(D("2026-12-14"))
    svc.reforecast(pid)  # a week later, nothing done yet: the plan slid to today
    before = stored(svc, pid)
    preview = svc.preview_task_change(pid, "kickoff_call", Action.complete, on=D("2026-12-07"), by="dana")
    assert stored(svc, pid) == before  # previewing wrote nothing: no version, no event, no date
    assert preview.project.version == before[0]
    assert [m.key for m in preview.dates.tasks]  # the work after the kickoff call starts sooner
    assert all(m.after <= m.before for m in preview.dates.tasks)
    was = svc.get(pid)
    after = svc.change_task(pid, "kickoff_call", Action.complete, on=D("2026-12-07"), expected_version=before[0])
    applied_as_previewed(was, after, preview.dates)


def test_a_resume_after_a_long_hold_says_the_go_live_leaves_its_window(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    hold = svc.preview_hold(pid, reason="budget freeze")
    assert hold.dates.moves_nothing  # a held plan is not re-forecast: nothing moves until the resume
    svc.hold(pid, reason="budget freeze")
    clock.set(D("2027-02-15"))
    was = svc.get(pid)
    preview = svc.preview_resume(pid)
    assert preview.dates.go_live_moves and preview.dates.leaves_window
    assert preview.dates.go_live_before == was.committed_go_live_on
    assert stored(svc, pid)[:2] == (was.version, len(svc.events(pid)))
    applied_as_previewed(was, svc.resume(pid), preview.dates)


def test_a_preview_is_refused_as_the_change_would_be(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    pid = launch(svc).project.id
    for preview, apply in (
        (
            lambda: svc.preview_task_change(pid, "kickoff_call", Action.complete, on=D("2026-12-08")),
            lambda: svc.change_task(pid, "kickoff_call", Action.complete, on=D("2026-12-08")),
        ),
        (
            lambda: svc.preview_task_change(pid, "no_such_task", Action.complete),
            lambda: svc.change_task(pid, "no_such_task", Action.complete),
        ),
        (lambda: svc.preview_resume(pid), lambda: svc.resume(pid)),
    ):
        with pytest.raises(ProblemsError) as previewed:
            preview()
        with pytest.raises(ProblemsError) as applied:
            apply()
        assert previewed.value.codes == applied.value.codes
    assert len(svc.events(pid)) == 1


TASKS = (
    "kickoff_call",
    "sign_off_scope",
    "notify_old_provider",
    "company_setup_questionnaire",
    "configure_earnings_deductions",
    "export_employee_data",
    "employer_bank_verification",
    "parallel_run_1",
    "first_live_check_date",
)

change = st.one_of(
    st.tuples(
        st.just("task"),
        st.sampled_from(TASKS),
        st.sampled_from(list(Action)),
        st.integers(min_value=0, max_value=12),  # days back from today
    ),
    st.tuples(st.sampled_from(["hold", "resume"]), st.just(""), st.just(Action.start), st.integers(0, 3)),
)


Step = tuple[str, str, Action, int]


def preview_then_apply(svc: ProjectService, pid: str, step: Step, *, today: date) -> None:
    """Preview one change, then apply it at the version previewed; the two agree, or are refused alike."""
    verb, key, action, back = step
    on = today - timedelta(days=back)
    was = svc.get(pid)
    try:
        if verb == "task":
            previewed = svc.preview_task_change(pid, key, action, on=on)
        elif verb == "hold":
            previewed = svc.preview_hold(pid, on=on)
        else:
            previewed = svc.preview_resume(pid, on=on)
    except OnboardingError as refused:
        with pytest.raises(OnboardingError) as also:
            apply(svc, pid, step, on=on, version=was.version)
        assert getattr(also.value, "codes", None) == getattr(refused, "codes", None)
        assert svc.get(pid).version == was.version
        return
    assert svc.get(pid) == was  # the preview stored nothing
    after = apply(svc, pid, step, on=on, version=previewed.project.version)
    applied_as_previewed(was, after, previewed.dates)
    event("applied, moving dates" if not previewed.dates.moves_nothing else "applied, moving nothing")


def apply(svc: ProjectService, pid: str, step: Step, *, on: date, version: int) -> ProjectRecord:
    verb, key, action, _back = step
    if verb == "task":
        return svc.change_task(pid, key, action, on=on, expected_version=version)
    if verb == "hold":
        return svc.hold(pid, on=on, expected_version=version)
    return svc.resume(pid, on=on, expected_version=version)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(st.integers(min_value=0, max_value=9), change), min_size=1, max_size=8))
def test_the_preview_of_any_change_is_what_applying_it_does(steps: list[tuple[int, Step]]) -> None:
    clock = FixedClock(D("2026-12-07"))
    svc = service(InMemoryProjectStore(), clock)
    pid = launch(svc).project.id
    for days_later, step in steps:
        clock.set(clock.today() + timedelta(days=days_later))
        preview_then_apply(svc, pid, step, today=clock.today())
