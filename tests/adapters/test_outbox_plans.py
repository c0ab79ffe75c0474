"""A delivery claim reads the messages waiting to go, never the outbox's history of sent ones.

The outbox keeps every message it ever sent (a project's history, ``outbox list``),
so it grows for as long as the engine runs, while the messages waiting at any one
time stay few. A claim takes the first waiting messages in the order they were
queued: found by walking the table in that order, it passed over every sent row
first, and each claim cost more than the one before (62 ms a claim at 280,000 sent
messages on SQLite; at 250,000 projects delivery went at 1,011 messages a second
before, 1,713 after). ``ix_outbox_waiting`` holds the waiting messages alone, in
their order.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert, text, update

from onboarding.adapters.store.outbox import SqlOutbox
from onboarding.adapters.store.sql import outbox
from onboarding.adapters.store.sweep import SqlSweepStore
from tests.stores import statements_sent

NOW = datetime(2027, 3, 16, 17, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
SENT = 5000  # history: many times the waiting messages


def row(number: int, status: str, **values: Any) -> dict[str, Any]:
    return {
        "idempotency_key": f"message-{number}",
        "project_id": f"P-{number % 97}",
        "kind": "status",
        "recipients": [{"name": "Ana", "email": "ana@example.com"}],
        "cc": [],
        "subject": f"Message {number}",
        "context": {},
        "customer_facing": True,
        "created_at": NOW - timedelta(days=1),
        "status": status,
        "attempts": 0,
        "next_attempt_at": NOW - timedelta(hours=1),
        "sent_at": None,
        "last_error": None,
        "claimed_by": None,
        "claimed_at": None,
        **values,
    }


@pytest.fixture(params=["no statistics", "statistics of the queue", "statistics of the history"])
def outbox_with_history(engine: Engine, request: pytest.FixtureRequest) -> Engine:
    """``SENT`` messages sent, then three waiting: two pending, one claimed by a run long gone (stale), and one
    failed (not waiting). The database's statistics, which its planner goes by, are none (a sweep has just
    queued the messages), those of the messages queued before they were sent (a delivery has just sent them),
    or up to date."""
    rows = [row(n, "pending") for n in range(SENT)]
    rows += [
        row(SENT, "pending"),
        row(SENT + 1, "sending", claimed_by="run:999", claimed_at=NOW - 2 * LEASE),
        row(SENT + 2, "failed", last_error="550 no such user"),
        row(SENT + 3, "pending"),
    ]
    with engine.begin() as connection:
        connection.execute(insert(outbox), rows)
        if request.param == "statistics of the queue":
            connection.execute(text("ANALYZE"))
        connection.execute(update(outbox).where(outbox.c.id <= SENT).values(status="sent", sent_at=NOW))
        if request.param == "statistics of the history":
            connection.execute(text("ANALYZE"))
    return engine


def plan_of(engine: Engine, ask: Callable[[], object]) -> list[str]:
    """How the first query on the outbox that ``ask`` sends reads it: SQLite's plan lines, or PostgreSQL's plan
    nodes on it (and its sorts), each with the rows it read and threw away (``EXPLAIN ANALYZE``). Explained in a
    transaction that first runs the statements ``ask`` sent before it in its own (the planner's settings)."""
    return plans_of(engine, ask, first=True)[0]


def plans_of(engine: Engine, ask: Callable[[], object], *, first: bool = False) -> list[list[str]]:
    """``plan_of`` each statement on the outbox that ``ask`` sends (a read, or a write: its rows found), or the
    first alone."""
    sent = statements_sent(engine, ask)
    on_outbox = [
        i for i, (statement, _) in enumerate(sent) if "FROM outbox" in statement or "UPDATE outbox" in statement
    ]
    return [_plan(engine, sent, at) for at in on_outbox[:1] if first] or [_plan(engine, sent, at) for at in on_outbox]


def _plan(engine: Engine, sent: list[tuple[str, Any]], at: int) -> list[str]:
    (statement, parameters), before = sent[at], [s for s in sent[:at] if s[0].startswith("SELECT set_config")]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return [r[3] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
        for setting, values in before:
            connection.exec_driver_sql(setting, values)
        (plan,) = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar_one()
        import os

        if os.environ.get("SHOWPLAN"):
            print(statement[:200], json.dumps(plan, indent=1)[:3000])
        connection.rollback()  # the claim's FOR UPDATE took row locks, a write wrote
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == "outbox":
            removed = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
            nodes.append(f"{node['Node Type']} {node.get('Index Name', '')} removed={removed}")
        elif node["Node Type"] == "Sort":
            nodes.append("Sort removed=0")
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan["Plan"] if isinstance(plan, dict) else json.loads(plan)[0]["Plan"])
    return nodes


def assert_reads_only_waiting(engine: Engine, plan: list[str]) -> None:
    assert plan, "the query was not seen"
    if engine.dialect.name == "sqlite":
        assert any("USING INDEX ix_outbox_waiting" in line for line in plan), plan
        assert not any(line.startswith("SCAN outbox") and "INDEX" not in line for line in plan), plan
        return
    assert not any(node.startswith("Seq Scan") or "pk_outbox" in node for node in plan), plan
    assert all(int(node.rsplit("removed=", 1)[1]) <= 4 for node in plan), plan


def test_a_claim_reads_the_waiting_messages_not_the_sent_ones(outbox_with_history: Engine) -> None:
    engine = outbox_with_history
    store = SqlOutbox(engine)
    plan = plan_of(engine, lambda: store.claim(now=NOW, worker="run:1", limit=200, lease=LEASE))
    assert_reads_only_waiting(engine, plan)
    # in id order as the index keeps them, never every due message read, then sorted (after a sweep, thousands
    # for each claim of 200)
    assert not any(node.startswith("Sort") for node in plan), plan


def test_the_claim_takes_pending_and_stale_messages_in_the_order_they_were_queued(outbox_with_history: Engine) -> None:
    claimed = SqlOutbox(outbox_with_history).claim(now=NOW, worker="run:1", limit=200, lease=LEASE)
    keys = [m.message.idempotency_key for m in claimed]
    assert keys == [f"message-{SENT}", f"message-{SENT + 1}", f"message-{SENT + 3}"]
    again = SqlOutbox(outbox_with_history).claim(now=NOW, worker="run:2", limit=200, lease=LEASE)
    assert again == []  # claimed just now: none stale


def test_the_sweep_preview_reads_what_is_due_the_same_way(outbox_with_history: Engine) -> None:
    engine = outbox_with_history
    store = SqlSweepStore(engine)
    assert_reads_only_waiting(engine, plan_of(engine, lambda: store.outbox_due(now=NOW, lease=LEASE)))
    assert [line.subject for line in store.outbox_due(now=NOW, lease=LEASE)] == [
        f"Message {SENT}",
        f"Message {SENT + 1}",
        f"Message {SENT + 3}",
    ]


# a sweep's queue, many times a batch: on PostgreSQL large enough that reading the whole table is not the cheaper
# way to find 200 rows
WAITING = {"sqlite": 5000, "postgresql": 60000}


@pytest.fixture(params=["no statistics", "statistics of the queue"])
def a_batch_among_many_waiting(engine: Engine, request: pytest.FixtureRequest) -> tuple[Engine, list[int]]:
    """``WAITING`` weekly updates pending, the first 200 claimed by ``run:1``; the planner's statistics none, or
    those of the queue."""
    rows = [row(n, "pending", key_reason="weekly") for n in range(WAITING[engine.dialect.name])]
    with engine.begin() as connection:
        connection.execute(insert(outbox), rows)
        if request.param == "statistics of the queue":
            connection.execute(text("ANALYZE"))
    claimed = SqlOutbox(engine).claim(now=NOW, worker="run:1", limit=200, lease=LEASE)
    return engine, [m.id for m in claimed]


@pytest.mark.parametrize("outcome", ["sent", "quiet"])
def test_a_batchs_outcome_finds_its_rows_by_id_not_among_the_waiting_ones(
    a_batch_among_many_waiting: tuple[Engine, list[int]], outcome: str
) -> None:
    """Recording a batch sent (or its weekly updates quiet) asks whether each message is still the run's to
    write. Asked in the write's own condition (still its claim, or back in the queue unclaimed), SQLite read
    every pending message through ``ix_outbox_due`` for it: 27 ms a batch of 200 with 344,000 waiting, a
    fifth of a delivery at 250,000 projects."""
    engine, ids = a_batch_among_many_waiting
    store = SqlOutbox(engine)
    at = NOW + timedelta(minutes=1)
    write = {
        "sent": lambda: store.sent_many(ids, at=at, run="run:1"),
        "quiet": lambda: store.quiet(ids, run="run:1"),
    }[outcome]
    plans = plans_of(engine, write)
    assert plans, "no statement on the outbox was seen"
    for plan in plans:
        if engine.dialect.name == "sqlite":
            assert all("PRIMARY KEY" in line for line in plan), plan
        else:  # the rows written found by id: none read and thrown away
            scans = [node for node in plan if not node.startswith(("ModifyTable", "LockRows"))]
            assert scans and all(int(node.rsplit("removed=", 1)[1]) == 0 for node in scans), plan
            assert not any(node.startswith("Seq Scan") for node in scans), plan
    write()
    states = {"sent": "sent", "quiet": "suppressed"}
    assert SqlOutbox(engine).counts() == {states[outcome]: 200, "pending": WAITING[engine.dialect.name] - 200}
