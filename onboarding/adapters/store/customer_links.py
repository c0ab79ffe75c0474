"""Each project's customer link key in the SQL store (``customer_link_keys``).

The key is random (``secrets``), kept as URL-safe base64 with its generation. It is
made on first use, in a statement that keeps the first key when two processes make
one at once, and replaced by a rotation, whose new generation is one more.

Not here: signing and checking links (``core/customer_links``), who may have one (the service).
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from onboarding.adapters.store.sql import writing
from onboarding.adapters.store.tables import Base, CustomerLinkKeyRow
from onboarding.core.customer_links import LINK_KEY_BYTES, LinkKey

link_keys = Base.metadata.tables[CustomerLinkKeyRow.__tablename__]


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
