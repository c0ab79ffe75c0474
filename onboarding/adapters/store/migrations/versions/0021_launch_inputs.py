"""launch inputs: a project's own customer calendar and time zone, and the team's default people by segment

A blueprint fixed one customer calendar for every customer; a launch may now give
the customer's country, subdivision, extra closed days and time zone, kept on the
project so that re-forecasts, sweeps and reports use them. Existing projects keep
null there: the blueprint's customer calendar, their plans exactly as they are.
``team_defaults`` holds the person a vendor role takes at launch when none is
bound, per segment (``any`` for every segment without its own).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("customer_country", "customer_subdivision", "customer_closed_days", "customer_time_zone")

# Plain ALTER TABLE on both databases (as 0008): a batch operation would copy the projects table on SQLite,
# and dropping the old copy, with foreign keys on, deletes every project's bindings, tasks and events.


def upgrade() -> None:
    op.add_column("projects", sa.Column("customer_country", sa.String(length=2), nullable=True))
    op.add_column("projects", sa.Column("customer_subdivision", sa.String(length=32), nullable=True))
    op.add_column("projects", sa.Column("customer_closed_days", sa.Text(), nullable=True))
    op.add_column("projects", sa.Column("customer_time_zone", sa.String(length=64), nullable=True))
    op.create_table(
        "team_defaults",
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("role", "segment", name=op.f("pk_team_defaults")),
    )


def downgrade() -> None:
    op.drop_table("team_defaults")
    for column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE projects DROP COLUMN {column}")
