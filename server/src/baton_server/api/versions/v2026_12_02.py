"""Changes of API version 2026-12-02 (from 2026-11-24).

This is the open (unreleased) version: every wire change of the current wave is declared here,
one ``VersionChange`` per change, and registered in ``api/versions/__init__.py``.
"""

from __future__ import annotations

from cadwyn import VersionChange, schema

from baton_server.api.schemas.execution import LogBatch
from baton_server.api.schemas.orchestration import ClaimWorkloadsPayload


class AddBatchIdToLogBatch(VersionChange):
    """A log batch may carry a `batch_id`: a batch sent again with the same id is stored once, so log
    uploads are safe to retry."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (schema(LogBatch).field("batch_id").didnt_exist,)


class AddHeldTaskInstanceIdsToClaims(VersionChange):
    """A claim may list the task instances the worker holds (`held_task_instance_ids`): workloads the
    server assigned to it that it does not list (their claim's answer was lost) go back to the queue
    at once instead of after the claim timeout."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(ClaimWorkloadsPayload).field("held_task_instance_ids").didnt_exist,
    )
