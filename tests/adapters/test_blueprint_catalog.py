"""The registry's SQL store: published versions among the stored blueprint texts, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from onboarding.adapters.store.blueprints import SqlBlueprintCatalog
from onboarding.adapters.store.sql import MIGRATIONS, make_engine, migrate
from onboarding.core.blueprint_versions import Candidate, content_id
from onboarding.services.ports import ConcurrentChange

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def candidate(version: str, body: str) -> tuple[Candidate, str]:
    return Candidate("payroll", version, "Payroll", content_id(body), f"{version}.yaml"), body


def test_a_text_is_published_once_and_a_version_holds_one_text(engine: Engine) -> None:
    catalog = SqlBlueprintCatalog(engine)
    catalog.publish([candidate("1.0.0", "one"), candidate("1.1.0", "two")], at=AT, by="dana")
    catalog.publish([candidate("1.0.0", "one")], at=AT + timedelta(hours=1), by="ivo")  # already: unchanged
    assert sorted((v.version, v.published_by, v.published_at) for v in catalog.versions("payroll")) == [
        ("1.0.0", "dana", AT),
        ("1.1.0", "dana", AT),
    ]
    with pytest.raises(ConcurrentChange):
        catalog.publish([candidate("1.2.0", "three"), candidate("1.0.0", "other")], at=AT, by="dana")
    assert {v.version for v in catalog.versions()} == {"1.0.0", "1.1.0"}  # none of the refused publication
    found = catalog.text("payroll", "1.1.0")
    assert found is not None and found[1] == "two" and found[0].content_id == content_id("two")
    assert catalog.text("payroll", "9.9.9") is None
    assert catalog.published_ids(["payroll", "other"]) == {
        ("payroll", "1.0.0"): content_id("one"),
        ("payroll", "1.1.0"): content_id("two"),
    }
    assert catalog.versions("other") == [] and catalog.published_ids([]) == {}


def test_a_launched_snapshot_becomes_published_where_it_is(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO blueprints (id, key, version, title, source, text, created_at) "
                "VALUES (:id, 'payroll', '1.0.0', 'Payroll', 'launched.yaml', 'one', :at)"
            ),
            {"id": content_id("one"), "at": AT},
        )
    catalog = SqlBlueprintCatalog(engine)
    assert catalog.versions() == []  # a snapshot only
    catalog.publish([candidate("1.0.0", "one")], at=AT + timedelta(days=1), by="dana")
    (version,) = catalog.versions()
    assert (version.source, version.published_by) == ("launched.yaml", "dana")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM blueprints")).scalar_one() == 1


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


def test_blueprints_launched_before_the_registry_become_its_first_versions(empty: Engine) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with empty.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
    rows = [
        ("payroll", "1.0.0", "first", AT),
        ("payroll", "1.0.0", "edited without a new version", AT + timedelta(days=3)),
        ("payroll", "1.1.0", "second", AT + timedelta(days=5)),
        ("hr", "2.0.0", "hr", AT + timedelta(days=1)),
    ]
    with empty.begin() as connection:
        for key, version, body, at in rows:
            connection.execute(
                text(
                    "INSERT INTO blueprints (id, key, version, title, source, text, created_at) "
                    "VALUES (:id, :key, :version, 'T', 'f.yaml', :body, :at)"
                ),
                {"id": content_id(body), "key": key, "version": version, "body": body, "at": at},
            )
        connection.execute(
            text(
                "INSERT INTO projects (id, customer, blueprint_key, blueprint_version, blueprint_title, blueprint_id, "
                "kickoff_on, state, finish_on, created_at, updated_at, version) VALUES ('p', 'Acme', 'payroll', "
                "'1.0.0', 'T', :b, :k, 'active', :k, :at, :at, 1)"
            ),
            {"b": content_id("edited without a new version"), "k": date(2026, 12, 7), "at": AT},
        )
    migrate(empty)
    catalog = SqlBlueprintCatalog(empty)
    assert sorted((v.key, v.version, v.published_at) for v in catalog.versions()) == [
        ("hr", "2.0.0", AT + timedelta(days=1)),
        ("payroll", "1.0.0", AT),
        ("payroll", "1.1.0", AT + timedelta(days=5)),
    ]
    found = catalog.text("payroll", "1.0.0")
    assert found is not None and found[1] == "first"
    with empty.connect() as connection:  # the later text stays, the project's snapshot
        assert connection.execute(text("SELECT count(*) FROM blueprints")).scalar_one() == 4
