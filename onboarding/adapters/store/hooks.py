"""Hook sources and deliveries in the SQL store, and their in-memory twin.

A delivery is claimed with ``INSERT ... ON CONFLICT DO NOTHING`` on its (source,
delivery id) key, in a transaction of its own: of two identical deliveries at once,
one inserts and launches, the other finds the row (on PostgreSQL it waits for the
first insert to commit) and answers what it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import writing
from onboarding.adapters.store.tables import Base, HookDeliveryRow, HookSourceRow
from onboarding.core.hook_signatures import Scheme
from onboarding.errors import HookSourceExists, Problem
from onboarding.services.hooks import DeliveryClaim, HookSource

sources = Base.metadata.tables[HookSourceRow.__tablename__]
deliveries = Base.metadata.tables[HookDeliveryRow.__tablename__]


def _exists(name: str) -> HookSourceExists:
    return HookSourceExists(
        name,
        (
            Problem(
                "hook-source-exists",
                f"a hook source {name!r} exists already",
                ("source",),
                "remove it first, or replace it to change its secret or mapping",
            ),
        ),
    )


class SqlHookStore:
    """Hook sources and deliveries in a SQL database (the real ``HookStore``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_source(self, source: HookSource, *, replace: bool) -> None:
        values = {
            "name": source.name,
            "scheme": source.scheme.value,
            "secret": source.secret,
            "mapping": source.mapping_text,
            "public_url": source.public_url,
            "created_at": source.created_at,
        }
        with writing(self.engine) as connection:
            found = connection.execute(select(sources.c.name).where(sources.c.name == source.name)).first()
            if found is not None and not replace:
                raise _exists(source.name)
            if found is not None:
                connection.execute(update(sources).where(sources.c.name == source.name).values(values))
            else:
                connection.execute(insert(sources).values(values))

    def source(self, name: str) -> HookSource | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(sources).where(sources.c.name == name)).first()
        return None if row is None else _source(row._mapping)

    def sources(self) -> list[HookSource]:
        with self.engine.connect() as connection:
            return [_source(r._mapping) for r in connection.execute(select(sources).order_by(sources.c.name))]

    def remove_source(self, name: str) -> bool:
        with writing(self.engine) as connection:
            return bool(connection.execute(delete(sources).where(sources.c.name == name)).rowcount)

    def claim_delivery(
        self, source: str, delivery_id: str, *, external_id: str, now: datetime, stale_before: datetime
    ) -> DeliveryClaim:
        key = (deliveries.c.source == source, deliveries.c.delivery_id == delivery_id)
        now, stale_before = now.astimezone(UTC), stale_before.astimezone(UTC)
        with writing(self.engine) as connection:
            dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            claimed = connection.execute(
                dialect_insert(deliveries)
                .values(source=source, delivery_id=delivery_id, external_id=external_id, received_at=now)
                .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
                .returning(deliveries.c.id)
            ).first()
            if claimed is not None:
                return DeliveryClaim(claimed=True)
            row = connection.execute(select(deliveries.c.project_id, deliveries.c.received_at).where(*key)).one()
            if row.project_id is not None:
                return DeliveryClaim(claimed=False, project_id=row.project_id)
            taken = connection.execute(
                update(deliveries)
                .where(*key, deliveries.c.project_id.is_(None), deliveries.c.received_at < stale_before)
                .values(received_at=now, external_id=external_id)
            ).rowcount
            return DeliveryClaim(claimed=bool(taken))

    def complete_delivery(self, source: str, delivery_id: str, *, project_id: str) -> None:
        with writing(self.engine) as connection:
            connection.execute(
                update(deliveries)
                .where(deliveries.c.source == source, deliveries.c.delivery_id == delivery_id)
                .values(project_id=project_id)
            )

    def release_delivery(self, source: str, delivery_id: str) -> None:
        with writing(self.engine) as connection:
            connection.execute(
                delete(deliveries).where(
                    deliveries.c.source == source,
                    deliveries.c.delivery_id == delivery_id,
                    deliveries.c.project_id.is_(None),
                )
            )

    def delivery_count(self) -> int:
        """How many deliveries are recorded (for tests and the operator)."""
        with self.engine.connect() as connection:
            return len(connection.execute(select(deliveries.c.id)).all())


def _source(row: Any) -> HookSource:
    return HookSource(
        name=row["name"],
        scheme=Scheme(row["scheme"]),
        secret=row["secret"],
        mapping_text=row["mapping"],
        public_url=row["public_url"],
        created_at=utc_instant(row["created_at"]),
    )


class InMemoryHookStore:
    """The in-memory twin of ``SqlHookStore``: same contract, no database."""

    def __init__(self) -> None:
        self.hook_sources: dict[str, HookSource] = {}
        self.deliveries: dict[tuple[str, str], tuple[str, str | None, datetime]] = {}  # external id, project, at

    def add_source(self, source: HookSource, *, replace: bool) -> None:
        if source.name in self.hook_sources and not replace:
            raise _exists(source.name)
        self.hook_sources[source.name] = source

    def source(self, name: str) -> HookSource | None:
        return self.hook_sources.get(name)

    def sources(self) -> list[HookSource]:
        return [self.hook_sources[name] for name in sorted(self.hook_sources)]

    def remove_source(self, name: str) -> bool:
        return self.hook_sources.pop(name, None) is not None

    def claim_delivery(
        self, source: str, delivery_id: str, *, external_id: str, now: datetime, stale_before: datetime
    ) -> DeliveryClaim:
        found = self.deliveries.get((source, delivery_id))
        if found is None or (found[1] is None and found[2] < stale_before):
            self.deliveries[source, delivery_id] = (external_id, None, now)
            return DeliveryClaim(claimed=True)
        return DeliveryClaim(claimed=False, project_id=found[1])

    def complete_delivery(self, source: str, delivery_id: str, *, project_id: str) -> None:
        external_id, _, at = self.deliveries[source, delivery_id]
        self.deliveries[source, delivery_id] = (external_id, project_id, at)

    def release_delivery(self, source: str, delivery_id: str) -> None:
        if self.deliveries.get((source, delivery_id), ("", "launched", None))[1] is None:
            del self.deliveries[source, delivery_id]

    def delivery_count(self) -> int:
        return len(self.deliveries)
