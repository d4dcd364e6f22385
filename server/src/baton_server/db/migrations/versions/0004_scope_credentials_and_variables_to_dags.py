"""scope credentials and variables to DAGs: a credential's DAG id patterns, each DAG's owner, variable grants

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dag_patterns", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
        )
    with op.batch_alter_table("variables", schema=None) as batch_op:
        for column in ("read_dag_ids", "write_dag_ids"):
            batch_op.add_column(
                sa.Column(column, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
            )
    with op.batch_alter_table("dags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_credential_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("owner_name", sa.String(length=250), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("variables", schema=None) as batch_op:
        batch_op.drop_column("write_dag_ids")
        batch_op.drop_column("read_dag_ids")
    with op.batch_alter_table("dags", schema=None) as batch_op:
        batch_op.drop_column("owner_name")
        batch_op.drop_column("owner_credential_id")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("dag_patterns")
