"""weekly due: when a project's next weekly update can come, so that a sweep asks only then

A sweep asked every active project, each day, for each reader's latest weekly
update, though four fifths of them had this week's already: at 250,000 projects,
375 statements over the outbox's whole weekly history. Each project now keeps the
earliest instant one of its readers can next be due an update
(``core.status.weekly_next_due_at``) and the project version it holds for; a sweep
asks a project's history only once that instant has come or the project changed.
Both columns start null: each project is asked by the next sweep, as before.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases, as 0008, 0018 and 0026 do: a batch operation would copy the projects table on
# SQLite, and dropping the old copy, with foreign keys on, deletes every project's rows by cascade.
def upgrade() -> None:
    op.add_column("projects", sa.Column("weekly_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("projects", sa.Column("weekly_due_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE projects DROP COLUMN weekly_due_version")
    op.execute("ALTER TABLE projects DROP COLUMN weekly_due_at")
