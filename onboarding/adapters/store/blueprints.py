"""The blueprint registry in SQL: published versions among the stored blueprint texts (the ``blueprints`` table).

Each text is stored once, by the SHA-256 of its text (projects launched from it
refer to the same row); a published version is a row with ``published_at``. A
partial unique index keeps one published text per key and version, so two
publications racing for the same version cannot both win: the loser's
transaction fails and is reported as ``ConcurrentChange`` (the service reads
again and refuses it).

Not here: what a publication decides (``core/blueprint_versions.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import blueprints, writing
from onboarding.core.blueprint_versions import Candidate, PublishedVersion
from onboarding.services.ports import ConcurrentChange

_VERSION_COLUMNS = (
    blueprints.c.key,
    blueprints.c.version,
    blueprints.c.title,
    blueprints.c.id,
    blueprints.c.source,
    blueprints.c.published_at,
    blueprints.c.published_by,
)
_PUBLISHED = blueprints.c.published_at.is_not(None)


class SqlBlueprintCatalog:
    """Published blueprint versions in a SQL database (the real ``BlueprintCatalog``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def versions(self, key: str | None = None) -> list[PublishedVersion]:
        query = select(*_VERSION_COLUMNS).where(_PUBLISHED)
        if key is not None:
            query = query.where(blueprints.c.key == key)
        with self.engine.connect() as connection:
            return [_version(row) for row in connection.execute(query)]

    def text(self, key: str, version: str) -> tuple[PublishedVersion, str] | None:
        query = select(*_VERSION_COLUMNS, blueprints.c.text).where(
            _PUBLISHED, blueprints.c.key == key, blueprints.c.version == version
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        return None if row is None else (_version(row), row.text)

    def published_ids(self, keys: Iterable[str]) -> dict[tuple[str, str], str]:
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        query = select(blueprints.c.key, blueprints.c.version, blueprints.c.id).where(
            _PUBLISHED, blueprints.c.key.in_(wanted)
        )
        with self.engine.connect() as connection:
            return {(row.key, row.version): row.id for row in connection.execute(query)}

    def publish(self, entries: Sequence[tuple[Candidate, str]], *, at: datetime, by: str) -> None:
        if not entries:
            return
        rows = [
            {
                "id": c.content_id,
                "key": c.key,
                "version": c.version,
                "title": c.title,
                "source": c.source,
                "text": text,
                "created_at": at,
            }
            for c, text in entries
        ]
        try:
            with writing(self.engine) as connection:
                connection.execute(_new_texts(connection), rows)
                connection.execute(
                    update(blueprints)
                    .where(
                        blueprints.c.id.in_([c.content_id for c, _text in entries]), blueprints.c.published_at.is_(None)
                    )
                    .values(published_at=at, published_by=by)
                )
        except IntegrityError as exc:  # another publication took one of these versions meanwhile
            raise ConcurrentChange(", ".join(c.ref for c, _text in entries)) from exc


def _new_texts(connection: Connection) -> Insert:
    """An insert of blueprint texts that leaves a text stored already as it is."""
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement: Insert = insert(blueprints).on_conflict_do_nothing(index_elements=["id"])
    return statement


def _version(row: Any) -> PublishedVersion:
    return PublishedVersion(
        key=row.key,
        version=row.version,
        title=row.title,
        content_id=row.id,
        source=row.source,
        published_at=utc_instant(row.published_at),
        published_by=row.published_by or "",
    )
