"""The sweep store's questions answered from their indexes: SQLite's query plans, read with EXPLAIN QUERY PLAN, and
PostgreSQL's plan of a statement the driver has prepared, for any values of its parameters.

At a quarter of a million projects a question that reads every task row costs
seconds each sweep; these hold the plans of the questions asked every day.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg.sql
import pytest
from sqlalchemy import Connection, Engine, Select, insert, select, text

from onboarding.adapters.clock import FixedClock
from onboarding.adapters.store import sql
from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.adapters.store.sql import SqlProjectStore, held_among, make_engine, migrate, projects, tasks
from onboarding.adapters.store.sweep import SqlSweepStore, nudges
from tests.services.test_projects import launch, service
from tests.services.test_sweep import World
from tests.stores import statements_sent

KICKOFF = FixedClock(date(2026, 12, 7))


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


def generic_plan(connection: Connection, query: Select[Any]) -> dict[str, Any]:
    """PostgreSQL's plan of ``query`` for any values of its parameters (a generic plan: what the server may run a
    statement the driver has prepared by), explained by ``EXPLAIN EXECUTE`` of it prepared."""
    compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    names: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("PREPARE asked AS " + re.sub(r"%\((\w+)\)s", numbered, str(compiled)))
    driver = connection.connection.driver_connection
    values = psycopg.sql.SQL(", ").join(psycopg.sql.Literal(compiled.params[name]) for name in names)
    plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE asked({values.as_string(driver)})").scalar_one()
    connection.exec_driver_sql("DEALLOCATE asked")
    return dict((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"])


def nodes_on(plan: dict[str, Any], relation: str) -> list[dict[str, Any]]:
    found = [plan] if plan.get("Relation Name") == relation else []
    return found + [node for child in plan.get("Plans", ()) for node in nodes_on(child, relation)]


def test_which_nudges_are_recorded_is_asked_key_by_key_however_the_server_plans_it(engine: Engine) -> None:
    """Recording a sweep's nudges first asks which of each thousand keys another sweep recorded. Once the driver
    has prepared that statement, PostgreSQL may plan it for any list (a generic plan): asked as ``key IN (...)``,
    it then tested each recorded nudge against every key in turn (2.4 s a question at 115,000 nudges, 16 s of a
    Monday's sweep at 250,000 projects). Asked as a join to the keys, each is looked up, or the keys hashed."""
    at = datetime(2027, 3, 15, 17, 0, tzinfo=UTC)
    pid = launch(service(SqlProjectStore(engine), FixedClock(date(2026, 12, 7)))).project.id
    with engine.begin() as connection:  # recorded by earlier sweeps, no statistics gathered since
        connection.execute(
            insert(nudges),
            [
                {
                    "key": f"nudge:{pid}:t{n}:1:1",
                    "project_id": pid,
                    "task_key": f"t{n}",
                    "due_version": 1,
                    "number": 1,
                    "level": 1,
                    "recipient": "ana@example.com",
                    "digest_key": f"digest:{n}",
                    "digest_on": date(2027, 3, 12),
                    "created_at": at,
                }
                for n in range(20_000)
            ],
        )
    keys = [f"nudge:{pid}:t{n}:1:1" for n in range(1, 1000, 20)] + [f"nudge:{pid}:new{n}:1:1" for n in range(950)]
    with engine.connect() as connection:
        query = held_among(connection, nudges.c.key, keys)
        assert sorted(connection.execute(query).scalars()) == sorted(keys[:50])
        if engine.dialect.name == "sqlite":
            compiled = query.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
            values = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = " / ".join(r[3] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values))
            assert "SCAN nudges" not in plan, plan
            return
        read = nodes_on(generic_plan(connection, query), "nudges")
        assert read and not any("ANY" in node.get("Filter", "") for node in read), read


