"""Wire models of the operator controls (clear, mark, cancel, delete) and of their audit trail."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, StrictBool

from baton_server.api.schemas.admin_orchestration import TaskInstanceSummary
from baton_server.api.schemas.common import RequestModel, ResponseModel
from baton_server.services.controls import MarkState


class ClearTaskInstancePayload(RequestModel):
    """What to clear besides the task instance itself."""

    include_downstream: StrictBool = Field(
        default=False, description="Also clear every task that waits, directly or not, for this one."
    )


class ClearedTaskInstances(ResponseModel):
    """The task instances a clear sent back to the scheduler, waiting again (state null)."""

    dag_id: str
    run_id: str
    task_instances: list[TaskInstanceSummary]


class MarkStatePayload(RequestModel):
    """The state to set by hand."""

    state: MarkState = Field(description="`success` or `failed`.")


class DeletedDag(ResponseModel):
    """What deleting a DAG removed: row counts by kind."""

    dag_id: str
    dag_runs: int
    task_instances: int
    task_logs: int
    xcoms: int
    dag_versions: int


class AuditEvent(ResponseModel):
    """One operator control: who (which admin credential), when, what, on which target."""

    id: int
    created_at: datetime
    credential_id: uuid.UUID | None = Field(description="The admin credential that acted.")
    credential_name: str
    action: str = Field(
        description="The control: `clear_task_instance`, `mark_task_instance`, `mark_dag_run`, "
        "`cancel_dag_run` or `delete_dag` (more may come)."
    )
    dag_id: str | None
    run_id: str | None
    task_instance_id: uuid.UUID | None
    details: dict[str, Any] = Field(description="The control's arguments and what it changed.")


class AuditEventList(ResponseModel):
    """A page of audit events, newest first."""

    audit_events: list[AuditEvent]
    total: int
