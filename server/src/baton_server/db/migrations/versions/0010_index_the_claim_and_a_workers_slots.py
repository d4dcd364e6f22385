"""index a claim's look at the queue and at a worker's slots

Revision ID: 0010
Revises: 0009

A claim counted the worker's active attempts by reading every task instance (``worker_id`` had no
index), and found the oldest queued one by sorting every queued row of its queues: its cost grew with
the installation and with the queue's depth. A worker's attempts are now indexed by worker and state
(only the rows that have a worker: the many that have none would all sit under one key, and every
write of one, such as a heartbeat, would add to that pile), and the claimable ones (queued, held by
no worker) by queue, runtime and the claim's order, so that a claim reads the rows it takes.
"""

from __future__ import annotations

from alembic import op
from baton_server.db.online_index import create_index_online

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CLAIMABLE = "state = 'queued' AND worker_id IS NULL"
HELD = "worker_id IS NOT NULL"


def upgrade() -> None:
    """Apply this revision."""
    create_index_online("ix_task_instances_worker_id_state", "task_instances", ["worker_id", "state"], HELD)
    create_index_online(
        "ix_task_instances_claimable", "task_instances", ["queue", "runtime", "queued_at", "id"], CLAIMABLE
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_task_instances_claimable")
        batch_op.drop_index(batch_op.f("ix_task_instances_worker_id_state"))
