"""create the metadata tables

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "connections",
        sa.Column("conn_id", sa.String(length=250), nullable=False),
        sa.Column("conn_type", sa.String(length=500), nullable=False),
        sa.Column("host", sa.String(length=500), nullable=True),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("login", sa.String(length=500), nullable=True),
        sa.Column("password_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("schema_name", sa.String(length=500), nullable=True),
        sa.Column("extra_encrypted", sa.LargeBinary(), nullable=True),
        sa.Column("allowed_dag_ids", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conn_id", name=op.f("pk_connections")),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_credentials_token_hash")),
    )
    op.create_table(
        "dags",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("latest_version_id", sa.Uuid(), nullable=True),
        sa.Column("schedule", sa.String(length=100), nullable=True),
        sa.Column("is_paused", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", name=op.f("pk_dags")),
    )
    op.create_table(
        "variables",
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_variables")),
    )
    op.create_table(
        "dag_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("description_hash", sa.String(length=64), nullable=False),
        sa.Column("description", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("bundle_name", sa.String(length=250), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dags.dag_id"], name=op.f("fk_dag_versions_dag_id_dags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dag_versions")),
        sa.UniqueConstraint("dag_id", "version_number", name=op.f("uq_dag_versions_dag_id_version_number")),
    )
    with op.batch_alter_table("dag_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dag_versions_dag_id_description_hash"),
            ["dag_id", "description_hash"],
            unique=False,
        )

    op.create_table(
        "workers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=False),
        sa.Column("queues", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("runtime", sa.String(length=20), nullable=False),
        sa.Column("hostname", sa.String(length=1000), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_workers_credential_id_credentials"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("name", name=op.f("uq_workers_name")),
    )
    op.create_table(
        "dag_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("dag_version_id", sa.Uuid(), nullable=False),
        sa.Column("run_type", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("logical_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_interval_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_interval_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conf", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["dag_id"], ["dags.dag_id"], name=op.f("fk_dag_runs_dag_id_dags"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["dag_version_id"], ["dag_versions.id"], name=op.f("fk_dag_runs_dag_version_id_dag_versions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dag_runs")),
        sa.UniqueConstraint("dag_id", "run_id", name=op.f("uq_dag_runs_dag_id_run_id")),
    )
    with op.batch_alter_table("dag_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dag_runs_state"), ["state"], unique=False)

    op.create_table(
        "task_instances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dag_run_id", sa.Uuid(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("dag_version_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("max_tries", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(length=250), nullable=False),
        sa.Column("runtime", sa.String(length=20), nullable=False),
        sa.Column("hostname", sa.String(length=1000), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("unix_user", sa.String(length=1000), nullable=True),
        sa.Column("worker_id", sa.Uuid(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dag_run_id"],
            ["dag_runs.id"],
            name=op.f("fk_task_instances_dag_run_id_dag_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dag_version_id"],
            ["dag_versions.id"],
            name=op.f("fk_task_instances_dag_version_id_dag_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_instances")),
        sa.UniqueConstraint(
            "dag_run_id", "task_id", "map_index", name=op.f("uq_task_instances_dag_run_id_task_id_map_index")
        ),
    )
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_instances_dag_id_task_id_state"), ["dag_id", "task_id", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_task_instances_state_queue"), ["state", "queue"], unique=False)

    op.create_table(
        "task_logs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("task_instance_id", sa.Uuid(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_instance_id"],
            ["task_instances.id"],
            name=op.f("fk_task_logs_task_instance_id_task_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_logs")),
    )
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_task_logs_task_instance_id_try_number_id"),
            ["task_instance_id", "try_number", "id"],
            unique=False,
        )

    op.create_table(
        "xcoms",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("task_instance_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_instance_id"],
            ["task_instances.id"],
            name=op.f("fk_xcoms_task_instance_id_task_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_xcoms")),
        sa.UniqueConstraint(
            "dag_id",
            "run_id",
            "task_id",
            "map_index",
            "key",
            name=op.f("uq_xcoms_dag_id_run_id_task_id_map_index_key"),
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("xcoms")
    with op.batch_alter_table("task_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_logs_task_instance_id_try_number_id"))

    op.drop_table("task_logs")
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instances_state_queue"))
        batch_op.drop_index(batch_op.f("ix_task_instances_dag_id_task_id_state"))

    op.drop_table("task_instances")
    with op.batch_alter_table("dag_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_runs_state"))

    op.drop_table("dag_runs")
    op.drop_table("workers")
    with op.batch_alter_table("dag_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dag_versions_dag_id_description_hash"))

    op.drop_table("dag_versions")
    op.drop_table("variables")
    op.drop_table("dags")
    op.drop_table("credentials")
    op.drop_table("connections")
