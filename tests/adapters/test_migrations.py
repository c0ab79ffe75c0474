"""Migrations: from nothing to the latest on SQLite and PostgreSQL, and the data moves with them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from onboarding.adapters.store.sql import MIGRATIONS, SqlProjectStore, make_engine, migrate
from onboarding.adapters.store.sweep import SqlSweepStore
from onboarding.adapters.store.tables import Base
from onboarding.core.nudges import sent_digests
from onboarding.core.projects import replan_after


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


def test_the_migrations_make_the_tables_the_models_describe(empty: Engine) -> None:
    migrate(empty)
    with empty.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_each_project_learns_the_last_day_its_plan_holds(empty: Engine) -> None:
    upgrade(empty, "0007")
    now = datetime(2026, 12, 1, tzinfo=UTC)
    task = (
        "INSERT INTO tasks (project_id, key, position, title, milestone_key, milestone_title, owner_role, side, "
        "calendar, kind, duration_business_days, customer_visible, first_value, launch, state, started_on, done_on, "
        "start_on, due_on, target_due_on, late_due_on, slack_business_days, critical, due_version, nudges_sent) "
        "VALUES (:p, :key, 0, 'T', 'm', 'M', 'csm', 'vendor', 'vendor', 'human', :days, true, false, false, :state, "
        ":started, :done, :start, :due, :due, :due, 0, false, 1, 0)"
    )
    with empty.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO blueprints (id, key, version, title, source, text, created_at) "
                "VALUES ('b', 'bp', '1.0.0', 'Blueprint', 'bp.yaml', 'key: bp', :now)"
            ),
            {"now": now},
        )
        for pid in ("working", "finished"):
            connection.execute(
                text(
                    "INSERT INTO projects (id, customer, blueprint_key, blueprint_version, blueprint_title, "
                    "blueprint_id, kickoff_on, state, finish_on, created_at, updated_at, version) "
                    "VALUES (:id, 'Acme', 'bp', '1.0.0', 'Blueprint', 'b', :k, 'active', :k, :now, :now, 1)"
                ),
                {"id": pid, "k": date(2026, 12, 7), "now": now},
            )
        d = date
        rows = [
            ("working", "done", 2, "done", d(2026, 12, 7), d(2026, 12, 8), d(2026, 12, 7), d(2026, 12, 8)),
            ("working", "doing", 5, "in_progress", d(2026, 12, 9), None, d(2026, 12, 9), d(2026, 12, 15)),
            ("working", "next", 2, "pending", None, None, d(2026, 12, 16), d(2026, 12, 17)),
            ("working", "side", 3, "blocked", None, None, d(2026, 12, 14), d(2026, 12, 16)),
            ("finished", "only", 1, "done", d(2026, 12, 7), d(2026, 12, 7), d(2026, 12, 7), d(2026, 12, 7)),
        ]
        for p, key, days, state, started, done, start, due in rows:
            connection.execute(
                text(task),
                {"p": p, "key": key, "days": days, "state": state, "started": started, "done": done}
                | {"start": start, "due": due},
            )
    migrate(empty)
    found = {p.id: p for p in SqlProjectStore(empty).load_many(["working", "finished"])}
    # the blocked task not started by 2026-12-14 comes before the work in progress due 2026-12-15
    assert replan_after(found["working"].tasks) == date(2026, 12, 14)
    with empty.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, replan_after FROM projects")).all())
    assert {k: v if isinstance(v, date) or v is None else date.fromisoformat(v) for k, v in stored.items()} == {
        "working": date(2026, 12, 14),
        "finished": None,
    }


def test_sent_emails_learn_their_key_parts(empty: Engine) -> None:
    """0009: status emails get recipient, day and reason from their keys; recent nudges their digest's day."""
    upgrade(empty, "0008")
    now = datetime.now(UTC)
    with empty.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO blueprints (id, key, version, title, source, text, created_at) "
                "VALUES ('b', 'bp', '1.0.0', 'Blueprint', 'bp.yaml', 'key: bp', :now)"
            ),
            {"now": now},
        )
        connection.execute(
            text(
                "INSERT INTO projects (id, customer, blueprint_key, blueprint_version, blueprint_title, "
                "blueprint_id, kickoff_on, state, finish_on, created_at, updated_at, version) "
                "VALUES ('p:1', 'Acme', 'bp', '1.0.0', 'Blueprint', 'b', :k, 'active', :k, :now, :now, 1)"
            ),
            {"k": date(2026, 12, 7), "now": now},
        )
        outbox = (
            "INSERT INTO outbox (idempotency_key, project_id, kind, recipients, cc, subject, context, "
            "customer_facing, created_at, status, attempts, next_attempt_at) "
            "VALUES (:key, 'p:1', :kind, '[]', '[]', 'S', :context, true, :now, 'sent', 1, :now)"
        )
        for key, kind, as_of in [
            ("status:p:1:lee@acme.example:weekly:2026-12-07", "status", "2026-12-07"),
            ('status:p:1:"a:b"@acme.example:weekly:2026-12-14', "status", "2026-12-14"),
            ("status:p:1:lee@acme.example:milestone_complete:kickoff", "status", "2026-12-09"),
            ("kickoff:p:1:lee@acme.example", "kickoff", "2026-12-01"),
        ]:
            connection.execute(
                text(outbox), {"key": key, "kind": kind, "context": f'{{"as_of": "{as_of}"}}'} | {"now": now}
            )
        nudge = (
            "INSERT INTO nudges (key, project_id, task_key, due_version, number, level, recipient, digest_key, "
            "created_at) VALUES (:key, 'p:1', 't', 1, 1, 1, :email, :digest, :at)"
        )
        for key, email, digest in [
            ("n1", "lee@acme.example", "digest:lee@acme.example:2026-12-08"),
            ("n2", "lee@acme.example", "digest:lee@acme.example:2026-12-08:2"),
            ("n3", '"a:b"@acme.example', 'digest:"a:b"@acme.example:2026-12-08'),
        ]:
            connection.execute(text(nudge), {"key": key, "email": email, "digest": digest, "at": now})
    migrate(empty)
    store = SqlSweepStore(empty)
    assert store.weekly_status_sent(["p:1"]) == {
        "p:1": {"lee@acme.example": date(2026, 12, 7), '"a:b"@acme.example': date(2026, 12, 14)}
    }
    assert sent_digests(store.digests_since(now - timedelta(days=2))) == {
        ("lee@acme.example", date(2026, 12, 8)): 2,
        ('"a:b"@acme.example', date(2026, 12, 8)): 1,
    }


def test_an_older_database_is_refused_until_upgraded_on_purpose(empty: Engine) -> None:
    """Opening never upgrades an existing schema; ``Application.upgrade`` (``onboarding db upgrade``) does, once."""
    from onboarding.adapters.store.sql import open_database, schema_revisions
    from onboarding.bootstrap import Application
    from onboarding.errors import StoreUnavailable
    from onboarding.settings import Settings

    upgrade(empty, "0011")
    url = empty.url.render_as_string(hide_password=False)
    with pytest.raises(StoreUnavailable) as refused:
        open_database(url)
    assert refused.value.codes == ["database-out-of-date"]
    assert schema_revisions(empty)[0] == "0011"  # untouched

    application = Application(Settings(database_url=url))
    before, after = application.upgrade()
    assert before == "0011"
    assert after == schema_revisions(empty)[1]
    assert application.upgrade() == (after, after)  # a second upgrade has nothing to do
    open_database(url).dispose()
