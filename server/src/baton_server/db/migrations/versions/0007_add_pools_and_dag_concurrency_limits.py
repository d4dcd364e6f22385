"""add named pools, a task instance's pool and slots, and a DAG's max_active_runs/max_active_tasks

Revision ID: 0007
Revises: 0006

The index on ``task_instances`` is built without holding its writes on PostgreSQL (``online_index``):
heartbeats, claims and state changes of servers still running go on meanwhile.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, has_column, has_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # On PostgreSQL what comes before the index is committed when its build starts: a run stopped during
    # the build left it, and this one goes on from there.
    if not has_table("pools"):
        pools = op.create_table(
            "pools",
            sa.Column("name", sa.String(length=250), nullable=False),
            sa.Column("slots", sa.Integer(), nullable=True),
            sa.Column("description", sa.String(length=2000), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f("pk_pools")),
        )
        op.bulk_insert(
            pools,
            [
                {
                    "name": "default_pool",
                    "slots": None,
                    "description": "The pool of every task that names none",
                    "updated_at": datetime.now(UTC),
                }
            ],
        )
    if not has_column("task_instances", "pool"):
        with op.batch_alter_table("task_instances", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("pool", sa.String(length=250), server_default="default_pool", nullable=False)
            )
            batch_op.add_column(sa.Column("pool_slots", sa.Integer(), server_default="1", nullable=False))
    if not has_column("dags", "max_active_runs"):
        with op.batch_alter_table("dags", schema=None) as batch_op:
            batch_op.add_column(sa.Column("max_active_runs", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("max_active_tasks", sa.Integer(), nullable=True))
    create_index_online("ix_task_instances_pool_state", "task_instances", ["pool", "state"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("dags", schema=None) as batch_op:
        batch_op.drop_column("max_active_tasks")
        batch_op.drop_column("max_active_runs")
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instances_pool_state"))
        batch_op.drop_column("pool_slots")
        batch_op.drop_column("pool")
    op.drop_table("pools")
