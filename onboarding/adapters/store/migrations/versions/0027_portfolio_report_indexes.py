"""portfolio report indexes: late finishes, launches done and blocked tasks, each in a partial index

The portfolio report counts slips, launches and blocks in the database instead of
reading every task row into Python. Three partial indexes hold only the rows those
counts read, with every column the queries name (SQLite covers a query with a
partial index only then): tasks finished after their target, launch tasks done, and
blocked tasks. A portfolio on time leaves the first one empty.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DONE_LATE = "state = 'done' AND done_on > target_due_on"
LAUNCHED = "launch AND state = 'done'"
BLOCKED = "state = 'blocked'"
INDEXES = (
    (
        "ix_tasks_done_late",
        ["project_id", "key", "milestone_key", "side", "state", "done_on", "target_due_on"],
        DONE_LATE,
    ),
    ("ix_tasks_launched", ["project_id", "done_on", "launch", "state"], LAUNCHED),
    ("ix_tasks_blocked", ["project_id", "key", "side", "state", "target_due_on"], BLOCKED),
)


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name, columns, where in INDEXES:
            batch_op.create_index(
                name, columns, unique=False, sqlite_where=sa.text(where), postgresql_where=sa.text(where)
            )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name, _, where in INDEXES:
            batch_op.drop_index(name, sqlite_where=sa.text(where), postgresql_where=sa.text(where))
