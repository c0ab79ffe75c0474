"""A batch write checks its projects' versions and writes them as one step: a change that lands meanwhile is seen."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from onboarding.adapters.blueprint_files import FileBlueprints
from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store.sql import SqlProjectStore, projects, tasks, writing
from onboarding.core.lifecycle import Action
from onboarding.services.ports import ConcurrentChange, ProjectChange
from onboarding.services.projects import ProjectService
from tests.services.test_projects import SENDER, D, launch


def test_a_change_committed_while_the_batch_waits_for_its_lock_is_seen(engine: Engine, tmp_path: Path) -> None:
    store = SqlProjectStore(engine)
    svc = ProjectService(store=store, blueprints=FileBlueprints(), clock=FixedClock(D("2026-12-07")), sender=SENDER)
    first = launch(svc).project
    second = launch(svc, external_id="CRM-2").project
    changes = [ProjectChange(p, replace(p, customer=p.customer + " (batch)"), [], []) for p in (first, second)]
    outcome: list[BaseException | None] = []

    def batch() -> None:
        try:
            store.save_many(changes)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    with writing(engine) as other:  # another writer holds the second project (PostgreSQL) or the database (SQLite)
        other.execute(update(projects).where(projects.c.id == second.id).values(version=projects.c.version + 1))
        waiting = threading.Thread(target=batch)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive() and not outcome  # the batch waits for it
    waiting.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], ConcurrentChange)
    assert second.id in str(outcome[0])
    with engine.connect() as connection:
        names = connection.execute(select(projects.c.customer)).scalars().all()
    assert names == ["Acme Manufacturing", "Acme Manufacturing"]  # nothing of the batch was written
    store.save_many([changes[0]])  # the first alone was not changed meanwhile
    assert svc.get(first.id).customer == "Acme Manufacturing (batch)"
    with pytest.raises(ConcurrentChange):
        store.save_many([changes[0]])  # and it cannot be written twice from the same read


def test_a_nudge_recorded_while_a_change_is_made_keeps_its_counters(engine: Engine) -> None:
    store = SqlProjectStore(engine)
    clock = FixedClock(D("2026-12-07"))
    project = launch(ProjectService(store=store, blueprints=FileBlueprints(), clock=clock, sender=SENDER)).project
    raced: list[str] = []

    class Racing:
        """The store, with a sweep recording a nudge between a change's read and its write."""

        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def load(self, ref: str) -> object:
            found = store.load(ref)
            if not raced:
                raced.append(ref)
                with writing(engine) as connection:  # as SqlSweepStore.record_nudges bumps a task's counters
                    connection.execute(
                        update(tasks)
                        .where(tasks.c.project_id == ref, tasks.c.key == "sign_off_scope")
                        .values(nudges_sent=tasks.c.nudges_sent + 1, last_nudged_on=D("2026-12-10"))
                    )
            return found

    svc = ProjectService(store=Racing(), blueprints=FileBlueprints(), clock=clock, sender=SENDER)  # type: ignore[arg-type]
    clock.set(D("2026-12-10"))
    svc.change_task(project.id, "kickoff_call", Action.complete, on=D("2026-12-10"))  # late: what follows moves
    task = store.load(project.id).task("sign_off_scope")
    assert task.start_on > project.task("sign_off_scope").start_on  # the change re-planned it
    assert (task.nudges_sent, task.last_nudged_on) == (1, D("2026-12-10"))  # and the nudge's bump survived
