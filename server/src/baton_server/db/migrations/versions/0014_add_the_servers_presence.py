"""add the servers' presence: the sign a standalone scheduler reads that an API server is up

A standalone ``baton-server scheduler`` reads the heartbeats the API servers stored. While no server
answers, heartbeats are refused rather than missing, and a scheduler that went on judging silences
ended every running attempt once the heartbeat timeout passed. Every server process now marks this
table's one row every few seconds (``baton_server.presence``).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "server_presence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_presence")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("server_presence")
