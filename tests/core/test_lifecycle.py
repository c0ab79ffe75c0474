"""The transition table, dependency checks, and re-forecasting from progress (DESIGN §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.checks import check_and_compile
from onboarding.core.lifecycle import (
    TRANSITIONS,
    Action,
    ProjectState,
    TaskProgress,
    TaskState,
    hold,
    project_state_after,
    resume,
    transition,
)
from onboarding.core.payroll import parse_pay_schedule
from onboarding.core.planning import plan_project
from onboarding.errors import TransitionRefused
from tests.conftest import blueprint_data

D = date.fromisoformat
AT = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)
DAYS: dict[str, Any] = {"kickoff_on": D("2026-12-07"), "today": D("2026-12-09")}  # the project's and the clock's


def task(key: str, days: int | None = 1, owner: str = "engineer", **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "title": key, "owner": owner, **more}
    if days is not None:
        out["duration_business_days"] = days
    return out


CHAIN = [task("a", 2), task("b", 3, depends_on=["a"]), task("c", 1, depends_on=[{"task": "b", "type": "SS"}])]


def compiled(tasks: list[dict[str, Any]], **extra: Any):  # type: ignore[no-untyped-def]
    return check_and_compile(blueprint_data(tasks, **extra))


def test_every_transition_in_the_table_is_allowed_and_nothing_else() -> None:
    _, graph = compiled([task("solo", 2)])
    for state in TaskState:
        for action in Action:
            progress = {"solo": TaskProgress(state, started_on=D("2026-12-07") if state != TaskState.pending else None)}
            if (state, action) in TRANSITIONS:
                _new, event = transition(
                    graph, progress, "solo", action, on=D("2026-12-08"), at=AT, **DAYS, actor="dana"
                )
                assert event.task_key == "solo" and event.data["from"] == state.value
            else:
                with pytest.raises(TransitionRefused) as info:
                    transition(graph, progress, "solo", action, on=D("2026-12-08"), at=AT, **DAYS, actor="dana")
                assert info.value.codes == ["invalid-transition"]


def test_completing_before_predecessors_is_refused_unless_forced_and_recorded() -> None:
    _, graph = compiled(CHAIN)
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "b", Action.complete, on=D("2026-12-08"), at=AT, **DAYS, actor="dana")
    assert info.value.codes == ["predecessors-not-done"]
    new, event = transition(
        graph, {}, "b", Action.complete, on=D("2026-12-08"), at=AT, **DAYS, actor="dana", force=True
    )
    assert new.state is TaskState.done and new.done_on == D("2026-12-08")
    assert event.kind == "task_completed" and event.data["forced"] is True and event.data["waiting_for"] == ["a"]


def test_start_to_start_needs_the_predecessor_started_only() -> None:
    _, graph = compiled(CHAIN)
    with pytest.raises(TransitionRefused):
        transition(graph, {}, "c", Action.start, on=D("2026-12-08"), at=AT, **DAYS, actor="dana")
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-09")),
    }
    new, _ = transition(graph, progress, "c", Action.start, on=D("2026-12-09"), at=AT, **DAYS, actor="dana")
    assert new.state is TaskState.in_progress and new.started_on == D("2026-12-09")


def test_unblock_returns_a_started_task_to_in_progress() -> None:
    _, graph = compiled([task("solo", 2)])
    started = {"solo": TaskProgress(TaskState.in_progress, D("2026-12-07"))}
    blocked, event = transition(
        graph,
        started,
        "solo",
        Action.block,
        on=D("2026-12-08"),
        at=AT,
        actor="x",
        reason="waiting for the bank",
        **DAYS,
    )
    assert blocked.state is TaskState.blocked and event.data["reason"] == "waiting for the bank"
    back, _ = transition(graph, {"solo": blocked}, "solo", Action.unblock, on=D("2026-12-09"), at=AT, **DAYS, actor="x")
    assert back.state is TaskState.in_progress and back.started_on == D("2026-12-07")


def test_hold_and_resume_and_a_held_project_refuses_work() -> None:
    _, graph = compiled([task("solo", 2)])
    state, event = hold(ProjectState.active, at=AT, **DAYS, actor="dana", reason="customer reorganising")
    assert state is ProjectState.on_hold and event.kind == "project_held"
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "solo", Action.start, on=D("2026-12-08"), at=AT, **DAYS, actor="x", project_state=state)
    assert info.value.codes == ["project-on-hold"]
    state, event = resume(state, at=AT, today=DAYS["today"], actor="dana")
    assert state is ProjectState.active and event.kind == "project_resumed"
    with pytest.raises(TransitionRefused):
        resume(state, at=AT, today=DAYS["today"], actor="dana")


# -- the day a change happened ------------------------------------------------------------


def test_a_day_after_today_is_refused_even_with_an_override() -> None:
    _, graph = compiled(CHAIN)
    for day in (D("2026-12-10"), D("2099-06-01"), D("9999-12-31")):
        for force_date in (False, True):
            with pytest.raises(TransitionRefused) as info:
                transition(graph, {}, "a", Action.complete, on=day, at=AT, actor="x", force_date=force_date, **DAYS)
            assert info.value.codes == ["date-in-future"]
            assert info.value.problems[0].hint == "date it 2026-12-09 or earlier"
    new, _ = transition(graph, {}, "a", Action.complete, on=D("2026-12-09"), at=AT, actor="x", **DAYS)
    assert new.done_on == D("2026-12-09")  # today itself is fine


def test_a_day_before_kickoff_is_refused_unless_the_override_is_recorded() -> None:
    _, graph = compiled(CHAIN)
    for action in Action:
        if (TaskState.pending, action) not in TRANSITIONS:
            continue
        with pytest.raises(TransitionRefused) as info:
            transition(graph, {}, "a", action, on=D("2026-12-04"), at=AT, actor="x", **DAYS)
        assert info.value.codes == ["date-before-kickoff"]
    for far in (D("1900-01-01"), D("0001-01-01"), D("2025-12-05")):  # beyond what a plan can reach back to
        with pytest.raises(TransitionRefused) as info:
            transition(graph, {}, "a", Action.complete, on=far, at=AT, actor="x", force_date=True, **DAYS)
        assert info.value.codes == ["date-too-early"]
    transition(graph, {}, "a", Action.complete, on=D("2025-12-06"), at=AT, actor="x", force_date=True, **DAYS)
    new, event = transition(graph, {}, "a", Action.start, on=D("2026-12-04"), at=AT, actor="x", force_date=True, **DAYS)
    assert new.started_on == D("2026-12-04")
    assert event.data["date_forced"] == ["date-before-kickoff"] and event.data["on"] == "2026-12-04"
    _, plain = transition(graph, {}, "a", Action.start, on=D("2026-12-07"), at=AT, actor="x", force_date=True, **DAYS)
    assert "date_forced" not in plain.data  # nothing was overridden


def test_work_cannot_be_dated_before_its_finish_to_start_predecessor_was_done() -> None:
    _, graph = compiled(CHAIN)
    a_done = {"a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08"))}
    for action in (Action.start, Action.complete):
        with pytest.raises(TransitionRefused) as info:
            transition(graph, a_done, "b", action, on=D("2026-12-07"), at=AT, actor="x", **DAYS)
        assert info.value.codes == ["date-before-predecessor"]
        assert "'a' (FS) was done on 2026-12-08" in info.value.problems[0].message
        # the day it was done is fine: the rule is about what happened, not the plan's lags
        new, _ = transition(graph, a_done, "b", action, on=D("2026-12-08"), at=AT, actor="x", **DAYS)
        assert new.state is not TaskState.pending
    _, event = transition(
        graph, a_done, "b", Action.complete, on=D("2026-12-07"), at=AT, actor="x", force_date=True, **DAYS
    )
    assert event.data["date_forced"] == ["date-before-predecessor"]


def test_start_to_start_work_cannot_be_dated_before_its_predecessor_started() -> None:
    _, graph = compiled(CHAIN)
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-07")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-08")),
    }
    with pytest.raises(TransitionRefused) as info:
        transition(graph, progress, "c", Action.start, on=D("2026-12-07"), at=AT, actor="x", **DAYS)
    assert info.value.codes == ["date-before-predecessor"]
    new, _ = transition(graph, progress, "c", Action.start, on=D("2026-12-08"), at=AT, actor="x", **DAYS)
    assert new.started_on == D("2026-12-08")


def test_finish_to_finish_and_start_to_finish_check_the_completion_day() -> None:
    tasks = [
        task("a", 2),
        task("b", 2),
        task("c", 1, depends_on=[{"task": "a", "type": "FF"}, {"task": "b", "type": "SF"}]),
    ]
    _, graph = compiled(tasks)
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-09")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-08")),
    }
    with pytest.raises(TransitionRefused) as info:
        transition(graph, progress, "c", Action.complete, on=D("2026-12-07"), at=AT, actor="x", **DAYS)
    assert info.value.codes == ["date-before-predecessor", "date-before-predecessor"]
    # starting is not what FF or SF wait for
    new, _ = transition(graph, progress, "c", Action.start, on=D("2026-12-07"), at=AT, actor="x", **DAYS)
    assert new.started_on == D("2026-12-07")


def test_a_task_cannot_finish_before_it_started() -> None:
    _, graph = compiled([task("solo", 3)])
    started = {"solo": TaskProgress(TaskState.in_progress, D("2026-12-08"))}
    for action in (Action.complete, Action.skip):
        with pytest.raises(TransitionRefused) as info:
            transition(graph, started, "solo", action, on=D("2026-12-07"), at=AT, actor="x", **DAYS)
        assert info.value.codes == ["date-before-start"]


def test_every_problem_with_the_day_is_reported_at_once() -> None:
    _, graph = compiled(CHAIN)
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-08")),
    }
    with pytest.raises(TransitionRefused) as info:
        transition(graph, progress, "b", Action.complete, on=D("2026-12-01"), at=AT, actor="x", **DAYS)
    assert sorted(info.value.codes) == ["date-before-kickoff", "date-before-predecessor", "date-before-start"]


WORK = [
    task("a", 2),
    task("b", 2, depends_on=["a"]),
    task("c", 1, depends_on=[{"task": "a", "type": "SS", "lag_business_days": 1}]),
    task("d", 1, depends_on=[{"task": "b", "type": "FF"}, "c"]),
]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d"]),
            st.sampled_from([Action.start, Action.complete, Action.skip, Action.block, Action.unblock]),
            st.integers(min_value=-5, max_value=12),
        ),
        max_size=25,
    )
)
def test_recorded_days_never_contradict_the_kickoff_today_or_predecessors(
    changes: list[tuple[str, Action, int]],
) -> None:
    """Whatever is tried without an override, what is recorded keeps every date rule."""
    _, graph = compiled(WORK)
    kickoff, today = D("2026-12-07"), D("2026-12-16")
    progress: dict[str, TaskProgress] = {}
    for key, action, offset in changes:
        try:
            new, _ = transition(
                graph,
                progress,
                key,
                action,
                on=kickoff + timedelta(days=offset),
                at=AT,
                actor="x",
                kickoff_on=kickoff,
                today=today,
            )
        except TransitionRefused:
            continue
        progress = {**progress, key: new}
    for key, p in progress.items():
        days = [d for d in (p.started_on, p.done_on) if d is not None]
        assert all(kickoff <= d <= today for d in days)
        if p.started_on is not None and p.done_on is not None:
            assert p.started_on <= p.done_on
        if p.state is TaskState.skipped:
            continue  # a skip waits for no predecessor
        for edge in graph.predecessors[key]:
            before = progress.get(edge.predecessor, TaskProgress())
            if edge.type.value == "FS" and before.state is TaskState.done and p.started_on is not None:
                assert p.started_on >= before.done_on  # type: ignore[operator]
            if edge.type.value == "SS" and before.started_on is not None and p.started_on is not None:
                assert p.started_on >= before.started_on
            if edge.type.value == "FF" and before.state is TaskState.done and p.state is TaskState.done:
                assert p.done_on >= before.done_on  # type: ignore[operator]


def test_hold_and_resume_days_are_checked() -> None:
    today, kickoff = D("2026-12-09"), D("2026-12-07")
    refused = [
        (
            lambda: hold(ProjectState.active, on=D("2026-12-10"), today=today, kickoff_on=kickoff, at=AT, actor="x"),
            "date-in-future",
        ),
        (
            lambda: hold(ProjectState.active, on=D("9999-12-31"), today=today, kickoff_on=kickoff, at=AT, actor="x"),
            "date-in-future",
        ),
        (
            lambda: hold(ProjectState.active, on=D("2026-12-04"), today=today, kickoff_on=kickoff, at=AT, actor="x"),
            "date-before-kickoff",
        ),
        (
            lambda: hold(
                ProjectState.active,
                on=D("2026-12-07"),
                today=today,
                kickoff_on=kickoff,
                resumed_on=D("2026-12-08"),
                at=AT,
                actor="x",
            ),
            "date-before-resume",
        ),
        (lambda: resume(ProjectState.on_hold, on=D("2026-12-10"), today=today, at=AT, actor="x"), "date-in-future"),
        (
            lambda: resume(
                ProjectState.on_hold, on=D("2026-12-07"), today=today, held_on=D("2026-12-08"), at=AT, actor="x"
            ),
            "date-before-hold",
        ),
    ]
    for attempt, code in refused:
        with pytest.raises(TransitionRefused) as info:
            attempt()
        assert info.value.codes == [code]
    _, held = hold(
        ProjectState.active,
        on=D("2026-12-08"),
        today=today,
        kickoff_on=kickoff,
        resumed_on=D("2026-12-08"),
        at=AT,
        actor="x",
    )
    assert held.data == {"on": "2026-12-08"}
    _, resumed = resume(
        ProjectState.on_hold, on=D("2026-12-08"), today=today, held_on=D("2026-12-08"), at=AT, actor="x"
    )
    assert resumed.data == {"on": "2026-12-08"}  # a hold of no day at all is allowed
    _, unstated = hold(ProjectState.active, today=today, kickoff_on=kickoff, at=AT, actor="x")
    assert "on" not in unstated.data  # the day of the instant, in the customer's zone, as before


def test_project_completes_when_every_task_is_finished() -> None:
    _, graph = compiled([task("a", 1), task("b", 1)])
    done = TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-07"))
    assert project_state_after({"a": done}, graph, ProjectState.active) is ProjectState.active
    both = {"a": done, "b": TaskProgress(TaskState.skipped, D("2026-12-07"), D("2026-12-07"))}
    assert project_state_after(both, graph, ProjectState.active) is ProjectState.completed


# -- re-forecast ------------------------------------------------------------------------


def test_reforecast_keeps_done_dates_and_starts_pending_work_no_earlier_than_today() -> None:
    bp, graph = compiled(CHAIN)
    progress = {"a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-11"))}  # done 3 days late
    p = plan_project(bp, kickoff_on=D("2026-12-07"), graph=graph, progress=progress, today=D("2026-12-14"))
    assert (p.task("a").start_on, p.task("a").due_on) == (D("2026-12-07"), D("2026-12-11"))
    assert p.task("b").start_on == D("2026-12-14")
    assert p.task("b").due_on == D("2026-12-16")
    assert not p.task("a").critical


def test_an_overdue_task_in_progress_is_projected_due_today() -> None:
    bp, graph = compiled(CHAIN)
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-09")),  # 3 days: due 12-11
    }
    p = plan_project(bp, kickoff_on=D("2026-12-07"), graph=graph, progress=progress, today=D("2026-12-15"))
    assert (p.task("b").start_on, p.task("b").due_on) == (D("2026-12-09"), D("2026-12-15"))
    on_time = plan_project(bp, kickoff_on=D("2026-12-07"), graph=graph, progress=progress, today=D("2026-12-10"))
    assert on_time.task("b").due_on == D("2026-12-11")


def test_reforecast_never_moves_a_done_task_whatever_today_is() -> None:
    bp, graph = compiled(CHAIN)
    progress = {"a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08"))}
    for today in ("2026-12-08", "2027-01-04", "2027-06-30"):
        p = plan_project(bp, kickoff_on=D("2026-12-07"), graph=graph, progress=progress, today=D(today))
        assert p.task("a").due_on == D("2026-12-08")
        assert p.task("b").start_on >= D(today)


def test_a_slip_past_the_committed_go_live_moves_it_to_the_next_allowed_date() -> None:
    tasks = [task("prep", 5), task("go", None, owner="admin", kind="checkpoint", launch=True, depends_on=["prep"])]
    window = {"kind": "payroll_system", "accept": "any_check_date"}
    bp, graph = compiled(tasks, launch_window=window)
    pay = parse_pay_schedule("biweekly:2026-01-02")
    first = plan_project(bp, kickoff_on=D("2026-12-07"), pay_schedule=pay, graph=graph)
    assert first.go_live is not None and first.go_live.chosen_on == D("2026-12-18")
    # on track: ahead of schedule does not pull the committed go-live earlier
    ahead = plan_project(
        bp,
        kickoff_on=D("2026-12-07"),
        pay_schedule=pay,
        graph=graph,
        today=D("2026-12-07"),
        progress={"prep": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-07"))},
        committed_go_live_on=D("2026-12-18"),
    )
    assert ahead.go_live is not None and ahead.go_live.chosen_on == D("2026-12-18")
    # prep still running on 12-21: go-live jumps to the next check date
    late = plan_project(
        bp,
        kickoff_on=D("2026-12-07"),
        pay_schedule=pay,
        graph=graph,
        today=D("2026-12-21"),
        progress={"prep": TaskProgress(TaskState.in_progress, D("2026-12-07"))},
        committed_go_live_on=D("2026-12-18"),
    )
    assert late.go_live is not None and late.go_live.chosen_on == D("2026-12-31")


def test_unfinished_predecessors_and_a_wrong_day_are_reported_together() -> None:
    _, graph = compiled(CHAIN)
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "b", Action.complete, on=D("2026-12-04"), at=AT, actor="x", **DAYS)
    assert sorted(info.value.codes) == ["date-before-kickoff", "predecessors-not-done"]
    with pytest.raises(TransitionRefused) as info:  # --force covers one, not the other
        transition(graph, {}, "b", Action.complete, on=D("2026-12-04"), at=AT, actor="x", force=True, **DAYS)
    assert info.value.codes == ["date-before-kickoff"]
    _, event = transition(
        graph, {}, "b", Action.complete, on=D("2026-12-04"), at=AT, actor="x", force=True, force_date=True, **DAYS
    )
    assert (event.data["forced"], event.data["date_forced"]) == (True, ["date-before-kickoff"])


def test_a_reason_given_to_a_block_or_a_hold_is_kept_to_the_same_length_as_a_cancels() -> None:
    from onboarding.core.lifecycle import MAX_REASON_CHARS

    _, graph = compiled([task("solo", 2)])
    long = "x" * (MAX_REASON_CHARS + 1)
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "solo", Action.block, on=D("2026-12-08"), at=AT, **DAYS, actor="dana", reason=long)
    assert info.value.codes == ["text-too-long"]
    with pytest.raises(TransitionRefused) as info:
        hold(ProjectState.active, at=AT, **DAYS, actor="dana", reason=long)
    assert info.value.codes == ["text-too-long"]
    kept, _event = transition(graph, {}, "solo", Action.block, on=D("2026-12-08"), at=AT, **DAYS, actor="d", reason="x")
    assert kept.state is TaskState.blocked
