"""let heartbeats update their row in place: the scheduler's heartbeat look reads an indexed floor

Revision ID: 0013
Revises: 0012

Migration 0009 indexed ``last_heartbeat_at`` with the state, so that the scheduler reads only the
attempts whose heartbeat stopped. But a heartbeat then changed an indexed column, so PostgreSQL could
never update its row in place (a HOT update): each heartbeat wrote a new row version into another
page and a new entry into every index of ``task_instances``, and the table and the heartbeat's index
grew with every heartbeat until vacuum ran (64 running attempts heartbeating for 36 seconds: the
table 16 KB → 1 MB, the index 16 KB → 1.1 MB, 0 of 36,527 updates in place).

The index now covers ``heartbeat_floor``, a lower bound of ``last_heartbeat_at`` that a heartbeat
moves only once it has fallen a quarter of the heartbeat timeout (at most a minute) behind; the
scheduler reads the attempts whose floor is past the timeout, or not set, and checks their last
heartbeat. A floor is set by an attempt's start and by its next heartbeat, so nothing is filled in
here: an attempt running through the upgrade is looked at by its heartbeat until then.
``task_instances`` keeps a tenth of each new page free (fillfactor 90) so that a row's next version
fits beside it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, drop_index_online, has_column

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    # On PostgreSQL the column is committed before the index is built: a run stopped during the build
    # (before its revision was stamped) left it.
    if not has_column("task_instances", "heartbeat_floor"):
        with op.batch_alter_table("task_instances", schema=None) as batch_op:
            batch_op.add_column(sa.Column("heartbeat_floor", sa.DateTime(timezone=True), nullable=True))
    create_index_online(
        "ix_task_instances_state_heartbeat_floor", "task_instances", ["state", "heartbeat_floor"]
    )
    drop_index_online("ix_task_instances_state_last_heartbeat_at", "task_instances")
    if op.get_bind().dialect.name == "postgresql":
        # A storage parameter: no rewrite, and a lock that lets reads and writes go on.
        op.execute("ALTER TABLE task_instances SET (fillfactor = 90)")


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE task_instances RESET (fillfactor)")
    create_index_online(
        "ix_task_instances_state_last_heartbeat_at", "task_instances", ["state", "last_heartbeat_at"]
    )
    drop_index_online("ix_task_instances_state_heartbeat_floor", "task_instances")
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_floor")
