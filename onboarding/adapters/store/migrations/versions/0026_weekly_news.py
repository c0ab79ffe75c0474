"""weekly news: the day a project's projected go-live last moved, and the weekly updates left unsent

A weekly status update goes out only when there is news for its reader since their
last one (``core/status.weekly_news``): a visible task done, something asked of them,
or the projected go-live moved. The projects learn the last day a re-forecast moved
it (null: never since launch). A week with no news is recorded in ``weekly_quiet``
(the latest such week per project and reader), so that it counts as that week's
update: the sweeps of the week do not weigh it again.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE on both databases, as 0008 and 0018 do: a batch operation would copy the projects table on
# SQLite, and dropping the old copy, with foreign keys on, deletes every project's rows by cascade.


def upgrade() -> None:
    op.add_column("projects", sa.Column("go_live_moved_on", sa.Date(), nullable=True))
    op.create_table(
        "weekly_quiet",
        sa.Column("project_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("slot_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_weekly_quiet_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", "email", name=op.f("pk_weekly_quiet")),
    )


def downgrade() -> None:
    op.drop_table("weekly_quiet")
    op.execute("ALTER TABLE projects DROP COLUMN go_live_moved_on")
