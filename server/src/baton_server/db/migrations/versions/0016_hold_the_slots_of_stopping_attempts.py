"""hold the slots of stopping attempts: an attempt ended or cleared while it runs keeps its slot

An operator's clear, mark or cancel of a running attempt freed its pool's slot (and its place under its
DAG's ``max_active_tasks``) at once, while its process ran on until its worker heard of it (its next
heartbeat) and stopped it (up to the worker's stop grace): another task could be claimed into the slot
meanwhile, and the pool ran more than its slots. Such an attempt is now marked ``stopping_at`` and
keeps its worker and its slot until its worker no longer lists it among what it holds, or its
heartbeat deadline passes. What takes a slot is indexed anew with those rows (the indexes of 0011 are
replaced: a partial index's predicate cannot change in place), and the stopping rows alone by worker.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, drop_index_online, has_column

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

TAKING_A_SLOT_BEFORE = "worker_id IS NOT NULL AND state IN ('queued', 'running')"
STOPPING = "stopping_at IS NOT NULL"
HOLDING_A_SLOT = "worker_id IS NOT NULL AND (state IN ('queued', 'running') OR stopping_at IS NOT NULL)"


def upgrade() -> None:
    """Apply this revision."""
    # On PostgreSQL the column is committed before the indexes are built: a run stopped during a build
    # (before its revision was stamped) left it.
    if not has_column("task_instances", "stopping_at"):
        with op.batch_alter_table("task_instances", schema=None) as batch_op:
            batch_op.add_column(sa.Column("stopping_at", sa.DateTime(timezone=True), nullable=True))
    create_index_online("ix_task_instances_stopping", "task_instances", ["worker_id"], STOPPING)
    for kind, column in (("pool", "pool"), ("dag", "dag_id")):
        create_index_online(
            f"ix_task_instances_holding_a_{kind}_slot", "task_instances", [column], HOLDING_A_SLOT
        )
        drop_index_online(f"ix_task_instances_taking_a_{kind}_slot", "task_instances")


def downgrade() -> None:
    """Revert this revision."""
    for kind, column in (("pool", "pool"), ("dag", "dag_id")):
        create_index_online(
            f"ix_task_instances_taking_a_{kind}_slot", "task_instances", [column], TAKING_A_SLOT_BEFORE
        )
        drop_index_online(f"ix_task_instances_holding_a_{kind}_slot", "task_instances")
    drop_index_online("ix_task_instances_stopping", "task_instances")
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_column("stopping_at")
