"""outbox waiting index: the messages not handed over yet, in the order they were queued

The outbox keeps every message it sent, so it grows for as long as the engine
runs. A delivery claims the first waiting messages in id order; without an index
of those alone, both databases found them by walking the table in that order past
every sent message, and each claim cost more than the last (62 ms a claim at
280,000 sent messages on SQLite). A partial index on the id of the pending and
sending messages holds only what is waiting.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = "status IN ('pending', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_waiting", ["id"], unique=False, sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_waiting", sqlite_where=sa.text(WAITING), postgresql_where=sa.text(WAITING))
