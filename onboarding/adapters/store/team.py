"""The team's default people for vendor roles, by segment, in the SQL store (``team_defaults``).

Not here: which roles may have defaults and how a launch uses them (``core/team``).
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from onboarding.adapters.store.rows import utc_instant
from onboarding.adapters.store.sql import writing
from onboarding.adapters.store.tables import Base, TeamDefaultRow
from onboarding.core.messages import Person
from onboarding.core.team import TeamDefault

team_defaults = Base.metadata.tables[TeamDefaultRow.__tablename__]


class SqlTeamStore:
    """The real ``TeamStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def team_defaults(self) -> list[TeamDefault]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(team_defaults).order_by(team_defaults.c.role, team_defaults.c.segment))
            return [
                TeamDefault(
                    r.role, r.segment, Person(r.name, r.email, r.timezone), utc_instant(r.updated_at), r.updated_by
                )
                for r in rows
            ]

    def set_team_default(self, default: TeamDefault) -> None:
        values = {
            "role": default.role,
            "segment": default.segment,
            "name": default.person.name,
            "email": default.person.email,
            "timezone": default.person.timezone,
            "updated_at": default.updated_at,
            "updated_by": default.updated_by,
        }
        with writing(self.engine) as connection:
            insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
            statement = insert(team_defaults).values(values)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["role", "segment"],
                    set_={k: statement.excluded[k] for k in values if k not in ("role", "segment")},
                )
            )

    def unset_team_default(self, role: str, segment: str) -> bool:
        with writing(self.engine) as connection:
            done = connection.execute(
                delete(team_defaults).where(team_defaults.c.role == role, team_defaults.c.segment == segment)
            )
            return bool(done.rowcount)
