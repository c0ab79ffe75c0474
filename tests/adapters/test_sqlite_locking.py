"""On SQLite, reads take no lock that holds writers back; writing transactions take the write lock at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text

from onboarding.adapters.store.sql import make_engine, migrate, projects, writing


def other_writer(path: Path) -> sqlite3.Connection:
    """Another process's connection, as impatient as a test can afford."""
    connection = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def test_a_long_read_does_not_hold_writers_back(tmp_path: Path) -> None:
    path = tmp_path / "onboarding.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as reading:
        reading.execute(select(projects.c.id)).all()  # a read transaction is open (a sweep's decision, a report)
        writer = other_writer(path)
        writer.execute("BEGIN IMMEDIATE")  # would wait, then fail, if the read held the write lock
        writer.execute("COMMIT")
        writer.close()
    engine.dispose()


def test_a_writing_transaction_takes_the_write_lock_from_its_first_statement(tmp_path: Path) -> None:
    path = tmp_path / "onboarding.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with writing(engine) as connection:
        connection.execute(text("SELECT 1"))  # nothing written yet: the lock is held all the same
        writer = other_writer(path)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            writer.execute("BEGIN IMMEDIATE")
        writer.close()
    engine.dispose()
