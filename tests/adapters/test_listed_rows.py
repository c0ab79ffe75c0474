"""Many rows written in one statement: ``insert_new_rows`` on both databases, PostgreSQL's lists as arrays."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select

from onboarding.adapters.store import sql
from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import insert_new_rows, outbox, outbox_values
from onboarding.core.messages import MessageKind, OutgoingMessage, Person
from tests.stores import statements_sent

AT = datetime(2027, 3, 15, 17, 0, tzinfo=UTC)
ODD = 'quotes " and \\ backslashes, {braces}, commas, NULL, "NULL", Zoë 日本'


def message(n: int, subject: str | None = None) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=f"status:p{n}:ana@example.com:2027-03-15",
        kind=MessageKind.status,
        to=(Person(f"Ana {ODD}", "ana@example.com"),),
        subject=subject or f"Update {n}",
        context={"n": n, "text": ODD, "nested": {"list": [1, None, "x"], "empty": {}}, "none": None},
        customer_facing=n % 2 == 0,
        project_id=None if n % 3 == 0 else f"p{n}",
        key_on=date(2027, 3, 15) if n % 2 else None,
    )


def test_rows_are_inserted_in_order_each_whole_and_those_stored_left_alone(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "_ROWS_A_STATEMENT", 4)  # several statements on PostgreSQL, the last one short
    first = [outbox_values(message(n), AT) for n in (3, 1, 5)]
    with engine.begin() as connection:
        assert insert_new_rows(connection, outbox, first, key=["idempotency_key"]) == 3
    again = [outbox_values(message(n, "changed"), AT) for n in (2, 1, 9, 0, 5, 7, 4, 8, 6)]
    with engine.begin() as connection:
        assert insert_new_rows(connection, outbox, again, key=["idempotency_key"]) == 7
    with engine.connect() as connection:
        stored = connection.execute(select(outbox).order_by(outbox.c.id)).mappings().all()
    order = [3, 1, 5, 2, 9, 0, 7, 4, 8, 6]  # as listed; 1 and 5 were stored already
    assert [r["idempotency_key"] for r in stored] == [message(n).idempotency_key for n in order]
    for row, n in zip(stored, order, strict=True):
        assert row["subject"] == (f"Update {n}" if n in (3, 1, 5) else "changed")  # those stored left as they were
        assert row["context"] == dict(message(n).context)
        assert row["recipients"] == [{"name": f"Ana {ODD}", "email": "ana@example.com", "timezone": "UTC"}]
        assert row["cc"] == []
        assert (row["project_id"], row["customer_facing"], row["key_on"], row["key_email"]) == (
            None if n % 3 == 0 else f"p{n}",
            n % 2 == 0,
            date(2027, 3, 15) if n % 2 else None,
            None,
        )
        assert utc_instant(row["created_at"]) == AT == utc_instant(row["next_attempt_at"])
        assert row["status"] == "pending"


def test_a_postgresql_list_goes_as_one_statement_of_arrays_a_chunk(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "_ROWS_A_STATEMENT", 4)
    rows = [outbox_values(message(n), AT) for n in range(10)]

    def insert() -> None:
        with engine.begin() as connection:
            insert_new_rows(connection, outbox, rows, key=["idempotency_key"])

    inserts = [parameters for statement, parameters in statements_sent(engine, insert) if "INSERT" in statement]
    if engine.dialect.name == "postgresql":
        assert [len(p[0]) for p in inserts] == [4, 4, 2]  # each parameter a column of the chunk's rows
    else:
        assert [len(p) for p in inserts] == [10]  # one statement run for each row
    with engine.begin() as connection:
        assert insert_new_rows(connection, outbox, [], key=["idempotency_key"]) == 0
