"""A small real portfolio on SQLite: the example blueprints launched and worked through the services for 100 days.

Kickoffs are 6 to 12 days apart (three cohort months); the demo's own people and
pace (onboarding_flows/demo.py) do the work; the sweep service runs every working day
(automated tasks, re-forecasts), without Prefect, on a database marked as a simulation. One project is put on hold for
two weeks and one has its value task skipped, so the report has holds, stopped
projects and projects still in flight. Seeded: the same portfolio every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.bootstrap import database, project_service, sweep_service
from onboarding.core.lifecycle import Action
from onboarding.settings import Settings
from onboarding_flows import demo

DAYS = 100
PROJECTS = 9


@dataclass(frozen=True)
class Portfolio:
    settings: Settings
    clock: FixedClock
    as_of: date


def build_portfolio(folder: Path, *, managers: str = "", projects: int = PROJECTS, days: int = DAYS) -> Portfolio:
    settings = Settings(data_dir=folder, managers=managers)
    engine = database(settings)
    SqlSweepStore(engine).mark_simulation(at=datetime.now(UTC))  # it sweeps days that may not have come yet
    clock = FixedClock(demo.START)
    service = project_service(settings, clock=clock, engine=engine)
    seeded = random.Random  # a seeded simulation: nothing secret
    launched = demo._launch_portfolio(
        service, demo._People(seeded(7)), count=projects, rnd=seeded(7), spacing_days=(6, 9, 12)
    )
    simulation = demo._Simulation(service, launched, rnd=seeded(8))
    sweeper = sweep_service(settings, clock=clock, deliver=False)
    held, stopped = launched[1], launched[2]
    day = demo.START
    for offset in range(days):
        day = demo.START + timedelta(days=offset)
        clock.set(day, at=datetime(day.year, day.month, day.day, 16, 0, tzinfo=UTC))
        if offset == 20:
            service.hold(held.id, by="test", reason="customer reorganising")
        if offset == 34:
            service.resume(held.id, by="test")
        if day == stopped.kickoff_on + timedelta(days=3):  # stopped a few days into the work, never before it
            value_task = next(t.key for t in stopped.tasks if t.first_value)
            service.change_task(stopped.id, value_task, Action.skip, on=day, by="test")
        simulation.work(day)
        if day.weekday() < 5:
            sweeper.run()
    engine.dispose()
    return Portfolio(settings, clock, day)
