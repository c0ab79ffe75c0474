"""hook sources and deliveries: CRMs that launch projects by signed posts, and the deliveries they made

``hook_sources`` holds each source's signature scheme, secret, mapping text and
public URL; ``hook_deliveries`` one row per (source, delivery id), claimed while its
launch runs and then naming the project, so a retried delivery launches once. New
tables only.

Revision ID: 0020
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hook_sources",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("public_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_hook_sources")),
    )
    op.create_table(
        "hook_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("project_id", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_hook_deliveries_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hook_deliveries")),
        sa.UniqueConstraint("source", "delivery_id", name="uq_hook_deliveries_source_delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("hook_deliveries")
    op.drop_table("hook_sources")
