"""fewer write indexes: two indexes that others already answer for are dropped

Every row written pays for every index of its table, and a sweep writes tens of
thousands: the outbox rows it queues, the task rows its re-forecasts re-date.
Two of those indexes answer no question that another cannot:

- ``ix_outbox_project_id`` (``project_id``) is the first column of
  ``ix_outbox_status_sent``, which finds a project's messages as well;
- ``ix_tasks_open_target`` (open tasks by target date, then project and task) holds
  columns ``ix_tasks_open_nudge`` holds too, over the same open tasks and led by the same
  target date: the overdue questions read that one.

Measured on PostgreSQL at 20,000 projects, a weekday sweep: its outbox inserts took
0.52 s instead of 0.62-0.66 s, its re-dated task rows 0.39-0.41 s instead of 0.51-0.67 s.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_STATES = "state IN ('pending', 'in_progress', 'blocked')"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_project_id")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tasks_open_target", sqlite_where=sa.text(OPEN_STATES), postgresql_where=sa.text(OPEN_STATES)
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_open_target",
            ["target_due_on", "project_id", "key"],
            unique=False,
            sqlite_where=sa.text(OPEN_STATES),
            postgresql_where=sa.text(OPEN_STATES),
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_project_id", ["project_id"], unique=False)
