"""Scratch databases for the benchmarks: a SQLite file in a folder, or a PostgreSQL
database made on the server at 127.0.0.1:5432 for one run and dropped after it.

Not here: what the benchmarks load or time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from onboarding.adapters.store.sql import make_engine

POSTGRES_ADMIN = os.environ.get("ONBOARDING_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def postgres_database(prefix: str = "onboarding_bench", *, template: str | None = None) -> Iterator[str]:
    """A throw-away PostgreSQL database (dropped on exit, connections or not); its name. With ``template``, a copy
    of that database (which nothing may be connected to meanwhile)."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            copied = f' TEMPLATE "{template}"' if template else ""
            connection.execute(text(f'CREATE DATABASE "{name}"{copied}'))
        try:
            yield name
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def postgres_url(database: str) -> str:
    """The URL of a database on the benchmarks' PostgreSQL server."""
    return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + database


@contextmanager
def scratch_engine(kind: str, folder: Path, *, name: str = "portfolio") -> Iterator[Engine]:
    """An engine on an empty database of the kind asked for (``sqlite`` or ``postgresql``), not yet migrated."""
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / name}.db")
        try:
            yield engine
        finally:
            engine.dispose()
        return
    with postgres_database() as database:
        engine = make_engine(postgres_url(database))
        try:
            yield engine
        finally:
            engine.dispose()


def index_definitions(engine: Engine, names: Sequence[str]) -> list[str]:
    """The statements that create these indexes as the database holds them: a bulk load drops them and builds each
    once at its end, not row by row."""
    listed = ", ".join(f"'{name}'" for name in names)
    if engine.dialect.name == "sqlite":
        query = f"SELECT sql FROM sqlite_master WHERE type = 'index' AND name IN ({listed})"
    else:
        query = f"SELECT indexdef FROM pg_indexes WHERE indexname IN ({listed})"
    with engine.connect() as connection:
        return [str(row[0]) for row in connection.exec_driver_sql(query)]
