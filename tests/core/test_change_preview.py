"""Which projected dates a change moves: tasks, milestones, the go-live against its committed window."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from onboarding.core.change_preview import date_changes, milestone_due_dates
from onboarding.core.projects import ProjectRecord, TaskRecord
from tests.core.test_project_changes import project as bare_project
from tests.core.test_project_changes import task as bare_task

D = date.fromisoformat


def task(position: int, key: str, milestone: str, due_on: str) -> TaskRecord:
    """``test_project_changes``' task row, placed in a milestone and due on ``due_on``, on the critical path."""
    day = D(due_on)
    return bare_task(key)._replace(
        position=position,
        title=key.replace("_", " ").title(),
        milestone_key=milestone,
        milestone_title=milestone.title(),
        start_on=day,
        due_on=day,
        target_due_on=day,
        late_due_on=day,
        critical=True,
    )


def project(**changes: object) -> ProjectRecord:
    tasks = (
        task(0, "kickoff_call", "start", "2026-12-07"),
        task(1, "scope", "start", "2026-12-09"),
        task(2, "import", "migration", "2027-01-15"),
    )
    return replace(bare_project(tasks=tasks), **changes)  # type: ignore[arg-type]


def test_nothing_differs_nothing_moves() -> None:
    p = project()
    changes = date_changes(p, p)
    assert changes.moves_nothing and not changes.leaves_window and not changes.go_live_moves


def test_tasks_and_milestones_that_move_from_before_to_after_in_plan_order() -> None:
    p = project()
    first, second = p.tasks[0], p.tasks[1]
    later = replace(
        p,
        tasks=(first._replace(due_on=first.due_on), second._replace(due_on=D("2027-02-10")), *p.tasks[2:]),
    )
    changes = date_changes(p, later)
    assert [(m.key, m.before, m.after) for m in changes.tasks] == [(second.key, second.due_on, D("2027-02-10"))]
    assert changes.tasks[0].days == (D("2027-02-10") - second.due_on).days
    milestone = second.milestone_key
    assert [m.key for m in changes.milestones] == [milestone]
    assert changes.milestones[0].after == max(t.due_on for t in later.tasks if t.milestone_key == milestone)
    assert not changes.moves_nothing


def test_the_go_live_leaves_its_window_only_when_it_moves_past_the_committed_day() -> None:
    p = project(committed_go_live_on=D("2027-04-09"), projected_go_live_on=D("2027-04-09"))
    on_the_day = date_changes(p, p)
    assert not on_the_day.outside_window_after and not on_the_day.leaves_window
    late = date_changes(p, replace(p, projected_go_live_on=D("2027-04-23")))
    assert late.go_live_moves and late.outside_window_after and late.leaves_window
    already_late = replace(p, projected_go_live_on=D("2027-04-23"))
    later_still = date_changes(already_late, replace(p, projected_go_live_on=D("2027-05-07")))
    assert later_still.outside_window_after and not later_still.leaves_window  # it had left already
    back = date_changes(already_late, p)
    assert back.returns_to_window and not back.outside_window_after
    uncommitted = replace(p, committed_go_live_on=None)
    assert not date_changes(uncommitted, replace(uncommitted, projected_go_live_on=D("2028-01-01"))).leaves_window


def test_a_milestone_is_due_with_its_last_task() -> None:
    p = project()
    dues = milestone_due_dates(p.tasks)
    for key, (title, due_on) in dues.items():
        mine = [t for t in p.tasks if t.milestone_key == key]
        assert title == mine[0].milestone_title and due_on == max(t.due_on for t in mine)
