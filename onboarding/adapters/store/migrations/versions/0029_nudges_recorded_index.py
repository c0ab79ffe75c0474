"""nudges recorded index: the last days' nudges found by when they were recorded

The nudges table keeps every nudge ever recorded, tens of thousands a day at a
quarter of a million projects. Each sweep counts the digests each recipient had in
the last two days (at most so many emails a day), and without an index on when a
nudge was recorded it read the whole table to find them: a cost that grew every day
the engine ran.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.create_index("ix_nudges_recorded", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nudges", schema=None) as batch_op:
        batch_op.drop_index("ix_nudges_recorded")
