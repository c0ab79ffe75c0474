"""delivery runs: claims carry the run that made them, so a gone run's claims are released at once

A sweep killed while delivering left its claimed outbox rows ``sending`` until a
10-minute lease ran out on the sweep's own clock (forever, for a rerun at the same
instant). Each delivery run now registers here (host, pid, process start,
heartbeat) and claims as ``run:<id>``; the next run releases the claims of runs
known to be gone. A new table only: the outbox keeps its columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "delivery_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_started", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_runs")),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("delivery_runs")
