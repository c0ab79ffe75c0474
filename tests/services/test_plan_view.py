"""A project as its page shows it: tasks with owners, slack and critical path, the go-live with why that date."""

from __future__ import annotations

from onboarding.adapters.clock import FixedClock
from onboarding.core.lifecycle import Action, TaskState
from tests.services.test_projects import PEOPLE, D, launch, service


def test_the_page_view_has_every_task_by_milestone_its_owner_and_the_go_live_reason(store) -> None:  # type: ignore[no-untyped-def]
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    svc.change_task(pid, "kickoff_call", Action.complete)
    view = svc.plan_view(pid)
    project = svc.get(pid)
    assert [t.key for t in view.tasks] == [t.key for t in sorted(project.tasks, key=lambda t: t.position)]
    kickoff = view.tasks[0]
    assert (kickoff.state, kickoff.owner, kickoff.done_on) == (TaskState.done, PEOPLE["csm"].name, D("2026-12-07"))
    assert view.milestones[0].key == "kickoff" and view.milestones[0].state == "in_progress"
    assert any(t.critical for t in view.tasks) and all(t.slack_business_days >= 0 for t in view.tasks if t.open)
    go_live = view.go_live
    assert go_live.projected_on == project.projected_go_live_on and go_live.committed_on == D("2027-04-09")
    assert go_live.reason and not go_live.outside_window  # the launch window's own words for the date
    assert view.version == project.version and len(svc.events(pid)) == 2  # reading it wrote nothing


def test_a_cancelled_project_has_no_reason_to_give_but_keeps_its_dates(store) -> None:  # type: ignore[no-untyped-def]
    svc = service(store, FixedClock(D("2026-12-07")))
    pid = launch(svc).project.id
    svc.cancel(pid, reason="deal lost")
    view = svc.plan_view(pid)
    assert view.go_live.reason is None and view.go_live.projected_on == D("2027-04-09")
    assert {m.state for m in view.milestones} == {"cancelled"}
