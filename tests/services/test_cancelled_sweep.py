"""A cancelled project in the sweep: no nudges, no automation, no status emails, no re-forecast, and the
emails it had queued suppressed; a rebound role hears instead of the person before. Every store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from onboarding.core.lifecycle import Action, ProjectState
from onboarding.core.messages import Person
from tests.services.test_sweep import D, Stores, World, stores  # noqa: F401 - the fixture


def test_a_cancelled_project_is_left_alone_and_its_queued_emails_suppressed(stores: Stores, tmp_path: Path) -> None:  # noqa: F811
    world = World(stores, tmp_path)
    kept, cancelled = world.launch(), world.launch()
    world.projects.cancel(cancelled, reason="Deal lost", by="dana")
    first = world.sweep.run()
    assert first.delivered.sent == 7 and first.delivered.suppressed == 0  # the kept project's kickoff only
    assert not [m for m in world.mail() if cancelled in m["X-Onboarding-Key"]]
    # days later, both have overdue work; only the kept one is nudged, re-planned and sent its weekly status
    world.clock.set(D("2026-12-14"), at=datetime(2026, 12, 14, 18, 0, tzinfo=UTC))
    report = world.sweep.run()
    assert report.nudges >= 1 and report.status_emails == 2
    assert not [m for m in world.mail() if cancelled in str(m.get_payload(0).get_payload(decode=True))]
    assert world.store.active_projects() == [kept]
    assert cancelled not in world.store.projects_to_replan(today=D("2026-12-30"))
    assert world.projects.get(cancelled).state is ProjectState.cancelled
    kinds = [e.kind for e in world.projects.events(cancelled)]
    assert kinds == ["project_launched", "cancelled"]  # no re-forecast, no window jump
    overdue_before = report.overdue_tasks
    world.projects.cancel(kept, reason="Lost too")
    world.clock.set(D("2026-12-15"), at=datetime(2026, 12, 15, 18, 0, tzinfo=UTC))
    after = world.sweep.run()
    assert overdue_before > 0 and (after.overdue_tasks, after.nudges, after.status_emails) == (0, 0, 0)


def test_after_a_rebind_the_nudges_go_to_the_new_person(stores: Stores, tmp_path: Path) -> None:  # noqa: F811
    world = World(stores, tmp_path)
    pid = world.launch()
    world.sweep.run()
    world.clock.set(D("2026-12-07"))
    world.projects.rebind(pid, "csm", Person("Jo Smith", "jo@vendor.example", "America/Los_Angeles"), note="Dana left")
    # Thursday: the kickoff call (csm, due Monday) was never marked done
    world.clock.set(D("2026-12-10"), at=datetime(2026, 12, 10, 18, 0, tzinfo=UTC))
    assert world.sweep.run().nudges >= 1
    assert world.mail_to("jo@vendor.example", "digest")
    assert not world.mail_to("dana@vendor.example", "digest")
    world.projects.change_task(pid, "kickoff_call", Action.complete)
