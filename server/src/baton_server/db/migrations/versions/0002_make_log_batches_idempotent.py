"""make log batches idempotent: a batch id and line number per log line, unique per task instance

Revision ID: 0002
Revises: 0001

The index on ``task_logs``, the largest table of a running installation, is built without holding its
writes on PostgreSQL (``online_index``): servers still running go on storing log lines meanwhile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, has_column

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    if not has_column("task_logs", "batch_id"):  # else a run stopped during the build added them
        with op.batch_alter_table("task_logs", schema=None) as batch_op:
            batch_op.add_column(sa.Column("batch_id", sa.Uuid(), nullable=True))
            batch_op.add_column(sa.Column("batch_line", sa.Integer(), nullable=True))
    # Unique with the new columns still empty (NULLs are distinct): no line can fail it.
    create_index_online(
        "ix_task_logs_task_instance_id_batch_id_batch_line",
        "task_logs",
        ["task_instance_id", "batch_id", "batch_line"],
        unique=True,
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_logs_task_instance_id_batch_id_batch_line"))
        batch_op.drop_column("batch_line")
        batch_op.drop_column("batch_id")
