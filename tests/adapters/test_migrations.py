"""Migrations: from nothing to the latest on SQLite and PostgreSQL, and the data moves with them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from onboarding.adapters.store.sql import MIGRATIONS, SqlProjectStore, make_engine, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    yield engine
    engine.dispose()


def upgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_projects_from_before_snapshots_keep_their_blueprint(empty: Engine) -> None:
    upgrade(empty, "0003")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with empty.begin() as connection:
        for pid in ("a", "b"):
            connection.execute(
                text(
                    "INSERT INTO projects (id, customer, blueprint_key, blueprint_version, blueprint_title, "
                    "blueprint_source, blueprint_text, kickoff_on, state, finish_on, created_at, updated_at, version) "
                    "VALUES (:id, 'Acme', 'bp', '1.0.0', 'Blueprint', 'bp.yaml', 'key: bp', :k, 'active', :k, :now, "
                    ":now, 1)"
                ),
                {"id": pid, "k": date(2026, 12, 7), "now": now},
            )
    migrate(empty)
    columns = {c["name"] for c in inspect(empty).get_columns("projects")}
    assert "blueprint_text" not in columns and "blueprint_id" in columns
    with empty.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM blueprints")).scalar_one() == 1
    projects = SqlProjectStore(empty).list_projects()
    assert [(p.id, p.blueprint_text, p.blueprint_source) for p in projects] == [
        ("a", "key: bp", "bp.yaml"),
        ("b", "key: bp", "bp.yaml"),
    ]
