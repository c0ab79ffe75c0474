"""team members: who signs in to the team's pages, their sign-in links and sessions; bindings by person

Revision ID: 0024
Revises: 0022

Three new tables (``team_members``, ``team_sign_in_links``, ``team_sessions``) and an
index of ``bindings`` by email, project and role: My tasks finds a person's roles
from it without reading every project's bindings. Four indexes of ``projects``, one
per sort order of the portfolio page (the column, then the id), for keyset pages.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The portfolio page's sort orders: each column with the project id after it, for keyset pages.
_PORTFOLIO_ORDERS = (
    ("ix_projects_by_customer", "customer"),
    ("ix_projects_by_kickoff", "kickoff_on"),
    ("ix_projects_by_go_live", "projected_go_live_on"),
    ("ix_projects_by_committed", "committed_go_live_on"),
)


def upgrade() -> None:
    op.create_table(
        "team_members",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_team_members")),
    )
    op.create_table(
        "team_sign_in_links",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_team_sign_in_links")),
    )
    op.create_index(op.f("ix_team_sign_in_links_email"), "team_sign_in_links", ["email"])
    op.create_table(
        "team_sessions",
        sa.Column("secret_digest", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("secret_digest", name=op.f("pk_team_sessions")),
    )
    op.create_index(op.f("ix_team_sessions_email"), "team_sessions", ["email"])
    op.create_index("ix_bindings_email", "bindings", ["email", "project_id", "role"])
    for name, column in _PORTFOLIO_ORDERS:
        op.create_index(name, "projects", [column, "id"])


def downgrade() -> None:
    for name, _column in _PORTFOLIO_ORDERS:
        op.drop_index(name, table_name="projects")
    op.drop_index("ix_bindings_email", table_name="bindings")
    op.drop_index(op.f("ix_team_sessions_email"), table_name="team_sessions")
    op.drop_table("team_sessions")
    op.drop_index(op.f("ix_team_sign_in_links_email"), table_name="team_sign_in_links")
    op.drop_table("team_sign_in_links")
    op.drop_table("team_members")
