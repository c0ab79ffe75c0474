"""The TTFV read model across migrations: projects stored before it get their rows from their events."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, select

from onboarding.adapters.store.reports import project_ttfv, project_ttfv_undone
from onboarding.adapters.store.sql import MIGRATIONS, SqlProjectStore, migrate
from onboarding.core.lifecycle import Action
from tests.services.test_reports import World


def test_upgrading_folds_the_events_of_projects_stored_before(engine: Engine) -> None:
    w = World(SqlProjectStore(engine))
    pid = w.launch("Alpha")
    w.do(pid, "first_use", Action.complete, "2026-01-15")
    beta = w.launch("Beta")
    w.do(beta, "first_use", Action.complete, "2026-01-20")
    w.do(beta, "first_use", Action.reopen, "2026-01-22")
    with engine.connect() as connection:
        before = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
        undone = sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone)))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert not {"project_ttfv", "project_ttfv_undone"} & set(inspect(engine).get_table_names())
    migrate(engine)
    with engine.connect() as connection:
        after = sorted(tuple(r) for r in connection.execute(select(project_ttfv)))
        undone_after = sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone)))
    assert after == before
    assert len(after) == 2
    assert undone_after == undone
    assert [r[0] for r in undone] == [beta]


def test_upgrading_to_the_undone_closures_folds_them_from_the_events(engine: Engine) -> None:
    """A database at the revision before ``project_ttfv_undone`` gets its rows from the event log."""
    w = World(SqlProjectStore(engine))
    pid = w.launch("Alpha")
    w.do(pid, "first_use", Action.complete, "2026-01-15")
    w.do(pid, "first_use", Action.reopen, "2026-01-22")
    with engine.connect() as connection:
        undone = sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone)))
    assert len(undone) == 1
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")
    assert "project_ttfv_undone" not in inspect(engine).get_table_names()
    migrate(engine)
    with engine.connect() as connection:
        assert sorted(tuple(r) for r in connection.execute(select(project_ttfv_undone))) == undone
