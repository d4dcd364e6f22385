"""add backfills and a DAG run's backfill_id

Revision ID: 0008
Revises: 0007

The index on ``dag_runs`` is built without holding its writes on PostgreSQL (``online_index``): runs
are triggered, scheduled and finished meanwhile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, has_column, has_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # On PostgreSQL what comes before the index on dag_runs is committed when its build starts: a run
    # stopped during the build left it, and this one goes on from there.
    if not has_table("backfills"):
        _create_backfills()
    if not has_column("dag_runs", "backfill_id"):
        with op.batch_alter_table("dag_runs", schema=None) as batch_op:
            batch_op.add_column(sa.Column("backfill_id", sa.Uuid(), nullable=True))
    create_index_online("ix_dag_runs_backfill_id", "dag_runs", ["backfill_id"])


def _create_backfills() -> None:
    """The backfills table and its indexes."""
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


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("dag_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_runs_backfill_id"))
        batch_op.drop_column("backfill_id")
    with op.batch_alter_table("backfills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backfills_state"))
        batch_op.drop_index(batch_op.f("ix_backfills_dag_id"))
    op.drop_table("backfills")
