"""ttfv undone closures: the days a project's value stood before it was undone, for reports as of past days

The TTFV read model kept only each project's latest value (or skip) day, so a
report as of a past day changed when the value task was reopened later: the day
the value had stood on was lost. ``project_ttfv_undone`` keeps each value (or
skip) later undone with the day it was undone; existing databases get their rows
by folding the event log again (``rebuild_ttfv``).

Revision ID: 0015
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_ttfv_undone",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("closed_day", sa.Integer(), nullable=False),
        sa.Column("undone_day", sa.Integer(), nullable=False),
        sa.Column("observation", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_ttfv_undone_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "closed_day", name=op.f("pk_project_ttfv_undone")),
    )
    op.create_index("ix_project_ttfv_undone_days", "project_ttfv_undone", ["undone_day", "closed_day"])
    # Projects stored before this revision: fold their events again (the same fold), writing this table only.
    from onboarding.adapters.store.reports import rebuild_ttfv

    rebuild_ttfv(op.get_bind(), projects_table=False)


def downgrade() -> None:
    op.drop_index("ix_project_ttfv_undone_days", table_name="project_ttfv_undone")
    op.drop_table("project_ttfv_undone")
