"""Idempotency keys in the SQL store (``idempotency_keys``), and their in-memory twin.

A key is claimed by inserting its row: the primary key (caller, key) lets one
request in and makes every concurrent duplicate wait for it (PostgreSQL) or find
it (SQLite's write lock), so one launch is made whatever the number of retries.

Not here: what a claim means for a launch (``services/launches``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import _insert, writing
from onboarding.adapters.store.tables import Base, IdempotencyKeyRow
from onboarding.services.ports import IdempotentRequest

_table = Base.metadata.tables[IdempotencyKeyRow.__tablename__]


def _request(row: Any) -> IdempotentRequest:
    return IdempotentRequest(
        fingerprint=row.fingerprint,
        request=dict(row.request),
        project_id=row.project_id,
        created=row.created,
        created_at=utc_instant(row.created_at),
    )


class SqlIdempotencyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(
        self,
        owner: str,
        key: str,
        *,
        fingerprint: str,
        request: Mapping[str, object],
        now: datetime,
        stale_before: datetime,
    ) -> IdempotentRequest | None:
        values = {"fingerprint": fingerprint, "request": dict(request), "created_at": now}
        with writing(self._engine) as connection:
            inserted = connection.execute(
                _insert(connection)(_table)
                .values(owner=owner, key=key, project_id=None, created=None, **values)
                .on_conflict_do_nothing(index_elements=["owner", "key"])
                .returning(_table.c.owner)
            ).first()
            if inserted is not None:
                return None
            taken_over = connection.execute(
                update(_table)
                .where(
                    _table.c.owner == owner,
                    _table.c.key == key,
                    _table.c.project_id.is_(None),
                    _table.c.created_at < stale_before,
                )
                .values(**values)
                .returning(_table.c.owner)
            ).first()
            if taken_over is not None:
                return None
            row = connection.execute(select(_table).where(_table.c.owner == owner, _table.c.key == key)).one()
            return _request(row)

    def complete(self, owner: str, key: str, *, project_id: str, created: bool) -> None:
        with writing(self._engine) as connection:
            connection.execute(
                update(_table)
                .where(_table.c.owner == owner, _table.c.key == key)
                .values(project_id=project_id, created=created)
            )

    def release(self, owner: str, key: str) -> None:
        with writing(self._engine) as connection:
            connection.execute(
                delete(_table).where(_table.c.owner == owner, _table.c.key == key, _table.c.project_id.is_(None))
            )

    def find(self, owner: str, key: str) -> IdempotentRequest | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(_table).where(_table.c.owner == owner, _table.c.key == key)).first()
        return _request(row) if row is not None else None


class InMemoryIdempotencyStore:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], IdempotentRequest] = {}

    def claim(
        self,
        owner: str,
        key: str,
        *,
        fingerprint: str,
        request: Mapping[str, object],
        now: datetime,
        stale_before: datetime,
    ) -> IdempotentRequest | None:
        held = self.requests.get((owner, key))
        if held is not None and (held.project_id is not None or held.created_at >= stale_before):
            return held
        self.requests[(owner, key)] = IdempotentRequest(fingerprint, dict(request), None, None, now)
        return None

    def complete(self, owner: str, key: str, *, project_id: str, created: bool) -> None:
        self.requests[(owner, key)] = replace(self.requests[(owner, key)], project_id=project_id, created=created)

    def release(self, owner: str, key: str) -> None:
        held = self.requests.get((owner, key))
        if held is not None and held.project_id is None:
            del self.requests[(owner, key)]

    def find(self, owner: str, key: str) -> IdempotentRequest | None:
        return self.requests.get((owner, key))
