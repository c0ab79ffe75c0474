"""The sweep store's questions answered from their indexes: SQLite's query plans, read with EXPLAIN QUERY PLAN.

At a quarter of a million projects a question that reads every task row costs
seconds each sweep; these hold the plans of the questions asked every day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from onboarding.adapters.store.sql import make_engine, migrate
from onboarding.adapters.store.sweep import SqlSweepStore
from tests.stores import statements_sent


@pytest.fixture
def sqlite(tmp_path: Any) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'plans.db'}")
    migrate(engine)
    return engine


def plans_of(engine: Engine, ask: Callable[[], object]) -> list[str]:
    """The query plan of every query ``ask`` sends, in order (not the connection's own pragmas)."""
    sent = [
        (statement, parameters)
        for statement, parameters in statements_sent(engine, ask)
        if statement.lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    with engine.connect() as connection:
        return [
            " / ".join(row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            for statement, parameters in sent
        ]


def test_ready_automated_tasks_are_found_from_their_partial_index(sqlite: Engine) -> None:
    (plan,) = plans_of(sqlite, lambda: SqlSweepStore(sqlite).ready_automated(today=date(2027, 3, 15)))
    assert "USING COVERING INDEX ix_tasks_ready_automated" in plan, plan
    assert "SCAN tasks" not in plan, plan


def test_the_partial_index_holds_only_pending_automated_tasks(sqlite: Engine) -> None:
    with sqlite.connect() as connection:
        (sql,) = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_tasks_ready_automated'")
        ).scalars()
    assert "WHERE kind = 'automated' AND state = 'pending'" in sql


def test_the_digests_of_the_last_days_are_found_by_when_they_were_recorded(sqlite: Engine) -> None:
    """The nudges table keeps every nudge ever recorded (tens of thousands a day at scale): the sweep's count of
    each recipient's emails today reads the last two days of it, never the whole history."""
    since = datetime(2027, 3, 14, 17, 0, tzinfo=UTC)
    (plan,) = plans_of(sqlite, lambda: SqlSweepStore(sqlite).digests_since(since))
    assert "USING INDEX ix_nudges_recorded" in plan, plan
    assert "SCAN nudges" not in plan.replace("SCAN nudges USING", ""), plan
