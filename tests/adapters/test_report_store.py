"""The TTFV read model across migrations: projects stored before it get their rows from their events."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select

from onboarding.adapters.store.reports import project_ttfv
from onboarding.adapters.store.sql import MIGRATIONS, SqlProjectStore, migrate
from onboarding.core.lifecycle import Action
from tests.services.test_reports import World


def test_upgrading_folds_the_events_of_projects_stored_before(engine: Engine) -> None:
    w = World(SqlProjectStore(engine))
    pid = w.launch("Alpha")
    w.do(pid, "first_use", Action.complete, "2026-01-15")
    w.launch("Beta")
    with engine.connect() as connection:
        before = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert "project_ttfv" not in inspect(engine).get_table_names()
    migrate(engine)
    with engine.connect() as connection:
        after = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
    assert after == before
    assert len(after) == 2
