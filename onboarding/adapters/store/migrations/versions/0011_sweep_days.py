"""sweep days and database marks: a sweep never runs before a day already swept, nor in the future on real data

``sweep_days`` keeps each day a sweep ran as of (how many times, the instant the
last acted as of, when they really ran): a sweep as of a day before the latest of
them is refused. ``database_marks`` holds facts about the database itself; the demo
marks the database it creates ``simulation``, the only kind whose sweeps may run
as of a later day than today. An existing database has swept no recorded day and
is not a simulation. New tables only: the projects table is not touched.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 12:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "sweep_days",
        sa.Column("swept_on", sa.Date(), nullable=False),
        sa.Column("sweeps", sa.Integer(), nullable=False),
        sa.Column("last_as_of_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ran_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("swept_on", name=op.f("pk_sweep_days")),
    )
    op.create_table(
        "database_marks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_database_marks")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("database_marks")
    op.drop_table("sweep_days")
