"""015_workflow_updated_index: runs are indexed by when they last changed.

The dashboard's ``runs`` watch asks twice a second which runs changed since it last
looked (``updated_at > ?``); without an index that read every run.

Revision ID: 015_workflow_updated_index
Revises: 014_agent_task_owner
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "015_workflow_updated_index"
down_revision = "014_agent_task_owner"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_gaia_workflows_updated_at", "gaia_workflows", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_gaia_workflows_updated_at", table_name="gaia_workflows")
