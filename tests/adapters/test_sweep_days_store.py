"""The days swept and the simulation mark, as the SQL sweep store keeps them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from onboarding.adapters.store.sweep import SqlSweepStore, sweep_days
from onboarding.core.sweep_days import SweepHistory

RAN = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def at(day: str, hour: int = 17) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def test_days_are_recorded_in_order_and_never_before_the_latest(engine: Engine) -> None:
    store = SqlSweepStore(engine)
    assert store.sweep_history() == SweepHistory()
    assert store.record_sweep(at=at("2026-11-30"), ran_at=RAN)
    assert store.record_sweep(at=at("2026-12-01", 9), ran_at=RAN)
    assert store.record_sweep(at=at("2026-12-01", 17), ran_at=RAN)  # the same day again
    assert not store.record_sweep(at=at("2026-11-30"), ran_at=RAN)  # before the latest: nothing recorded
    assert store.sweep_history() == SweepHistory(latest_swept_on=date(2026, 12, 1))
    with engine.connect() as connection:
        rows = connection.execute(select(sweep_days.c.swept_on, sweep_days.c.sweeps).order_by("swept_on")).all()
    assert [tuple(r) for r in rows] == [(date(2026, 11, 30), 1), (date(2026, 12, 1), 2)]


def test_only_a_new_database_becomes_a_simulation(engine: Engine) -> None:
    store = SqlSweepStore(engine)
    store.mark_simulation(at=RAN)
    store.mark_simulation(at=RAN)  # again: still one mark
    assert store.sweep_history() == SweepHistory(simulation=True)
    store.record_sweep(at=at("2027-03-15"), ran_at=RAN)
    assert store.sweep_history() == SweepHistory(latest_swept_on=date(2027, 3, 15), simulation=True)


def test_a_database_that_swept_a_day_is_not_made_a_simulation(engine: Engine) -> None:
    store = SqlSweepStore(engine)
    store.record_sweep(at=at("2026-11-30"), ran_at=RAN)
    with pytest.raises(RuntimeError):
        store.mark_simulation(at=RAN)
    assert not store.sweep_history().simulation
