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
    sent = statements_sent(engine, ask)
    at = next(i for i, (statement, _) in enumerate(sent) if "FROM outbox" in statement)
    (statement, parameters), before = sent[at], [s for s in sent[:at] if s[0].startswith("SELECT set_config")]
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return [r[3] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
        for setting, values in before:
            connection.exec_driver_sql(setting, values)
        (plan,) = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters).scalar_one()
        connection.rollback()  # the claim's FOR UPDATE took row locks
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
