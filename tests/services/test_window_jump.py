"""The window-jump alert names the task whose own slip moved the go-live, not what it dragged along."""

from __future__ import annotations

from datetime import date

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.lifecycle import Action, TaskState
from onboarding.core.messages import MessageKind
from tests.services.test_projects import launch, service

D = date.fromisoformat
STALLED = "validate_employee_data"


def test_the_alert_names_the_stalled_task_not_the_pay_cycle_tasks_it_pushed() -> None:
    store = InMemoryProjectStore()
    clock = FixedClock(D("2026-12-07"))
    svc = service(store, clock)
    pid = launch(svc).project.id
    graph = svc.blueprint_of(svc.get(pid)).graph
    # everything up to the data validation is done on the day it was expected by; the validation starts and stalls
    while True:
        project = svc.get(pid)
        done = {t.key for t in project.tasks if t.state is TaskState.done}
        ready = [
            t
            for t in project.tasks
            if t.state is TaskState.pending and all(e.predecessor in done for e in graph.predecessors[t.key])
        ]
        if not ready or all(t.key == STALLED or t.launch for t in ready):
            break
        task = min((t for t in ready if t.key != STALLED and not t.launch), key=lambda t: (t.target_due_on, t.position))
        clock.set(max(clock.today(), task.target_due_on))
        svc.change_task(pid, task.key, Action.complete, on=task.target_due_on)
    svc.change_task(pid, STALLED, Action.start, on=clock.today())
    expected = svc.get(pid).task(STALLED).target_due_on  # started: expected its duration later
    assert store.messages(kind=MessageKind.window_jump) == []

    clock.set(D("2027-03-05"))  # two months on, still not validated: the first live check date is out of reach
    project = svc.reforecast(pid)
    assert project.projected_go_live_on is not None and project.projected_go_live_on > D("2027-04-09")
    (alert,) = store.messages(kind=MessageKind.window_jump)
    slip = (D("2027-03-05") - expected).days
    # the parallel runs, pinned to pay cycles, moved by months; they are not late: the validation is
    assert [(c["title"], c["slip_days"]) for c in alert.context["causes"]] == [
        ("Validate imported employee records", slip)
    ]
    assert alert.context["causes"][0]["done_on"] is None
    assert alert.context["causes"][0]["expected_on"] == expected.isoformat()
    assert f"is {slip} days late" in alert.context["cause"]
    (event,) = [e for e in svc.events(pid) if e.kind == "window_jump"]
    assert event.data["causes"] == [{"task": STALLED, "slip_days": slip}]
