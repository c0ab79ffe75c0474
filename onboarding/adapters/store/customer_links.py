"""Each project's customer link key in the SQL store (``customer_link_keys``).

The key is random (``secrets``), kept as URL-safe base64 with its generation. It is
made on first use, in a statement that keeps the first key when two processes make
one at once, and replaced by a rotation, whose new generation is one more.

Not here: signing and checking links (``core/customer_links``), who may have one (the service).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from onboarding.adapters.store.rows import among
from onboarding.adapters.store.sql import writing
from onboarding.adapters.store.tables import Base, CustomerLinkKeyRow
from onboarding.core.customer_links import LINK_KEY_BYTES, LinkKey

link_keys = Base.metadata.tables[CustomerLinkKeyRow.__tablename__]
_CHUNK = 1000  # projects per IN list


def _new_value() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(LINK_KEY_BYTES)).decode("ascii")


def _key(value: str, generation: int) -> LinkKey:
    return LinkKey(base64.urlsafe_b64decode(value), generation)


class SqlCustomerLinkKeys:
    """The real ``CustomerLinkKeys``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def link_key(self, project_id: str) -> LinkKey | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(link_keys.c.link_key, link_keys.c.generation).where(link_keys.c.project_id == project_id)
            ).first()
        return _key(row.link_key, row.generation) if row is not None else None

    def ensure_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        found = self.link_key(project_id)
        if found is not None:
            return found
        with writing(self.engine) as connection:
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            connection.execute(
                insert(link_keys)
                .values(project_id=project_id, link_key=_new_value(), generation=1, created_at=now)
                .on_conflict_do_nothing(index_elements=["project_id"])
            )
            row = connection.execute(
                select(link_keys.c.link_key, link_keys.c.generation).where(link_keys.c.project_id == project_id)
            ).one()
        return _key(row.link_key, row.generation)

    def ensure_link_keys(self, project_ids: Iterable[str], *, now: datetime) -> dict[str, LinkKey]:
        wanted = sorted(set(project_ids))
        found = self._read(wanted)
        missing = [p for p in wanted if p not in found]
        if missing:
            with writing(self.engine) as connection:
                insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
                connection.execute(
                    insert(link_keys).on_conflict_do_nothing(index_elements=["project_id"]),
                    [{"project_id": p, "link_key": _new_value(), "generation": 1, "created_at": now} for p in missing],
                )
            found |= self._read(missing)
        return found

    def _read(self, project_ids: Sequence[str]) -> dict[str, LinkKey]:
        found: dict[str, LinkKey] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(project_ids), _CHUNK):
                rows = connection.execute(
                    select(link_keys.c.project_id, link_keys.c.link_key, link_keys.c.generation).where(
                        among(connection, link_keys.c.project_id, project_ids[start : start + _CHUNK])
                    )
                )
                found.update((r.project_id, _key(r.link_key, r.generation)) for r in rows)
        return found

    def rotate_link_key(self, project_id: str, *, now: datetime) -> LinkKey:
        value = _new_value()
        with writing(self.engine) as connection:
            changed = connection.execute(
                update(link_keys)
                .where(link_keys.c.project_id == project_id)
                .values(link_key=value, generation=link_keys.c.generation + 1, created_at=now)
            )
            if not changed.rowcount:
                connection.execute(
                    link_keys.insert().values(project_id=project_id, link_key=value, generation=1, created_at=now)
                )
            generation = connection.execute(
                select(link_keys.c.generation).where(link_keys.c.project_id == project_id)
            ).scalar_one()
        return _key(value, generation)
