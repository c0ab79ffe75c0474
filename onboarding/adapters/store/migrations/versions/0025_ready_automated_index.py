"""ready automated tasks: the sweep finds pending automated tasks by their projected start from a partial index

Every sweep asks which automated tasks may be ready today. Without an index on
their kind, that question read every task row of every active project (seconds at
a quarter of a million projects, to find none in a portfolio of human work). The
partial index holds only pending automated tasks, by projected start, with every
column the question reads (``kind`` and ``state`` too: SQLite covers a query with a
partial index only when every column the query names is in it).

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READY_AUTOMATED = "kind = 'automated' AND state = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_ready_automated",
            ["start_on", "project_id", "position", "key", "kind", "state"],
            unique=False,
            sqlite_where=sa.text(READY_AUTOMATED),
            postgresql_where=sa.text(READY_AUTOMATED),
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tasks_ready_automated",
            sqlite_where=sa.text(READY_AUTOMATED),
            postgresql_where=sa.text(READY_AUTOMATED),
        )
