"""The transition table, dependency checks, and re-forecasting from progress (DESIGN §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

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
                _new, event = transition(graph, progress, "solo", action, on=D("2026-12-08"), at=AT, actor="dana")
                assert event.task_key == "solo" and event.data["from"] == state.value
            else:
                with pytest.raises(TransitionRefused) as info:
                    transition(graph, progress, "solo", action, on=D("2026-12-08"), at=AT, actor="dana")
                assert info.value.codes == ["invalid-transition"]


def test_completing_before_predecessors_is_refused_unless_forced_and_recorded() -> None:
    _, graph = compiled(CHAIN)
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "b", Action.complete, on=D("2026-12-08"), at=AT, actor="dana")
    assert info.value.codes == ["predecessors-not-done"]
    new, event = transition(graph, {}, "b", Action.complete, on=D("2026-12-08"), at=AT, actor="dana", force=True)
    assert new.state is TaskState.done and new.done_on == D("2026-12-08")
    assert event.kind == "task_completed" and event.data["forced"] is True and event.data["waiting_for"] == ["a"]


def test_start_to_start_needs_the_predecessor_started_only() -> None:
    _, graph = compiled(CHAIN)
    with pytest.raises(TransitionRefused):
        transition(graph, {}, "c", Action.start, on=D("2026-12-08"), at=AT, actor="dana")
    progress = {
        "a": TaskProgress(TaskState.done, D("2026-12-07"), D("2026-12-08")),
        "b": TaskProgress(TaskState.in_progress, D("2026-12-09")),
    }
    new, _ = transition(graph, progress, "c", Action.start, on=D("2026-12-09"), at=AT, actor="dana")
    assert new.state is TaskState.in_progress and new.started_on == D("2026-12-09")


def test_unblock_returns_a_started_task_to_in_progress() -> None:
    _, graph = compiled([task("solo", 2)])
    started = {"solo": TaskProgress(TaskState.in_progress, D("2026-12-07"))}
    blocked, event = transition(
        graph, started, "solo", Action.block, on=D("2026-12-08"), at=AT, actor="x", reason="waiting for the bank"
    )
    assert blocked.state is TaskState.blocked and event.data["reason"] == "waiting for the bank"
    back, _ = transition(graph, {"solo": blocked}, "solo", Action.unblock, on=D("2026-12-09"), at=AT, actor="x")
    assert back.state is TaskState.in_progress and back.started_on == D("2026-12-07")


def test_hold_and_resume_and_a_held_project_refuses_work() -> None:
    _, graph = compiled([task("solo", 2)])
    state, event = hold(ProjectState.active, at=AT, actor="dana", reason="customer reorganising")
    assert state is ProjectState.on_hold and event.kind == "project_held"
    with pytest.raises(TransitionRefused) as info:
        transition(graph, {}, "solo", Action.start, on=D("2026-12-08"), at=AT, actor="x", project_state=state)
    assert info.value.codes == ["project-on-hold"]
    state, event = resume(state, at=AT, actor="dana")
    assert state is ProjectState.active and event.kind == "project_resumed"
    with pytest.raises(TransitionRefused):
        resume(state, at=AT, actor="dana")


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
