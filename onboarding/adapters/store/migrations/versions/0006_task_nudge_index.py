"""nudge indexes: the nudge decision's filter answered from an index, people's zones from another

The sweep asks which open tasks are far enough past their target date, and long
enough after their last nudge, to be due a nudge today. This partial index holds
every column that question and the nudge ladder read (with ``state``, which the
index's own condition reads: SQLite covers a query with a partial index only when
every column the query names is in it), so that the overdue tasks that are not
due (most of them, nudged recently) are skipped without reading their rows.
The bindings' zone index lists the zones people are in with a few lookups (the
sweep needs to know whose local day has already begun).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 00:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_STATES = "state IN ('pending', 'in_progress', 'blocked')"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.create_index("ix_bindings_timezone", ["timezone"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_open_nudge",
            [
                "target_due_on",
                "last_nudged_on",
                "project_id",
                "key",
                "due_version",
                "nudges_sent",
                "owner_role",
                "side",
                "state",  # read by the partial index's own condition: with it, the index covers the query
            ],
            unique=False,
            sqlite_where=sa.text(OPEN_STATES),
            postgresql_where=sa.text(OPEN_STATES),
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_index("ix_bindings_timezone")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_tasks_open_nudge", sqlite_where=sa.text(OPEN_STATES), postgresql_where=sa.text(OPEN_STATES)
        )