def test_a_re_forecast_writes_its_re_dated_rows_a_chunk_a_statement_as_planned(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows a re-forecast re-dates are written a chunk of rows a statement on PostgreSQL (each field's values
    one array), one statement run a row on SQLite; either way each row gets what the planner gave it, as in a
    store with no SQL at all."""
    monkeypatch.setattr(sql, "_ROWS_A_STATEMENT", 7)  # several chunks, the last one short
    memory = InMemoryProjectStore()
    stored, kept = SqlProjectStore(engine), []
    for _ in range(3):
        kept.append((launch(service(stored, KICKOFF)).project.id, launch(service(memory, KICKOFF)).project.id))
    late = FixedClock(date(2027, 1, 20))  # nothing started: every open task re-dated
    sent = statements_sent(engine, lambda: service(stored, late).reforecast_many([s for s, _ in kept]))
    service(memory, late).reforecast_many([m for _, m in kept])
    for in_sql, in_memory in kept:
        assert stored.load(in_sql).tasks == memory.load(in_memory).tasks
    updates = [parameters for statement, parameters in sent if statement.startswith("UPDATE tasks")]
    rows = sum(len(p[0]) for p in updates) if engine.dialect.name == "postgresql" else sum(map(len, updates))
    assert rows > 7 * 3  # re-dated rows of three projects
    if engine.dialect.name == "postgresql":
        assert all(len(p[0]) <= 7 for p in updates) and len(updates) >= rows / 7


def with_other_projects(engine: Engine, pid: str, *, rows: int = 20_000) -> None:
    """About ``rows`` task rows of other projects, copies of ``pid``'s finished (no sweep's work), no statistics
    gathered since."""
    with engine.begin() as connection:
        project = dict(connection.execute(select(projects).where(projects.c.id == pid)).one()._mapping)
        own = [dict(r._mapping) for r in connection.execute(select(tasks).where(tasks.c.project_id == pid))]
        others = [f"{pid}-{n}" for n in range(rows // len(own) + 1)]
        finished = {"external_id": None, "state": "completed"}
        connection.execute(insert(projects), [{**project, **finished, "id": other} for other in others])
        connection.execute(
            insert(tasks), [{**row, "state": "done", "project_id": other} for other in others for row in own]
        )


def tasks_read_by_generic_plan(engine: Engine, statement: str, parameters: Sequence[Any]) -> list[dict[str, Any]]:
    """The nodes that read ``tasks`` in PostgreSQL's plan of a statement sent through the driver (``%s``/``%b``
    placeholders) for any values of its parameters (a generic plan)."""
    with engine.connect() as connection:
        numbered = iter(range(1, len(parameters) + 1))
        connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        connection.exec_driver_sql("PREPARE asked AS " + re.sub("%[sb]", lambda _: f"${next(numbered)}", statement))
        driver = connection.connection.driver_connection
        values = psycopg.sql.SQL(", ").join(map(psycopg.sql.Literal, parameters)).as_string(driver)
        plan = connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) EXECUTE asked({values})").scalar_one()
        connection.rollback()
    found = nodes_on(dict((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]), "tasks")
    return [node for node in found if node["Node Type"] != "ModifyTable"]


def by_primary_key(read: list[dict[str, Any]]) -> bool:
    return bool(read) and all(node["Node Type"] == "Index Scan" and node["Index Name"] == "pk_tasks" for node in read)


def test_re_dated_task_rows_are_found_by_their_key_however_the_server_plans_it(engine: Engine) -> None:
    """Once the driver has prepared the statement that writes re-dated rows, PostgreSQL may plan it for any rows
    (a generic plan): each row is still found through the primary key, never by reading the table."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the statement joined to arrays of values is PostgreSQL's")
    stored = SqlProjectStore(engine)
    pid = launch(service(stored, KICKOFF)).project.id
    with_other_projects(engine, pid)
    late = FixedClock(date(2027, 1, 20))
    sent = statements_sent(engine, lambda: service(stored, late).reforecast_many([pid]))
    statement, parameters = next((s, p) for s, p in sent if s.startswith("UPDATE tasks"))
    read = tasks_read_by_generic_plan(engine, statement, parameters)
    assert by_primary_key(read), read


def test_nudged_tasks_are_counted_by_their_key_however_the_server_plans_it(engine: Engine, tmp_path: Path) -> None:
    """Recording nudges bumps each nudged task's counter in one statement of arrays: in PostgreSQL's generic plan
    of it, each task is found through the primary key."""
    if engine.dialect.name != "postgresql":
        pytest.skip("the statement joined to arrays of values is PostgreSQL's")
    world = World(engine, tmp_path)
    pid = world.launch()
    with_other_projects(engine, pid)
    world.clock.set(date(2027, 1, 20), at=datetime(2027, 1, 20, 17, 0, tzinfo=UTC))
    decision = world.sweep.decide_nudges()
    assert decision.plan.nudges
    sent = statements_sent(engine, lambda: world.sweep.record_nudges(decision))
    statement, parameters = next((s, p) for s, p in sent if s.startswith("UPDATE tasks SET nudges_sent"))
    assert len(parameters[0]) == len({(n.project_id, n.task_key) for n in decision.plan.nudges})
    read = tasks_read_by_generic_plan(engine, statement, parameters)
    assert by_primary_key(read), read
