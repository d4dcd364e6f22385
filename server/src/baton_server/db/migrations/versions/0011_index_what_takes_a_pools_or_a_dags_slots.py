"""index what takes a pool's or a DAG's slots

Revision ID: 0011
Revises: 0010

Where a pool's slots or a DAG's ``max_active_tasks`` limit claims, each claim counts what the claimed,
unfinished task instances of that pool or DAG take. The count read the ``(pool, state)`` index, so
every queued row of a deep queue, claimed or not; a DAG's, the ``(dag_id, task_id, state)`` index, so
every attempt the DAG ever ran. Those rows alone are now indexed, by pool and by DAG: a count reads as
many entries as there are task instances taking a slot, however deep the queue and long the history.
"""

from __future__ import annotations

from alembic import op
from baton_server.db.online_index import create_index_online

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TAKING_A_SLOT = "worker_id IS NOT NULL AND state IN ('queued', 'running')"


def upgrade() -> None:
    """Apply this revision."""
    create_index_online("ix_task_instances_taking_a_pool_slot", "task_instances", ["pool"], TAKING_A_SLOT)
    create_index_online("ix_task_instances_taking_a_dag_slot", "task_instances", ["dag_id"], TAKING_A_SLOT)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_task_instances_taking_a_dag_slot")
        batch_op.drop_index("ix_task_instances_taking_a_pool_slot")
