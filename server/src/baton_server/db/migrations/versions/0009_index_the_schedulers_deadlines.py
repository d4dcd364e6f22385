"""index the scheduler's deadlines: a running attempt's heartbeat and its execution timeout

Revision ID: 0009
Revises: 0008

A pass used to read every running attempt and decide in Python which had timed out; with thousands
running, that cost grew with the installation rather than with the work. ``timeout_at`` is set when
an attempt with an execution timeout starts, and both deadlines are indexed with the state.
Attempts already running when the database is upgraded get their ``timeout_at`` from their task's
description here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op
from baton_server.db.online_index import create_index_online, has_column

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _as_datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC) if value is not None else None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _timeouts_of_running_attempts() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT ti.id, ti.task_id, ti.start_date, v.description FROM task_instances ti "
            "JOIN dag_versions v ON v.id = ti.dag_version_id WHERE ti.state = 'running'"
        )
    ).all()
    for ti_id, task_id, start_date, description in rows:
        doc = json.loads(description) if isinstance(description, str) else description
        tasks = doc.get("tasks", []) if isinstance(doc, dict) else []
        task = next((t for t in tasks if isinstance(t, dict) and t.get("task_id") == task_id), None)
        seconds = task.get("execution_timeout") if task else None
        started = _as_datetime(start_date)
        if not isinstance(seconds, int | float) or started is None:
            continue
        conn.execute(
            sa.text("UPDATE task_instances SET timeout_at = :at WHERE id = :id").bindparams(
                sa.bindparam("at", type_=sa.DateTime(timezone=True))
            ),
            {"at": (started + timedelta(seconds=seconds)).astimezone(UTC), "id": ti_id},
        )


def upgrade() -> None:
    """Apply this revision."""
    # On PostgreSQL the column is committed when the first build starts: a run stopped during a build
    # (before its revision was stamped) left it.
    if not has_column("task_instances", "timeout_at"):
        with op.batch_alter_table("task_instances", schema=None) as batch_op:
            batch_op.add_column(sa.Column("timeout_at", sa.DateTime(timezone=True), nullable=True))
    create_index_online(
        "ix_task_instances_state_last_heartbeat_at", "task_instances", ["state", "last_heartbeat_at"]
    )
    create_index_online("ix_task_instances_state_timeout_at", "task_instances", ["state", "timeout_at"])
    _timeouts_of_running_attempts()


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("task_instances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_instances_state_timeout_at"))
        batch_op.drop_index(batch_op.f("ix_task_instances_state_last_heartbeat_at"))
        batch_op.drop_column("timeout_at")
