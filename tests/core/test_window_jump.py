"""What a window-jump alert names as its cause: the largest own slip on the go-live's chain, ties together."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.core.checks import check_and_compile
from onboarding.core.lifecycle import TaskProgress, TaskState
from onboarding.core.messages import Person
from onboarding.core.planning import plan_project, planned_dates
from onboarding.core.projects import TaskRecord, task_records
from onboarding.core.window_jump import cause_sentence, window_jump_causes
from tests.conftest import blueprint_data

D = date.fromisoformat
KICKOFF = D("2026-12-07")  # a Monday


def task(key: str, days: int, **more: Any) -> dict[str, Any]:
    return {"key": key, "title": key.upper(), "owner": "engineer", "duration_business_days": days, **more}


# a and b feed c, c feeds the go-live; s feeds nothing
TASKS = [
    task("a", 2),
    task("b", 2),
    task("c", 1, depends_on=["a", "b"]),
    task("go", 1, depends_on=["c"], launch=True),
    task("s", 1),
]
BP, GRAPH = check_and_compile(blueprint_data(TASKS))
AT_LAUNCH = task_records(plan_project(BP, kickoff_on=KICKOFF, graph=GRAPH), BP)


def records(progress: dict[str, TaskProgress], *, today: date) -> tuple[TaskRecord, ...]:
    """The task rows a re-forecast on ``today`` writes (as ``ProjectService`` makes them)."""
    plan = plan_project(BP, kickoff_on=KICKOFF, graph=GRAPH, progress=progress, today=today)
    targets = planned_dates(BP, kickoff_on=KICKOFF, graph=GRAPH, progress=progress).due
    previous = {t.key: t for t in AT_LAUNCH}
    return task_records(plan, BP, progress=progress, previous=previous, targets=targets)


def reforecast(
    current: tuple[TaskRecord, ...], progress: dict[str, TaskProgress], *, today: date
) -> tuple[TaskRecord, ...]:
    """The rows after a change, from the rows before it (a finished task keeps the target it had while open)."""
    plan = plan_project(BP, kickoff_on=KICKOFF, graph=GRAPH, progress=progress, today=today)
    targets = planned_dates(BP, kickoff_on=KICKOFF, graph=GRAPH, progress=progress).due
    return task_records(plan, BP, progress=progress, previous={t.key: t for t in current}, targets=targets)


def named(tasks: tuple[TaskRecord, ...], *, today: date) -> list[tuple[str, int]]:
    return [(c.task.key, c.slip_days) for c in window_jump_causes(tasks, GRAPH, today=today)]


def test_tasks_tied_on_the_largest_slip_are_named_together_and_what_waits_on_them_is_not() -> None:
    started = TaskProgress(TaskState.in_progress, KICKOFF)
    tasks = records({"a": started, "b": started}, today=D("2026-12-14"))
    assert {t.key: t.target_due_on for t in tasks if t.key in "ab"} == {"a": D("2026-12-08"), "b": D("2026-12-08")}
    # c and the go-live are past their targets too, but only because a and b are; s is later still but feeds nothing
    assert named(tasks, today=D("2026-12-14")) == [("a", 6), ("b", 6)]
    people = {"engineer": Person("Ivo Petrov", "ivo@vendor.example")}
    sentence = cause_sentence(window_jump_causes(tasks, GRAPH, today=D("2026-12-14")), people)
    assert sentence == "A (Ivo Petrov) and B (Ivo Petrov) are each 6 days late against the dates they were expected by."


def test_a_task_done_late_is_named_with_its_own_slip_not_what_followed() -> None:
    progress = {
        "a": TaskProgress(TaskState.done, KICKOFF, D("2026-12-11")),  # expected by the 8th: 3 days late
        "b": TaskProgress(TaskState.done, KICKOFF, D("2026-12-08")),
        "c": TaskProgress(TaskState.in_progress, D("2026-12-14")),  # started the next business day: on time
    }
    tasks = records(progress, today=D("2026-12-14"))
    assert named(tasks, today=D("2026-12-14")) == [("a", 3)]
    assert cause_sentence(window_jump_causes(tasks, GRAPH, today=D("2026-12-14")), {}) == (
        "A (engineer) is 3 days late against the date it was expected by."
    )


def test_nothing_late_on_the_chain_names_no_task() -> None:
    tasks = records({}, today=KICKOFF)
    assert named(tasks, today=KICKOFF) == []
    assert cause_sentence((), {}).startswith("No task on the go-live's chain is late")


@settings(max_examples=60, deadline=None)
@given(late=st.sampled_from(["a", "b", "c", "go"]), days=st.integers(1, 30), still_open=st.booleans())
def test_one_task_late_among_work_done_when_expected_is_the_one_named(late: str, days: int, still_open: bool) -> None:
    """However far its lateness drags what follows, the one task late by its own doing is named, with its days."""
    current, progress, today = AT_LAUNCH, dict[str, TaskProgress](), KICKOFF
    open_since: date | None = None
    # in dependency order, the late task as early as it may be (so it starts when expected: a task started late is
    # expected from its own start); each other task done on the day it is then expected by
    order = sorted(("a", "b", "c", "go"), key=lambda k: (len(GRAPH.ancestors(k)), k != late))
    for key in order:
        if still_open and late in GRAPH.ancestors(key):
            continue  # waits for the late task, which is still open
        row = next(t for t in current if t.key == key)
        target = row.target_due_on
        if key == late and still_open:
            progress[key] = TaskProgress(TaskState.in_progress, min(row.start_on, target))
            open_since = target
        else:
            done_on = target + timedelta(days=days) if key == late else target
            progress[key] = TaskProgress(TaskState.done, min(row.start_on, done_on), done_on)
            today = max(today, done_on)
        current = reforecast(current, progress, today=today)
    if open_since is not None:
        today = max(today, open_since + timedelta(days=days))
        current = reforecast(current, progress, today=today)
    assert named(current, today=today) == [(late, days)]
