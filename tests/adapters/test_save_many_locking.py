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
from onboarding.adapters.store.sql import SqlProjectStore, projects, writing
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
