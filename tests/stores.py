"""Store fixtures: the in-memory twin, a SQLite file, and a throw-away PostgreSQL database.

PostgreSQL is at 127.0.0.1:5432 on the machines this project runs on (trust auth,
database ``test``); each test session makes its own database there and drops it
afterwards. Without a server the PostgreSQL cases skip, except under CI=true,
where they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, select, text

from onboarding.adapters.store.memory import InMemoryProjectStore
from onboarding.adapters.store.outbox import queued_message
from onboarding.adapters.store.sql import SqlProjectStore, make_engine, migrate, outbox
from onboarding.core.messages import OutgoingMessage

POSTGRES_ADMIN_URL = os.environ.get("ONBOARDING_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def throwaway_postgres(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards; skipped without a server, failed under CI."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true and was not reachable: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with throwaway_postgres("onboarding_test") as url:
        yield url


def _fresh_postgres(url: str) -> Engine:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate(engine)
    return engine


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[InMemoryProjectStore | SqlProjectStore]:
    if request.param == "memory":
        yield InMemoryProjectStore()
        return
    engine = migrated(request.param, request, tmp_path)
    yield SqlProjectStore(engine)
    engine.dispose()


def queued_messages(store: InMemoryProjectStore | SqlProjectStore, **match: Any) -> list[OutgoingMessage]:
    """The messages a store holds in its outbox, in the order they were queued, those whose fields equal ``match``
    (``kind=MessageKind.status``, ``project_id=...``): the same question of the twin and of a database."""
    if isinstance(store, InMemoryProjectStore):
        return store.messages(**match)
    with store.engine.connect() as connection:
        held = [
            queued_message(row).message for row in connection.execute(select(outbox).order_by(outbox.c.id)).mappings()
        ]
    return [m for m in held if all(getattr(m, name) == value for name, value in match.items())]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a SQLite file, or a fresh schema in the session's PostgreSQL database."""
    db = migrated(request.param, request, tmp_path)
    yield db
    db.dispose()


def migrated(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    """A migrated database of ``kind``: a SQLite file in ``tmp_path``, or a fresh schema in the session's
    PostgreSQL database (``postgresql``)."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'onboarding.db'}")
        migrate(engine)
        return engine
    return _fresh_postgres(request.getfixturevalue("postgres_url"))


def statements_sent(engine: Engine, ask: Callable[[], object]) -> list[tuple[str, Any]]:
    """Every statement ``ask`` sends through ``engine``, with its parameters, in order (to read their plans)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        ask()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return sent
