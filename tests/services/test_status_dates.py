"""A status email's dates as of today, from the planner's dates alone, against the whole re-forecast."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.core.lifecycle import OPEN, Action, TaskState
from onboarding.core.messages import Person
from onboarding.core.projects import ProjectRecord, as_of, dated_as_of, moved_since_stored
from onboarding.errors import OnboardingError
from onboarding.services.projects import ProjectService

ROOT = Path(__file__).parents[2]
BLUEPRINTS = sorted(str(p) for p in (ROOT / "blueprints").glob("*.yaml"))
SENDER = Person("Onboarding", "onboarding@vendor.example")


def without_slack(project: ProjectRecord) -> ProjectRecord:
    """The project with what ``dated_as_of`` leaves as stored blanked: each task's late due date, slack and flag."""
    blank = {"late_due_on": None, "slack_business_days": 0, "critical": False}
    return replace(project, tasks=tuple(t._replace(**blank) for t in project.tasks))


@pytest.mark.parametrize("seed", range(3))
def test_a_status_emails_dates_as_of_today_are_the_whole_re_forecasts(seed: int) -> None:
    """Projects of every example blueprint, worked on at random (some tasks started or finished late, some left
    untouched), read as of many days: ``dated_as_of`` gives exactly what ``as_of`` gives (every task's start and
    due date, the go-live, the day it last moved, the finish, all else), but the late dates, slack and critical
    flags it leaves as stored."""
    rnd = random.Random(seed)  # noqa: S311 - a reproducible portfolio, not a secret
    kickoff = date(2026, 11, 2)
    clock = FixedClock(kickoff, at=datetime.combine(kickoff, time(16, 0), tzinfo=UTC))
    service = ProjectService(store=InMemoryProjectStore(), blueprints=FileBlueprints(), clock=clock, sender=SENDER)
    ids: list[str] = []
    for n in range(6):
        path = BLUEPRINTS[n % len(BLUEPRINTS)]
        roles = FileBlueprints().load(path).blueprint.roles
        people = {role: Person(role.title(), f"{role}.{n}@example.com", "America/Chicago") for role in roles}
        launched = service.launch(
            path,
            customer=f"Customer {n}",
            kickoff_on=kickoff + timedelta(days=rnd.randint(0, 10)),
            bindings=people,
            pay_schedule="biweekly:2026-01-02",
        )
        ids.append(launched.project.id)
    compared = moved = changed = 0
    day = kickoff
    for _ in range(90):
        day += timedelta(days=1)
        clock.set(day)
        for project_id in ids:
            (stored,) = service.stored_many([project_id])
            loaded = service.blueprint_of(stored)
            if moved_since_stored(stored, today=day):
                moved += 1
            try:
                whole = as_of(stored, loaded.blueprint, graph=loaded.graph, today=day)
            except OnboardingError:
                with pytest.raises(OnboardingError):
                    dated_as_of(stored, loaded.blueprint, graph=loaded.graph, today=day)
                continue
            alone = dated_as_of(stored, loaded.blueprint, graph=loaded.graph, today=day)
            assert without_slack(alone) == without_slack(whole)
            compared += 1
            # the team works some days, on some of the tasks it may
            if rnd.random() < 0.5:
                continue
            for task in stored.tasks:
                if task.state not in OPEN or rnd.random() < 0.6:
                    continue
                action = Action.start if task.state is TaskState.pending and rnd.random() < 0.5 else Action.complete
                try:
                    service.change_task(project_id, task.key, action, on=day)
                except OnboardingError:
                    continue  # its predecessors not done, say
                changed += 1
    # late work re-dated on many days, and the work went on: the comparison was not idle
    assert compared > 400 and moved > 100 and changed > 100
