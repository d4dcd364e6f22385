"""add backfills and a DAG run's backfill_id

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "backfills",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("from_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("to_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_active_runs", sa.Integer(), nullable=False),
        sa.Column("reprocess_behavior", sa.String(length=20), nullable=False),
        sa.Column("total_intervals", sa.Integer(), nullable=False),
        sa.Column("runs_created", sa.Integer(), nullable=False),
        sa.Column("intervals_skipped", sa.Integer(), nullable=False),
        sa.Column("next_logical_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dags.dag_id"], name=op.f("fk_backfills_dag_id_dags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backfills")),
    )
    with op.batch_alter_table("backfills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backfills_dag_id"), ["dag_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_backfills_state"), ["state"], unique=False)
    with op.batch_alter_table("dag_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("backfill_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_dag_runs_backfill_id"), ["backfill_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("dag_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_runs_backfill_id"))
        batch_op.drop_column("backfill_id")
    with op.batch_alter_table("backfills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backfills_state"))
        batch_op.drop_index(batch_op.f("ix_backfills_dag_id"))
    op.drop_table("backfills")
