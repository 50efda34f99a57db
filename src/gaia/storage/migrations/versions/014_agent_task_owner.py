"""014_agent_task_owner: an agent task's owner is pid, create time and host.

The pid alone kept a dead owner alive once the pid was reused.

Revision ID: 014_agent_task_owner
Revises: 013_gaia_agents
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "014_agent_task_owner"
down_revision = "013_gaia_agents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gaia_agent_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_host", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("owner_started_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gaia_agent_tasks", schema=None) as batch_op:
        batch_op.drop_column("owner_started_at")
        batch_op.drop_column("owner_host")
