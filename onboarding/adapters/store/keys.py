"""API keys in the SQL store (``api_keys``), and their in-memory twin.

Not here: making or checking keys (``services/keys``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import writing
from onboarding.adapters.store.tables import ApiKeyRow, Base
from onboarding.services.keys import ApiKey, Scope

_table = Base.metadata.tables[ApiKeyRow.__tablename__]


def _key(row: Any) -> ApiKey:
    return ApiKey(
        name=row.name,
        scope=Scope(row.scope),
        prefix=row.prefix,
        created_at=utc_instant(row.created_at),
        revoked_at=utc_instant(row.revoked_at) if row.revoked_at is not None else None,
    )


class SqlApiKeyStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, key: ApiKey, *, key_hash: str) -> bool:
        try:
            with writing(self._engine) as connection:
                connection.execute(
                    _table.insert().values(
                        name=key.name,
                        scope=key.scope.value,
                        key_hash=key_hash,
                        prefix=key.prefix,
                        created_at=key.created_at,
                        revoked_at=None,
                    )
                )
        except IntegrityError:
            return False
        return True

    def by_hash(self, key_hash: str) -> ApiKey | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(_table).where(_table.c.key_hash == key_hash)).first()
        return _key(row) if row is not None else None

    def all(self) -> list[ApiKey]:
        with self._engine.connect() as connection:
            return [_key(row) for row in connection.execute(select(_table))]

    def revoke(self, name: str, *, at: datetime) -> ApiKey | None:
        with writing(self._engine) as connection:
            connection.execute(
                update(_table).where(_table.c.name == name, _table.c.revoked_at.is_(None)).values(revoked_at=at)
            )
            row = connection.execute(select(_table).where(_table.c.name == name)).first()
        return _key(row) if row is not None else None


class InMemoryApiKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, tuple[ApiKey, str]] = {}

    def add(self, key: ApiKey, *, key_hash: str) -> bool:
        if key.name in self._keys or any(h == key_hash for _, h in self._keys.values()):
            return False
        self._keys[key.name] = (key, key_hash)
        return True

    def by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k, h in self._keys.values() if h == key_hash), None)

    def all(self) -> list[ApiKey]:
        return [k for k, _ in self._keys.values()]

    def revoke(self, name: str, *, at: datetime) -> ApiKey | None:
        if name not in self._keys:
            return None
        key, h = self._keys[name]
        if key.revoked_at is None:
            key = ApiKey(key.name, key.scope, key.prefix, key.created_at, revoked_at=at)
            self._keys[name] = (key, h)
        return key
