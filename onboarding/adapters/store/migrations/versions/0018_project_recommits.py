"""project recommits: the go-live committed at launch kept apart from the latest commitment

A recommit accepts the projected go-live as the new commitment
(``committed_go_live_on``); the portfolio's on-time rate keeps measuring against
the date committed at launch, kept in ``first_committed_go_live_on`` from the
first recommit on (empty: the same as ``committed_go_live_on``), and counts the
projects recommitted (``recommits``). Existing projects have never been
recommitted: nothing to fill in.

Revision ID: 0018
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Plain ALTER TABLE on both databases, as 0008 does: a batch operation would copy the projects table on
# SQLite, and dropping the old copy, with foreign keys on, deletes every project's rows by cascade.


def upgrade() -> None:
    op.add_column("projects", sa.Column("first_committed_go_live_on", sa.Date(), nullable=True))
    op.add_column("projects", sa.Column("recommits", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.execute("ALTER TABLE projects DROP COLUMN recommits")
    op.execute("ALTER TABLE projects DROP COLUMN first_committed_go_live_on")
