"""project replan_after: the last day a project's plan holds, so a sweep re-plans only the plans that move

A re-forecast starts nothing not yet started before today and projects work in
progress due no earlier than today. A project's plan therefore moves on the first
day after the earliest projected start of its work not started and the earliest
projected due date of its work in progress (``core.projects.replan_after``). The
sweep used to re-plan the projects with work past its target date: it missed
work late to start but not yet late to finish. Existing projects get the date
from their task rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 05:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases (SQLite adds and drops a plain column in place): a batch operation
# would copy the projects table on SQLite, and dropping the old copy, with foreign keys on, deletes every
# project's bindings, tasks and events by cascade.


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("projects", sa.Column("replan_after", sa.Date(), nullable=True))
    op.execute(
        "UPDATE projects SET replan_after = ("
        " SELECT min(CASE WHEN t.started_on IS NOT NULL AND t.duration_business_days > 0"
        " THEN t.due_on ELSE t.start_on END)"
        " FROM tasks t WHERE t.project_id = projects.id AND t.state IN ('pending', 'in_progress', 'blocked'))"
    )
    op.create_index("ix_projects_replan", "projects", ["state", "replan_after", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_projects_replan", table_name="projects")
    op.execute("ALTER TABLE projects DROP COLUMN replan_after")
