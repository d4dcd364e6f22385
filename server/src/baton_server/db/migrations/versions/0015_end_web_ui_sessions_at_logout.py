"""end web UI sessions at logout: the sessions logged out before their cookie expires

A UI session is a signed cookie and nothing of it was stored, so logging out only dropped the
browser's copy: a copy taken before stayed good until it expired (8 hours by default). A logout now
stores the session (by a hash of its CSRF token, new at every login) until then, and its cookie is
refused.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "ui_sessions_ended",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_ui_sessions_ended")),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("ui_sessions_ended")
