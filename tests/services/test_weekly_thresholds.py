"""A sweep leaves alone a project whose next weekly update cannot be due yet (its stored threshold), and queues the
same weekly updates, at the same sweeps, as asking every active project each time would.

Over weeks of sweeps at random hours, with roles rebound to people in other zones (clock changes among them),
projects put on hold and resumed, and tasks completed between sweeps, on the in-memory twins and on real
databases: before each sweep, the straightforward rule (every active project's history asked, no threshold read)
says which weekly updates are due; the sweep must queue exactly those.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onboarding.core.lifecycle import Action, ProjectState, TaskState
from onboarding.core.messages import OutgoingMessage, Person
from onboarding.errors import OnboardingError
from onboarding.services.ports import WeeklyDue
from onboarding.services.sweep import SweepService
from tests.services.test_projects import PAYROLL, PEOPLE
from tests.services.test_sweep import SENDER, Stores, World, stores  # noqa: F401 - the fixture, as imported

ZONES = ("America/Chicago", "Europe/London", "Australia/Lord_Howe", "Pacific/Auckland", "Asia/Kolkata", "UTC")
DIGESTS = ('{weekday: sun, at: "02:30"}', '{weekday: mon, at: "01:30"}', '{weekday: spread, at: "23:45"}')


class AskingEveryProject:
    """The sweep store, but every project's weekly history is asked each time and no threshold is kept."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def weekly_unsettled(self, project_ids: Sequence[str], *, now: datetime) -> list[str]:
        return list(project_ids)

    def record_weekly_due(self, due: Mapping[str, WeeklyDue]) -> None:
        raise AssertionError("the straightforward rule keeps no threshold")


def variants(tmp_path: Path) -> list[str]:
    """The payroll blueprint, and variants whose weekly slot falls in the hour a clock change skips or repeats."""
    text = Path(PAYROLL).read_text(encoding="utf-8")
    spread = '{weekday: spread, at: "09:00"}'
    assert spread in text
    paths = [PAYROLL]
    for n, digest in enumerate(DIGESTS):
        path = tmp_path / f"payroll-weekly-{n}.yaml"
        path.write_text(text.replace(spread, digest).replace("version: 1.0.0", f"version: 1.0.{n + 1}"), "utf-8")
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("seed", [1, 2])
def test_a_sweep_with_thresholds_queues_the_weekly_updates_asking_every_project_would(
    stores: Stores,  # noqa: F811 - the fixture
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    rnd = random.Random(seed)  # noqa: S311 - a reproducible scenario, not a secret
    world = World(stores, tmp_path)
    queue = world.projects.queue
    queued_now: list[OutgoingMessage] = []
    monkeypatch.setattr(world.projects, "queue", lambda messages: queued_now.extend(messages) or queue(messages))
    straightforward = SweepService(
        store=AskingEveryProject(world.store),
        projects=world.projects,
        blueprints=world.projects._blueprints,  # the same source the world's sweep reads
        clock=world.clock,
        dispatcher=None,
        webhooks=world.webhooks,
        sender=SENDER,
    )
    # Starting in the week before Australia's and New Zealand's clocks go back, ending after America's go forward
    start = datetime(2027, 3, 28, 6, 0, tzinfo=UTC)
    world.clock.set(start.date(), at=start)
    blueprints = variants(tmp_path)
    ids = []
    for n in range(8):
        people = {
            **PEOPLE,
            "customer_sponsor": Person(f"Sponsor {n}", f"sponsor{n}@c{n}.example", rnd.choice(ZONES)),
            "customer_payroll_admin": Person(f"Admin {n}", f"admin{n}@c{n}.example", rnd.choice(ZONES)),
        }
        launched = world.projects.launch(
            blueprints[n % len(blueprints)],
            customer=f"Customer {n}",
            kickoff_on=start.date() - timedelta(days=rnd.randint(0, 20)),
            bindings=people,
            pay_schedule="biweekly:2026-01-02",
        )
        ids.append(launched.project.id)

    now, queued, asked, swept = start, 0, 0, 0
    while now < datetime(2027, 5, 10, tzinfo=UTC):
        now += timedelta(hours=rnd.choice([1, 3, 7, 11, 24, 31]), minutes=rnd.choice([0, 15, 30, 45]))
        world.clock.set(now.date(), at=now)
        for pid in rnd.sample(ids, 2):
            change_something(world, rnd, pid, now.date())
        active = world.store.active_projects()
        due = {m.idempotency_key for m in straightforward._weekly_updates(active)[0]}
        asked += len(world.store.weekly_unsettled(active, now=now))
        swept += len(active)
        queued_now.clear()
        world.sweep.run()  # automated tasks, nudges, re-forecasts, the weekly updates of the projects it attends
        assert {m.idempotency_key for m in queued_now} == due, f"as of {now}"
        queued += len(due)
        # after it, no active project is asked until its readers' next slot, or a change, comes
        assert world.store.weekly_unsettled(world.store.active_projects(), now=now) == []
    print(f"{queued} weekly updates queued; {asked} of {swept} active projects asked")
    assert asked * 2 < swept  # most sweeps left most projects alone


def change_something(world: World, rnd: random.Random, pid: str, today: date) -> None:
    """A change between two sweeps: a customer role rebound to someone in another zone, a hold or a resume, or
    a task completed (any change makes the project's threshold one of an earlier version)."""
    project = world.projects.get(pid)
    what = rnd.random()
    try:
        if what < 0.3:
            role = rnd.choice(["customer_sponsor", "customer_payroll_admin"])
            n = rnd.randint(0, 10_000)
            world.projects.rebind(pid, role, Person(f"New {n}", f"new{n}@example.com", rnd.choice(ZONES)))
        elif what < 0.4 and project.state is ProjectState.active:
            world.projects.hold(pid, reason="customer busy")
        elif what < 0.6 and project.state is ProjectState.on_hold:
            world.projects.resume(pid)
        elif what < 0.8:
            open_tasks = [t.key for t in project.tasks if t.state in (TaskState.pending, TaskState.in_progress)]
            if open_tasks:
                world.projects.change_task(pid, rnd.choice(open_tasks), Action.complete, by="test")
    except OnboardingError:
        pass  # refused (a task whose predecessors are open): the project as it was
