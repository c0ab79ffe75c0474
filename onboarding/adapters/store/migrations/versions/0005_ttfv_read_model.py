"""ttfv read model: one row per project folded from its events, for the manager reports

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_ttfv",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("blueprint_id", sa.String(length=64), nullable=False),
        sa.Column("blueprint_key", sa.String(length=64), nullable=False),
        sa.Column("blueprint_version", sa.String(length=32), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("start_on", sa.Date(), nullable=True),
        sa.Column("value_on", sa.Date(), nullable=True),
        sa.Column("stopped_on", sa.Date(), nullable=True),
        sa.Column("start_day", sa.Integer(), nullable=True),
        sa.Column("value_day", sa.Integer(), nullable=True),
        sa.Column("stopped_day", sa.Integer(), nullable=True),
        sa.Column("cohort_month", sa.String(length=7), nullable=True),
        sa.Column("calendar_days", sa.Integer(), nullable=True),
        sa.Column("business_days", sa.Integer(), nullable=True),
        sa.Column("held_days", sa.Integer(), nullable=False),
        sa.Column("held_since", sa.Date(), nullable=True),
        sa.Column("target_calendar_days", sa.Integer(), nullable=True),
        sa.Column("closed_day", sa.Integer(), nullable=True),
        sa.Column("observation", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_ttfv_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_project_ttfv")),
    )
    op.create_index(
        "ix_project_ttfv_closed",
        "project_ttfv",
        ["blueprint_key", "target_calendar_days", "observation", "closed_day", "start_day"],
    )
    op.create_index(
        "ix_project_ttfv_open", "project_ttfv", ["blueprint_key", "target_calendar_days", "start_day", "closed_day"]
    )
    # Projects stored before this revision: fold their events now.
    from onboarding.adapters.store.reports import rebuild_ttfv

    rebuild_ttfv(op.get_bind(), undone_table=False)  # project_ttfv_undone comes with 0015


def downgrade() -> None:
    op.drop_table("project_ttfv")
