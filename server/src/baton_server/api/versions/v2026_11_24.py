"""Changes of API version 2026-11-24 (from 2026-10-15)."""

from __future__ import annotations

import json

from cadwyn import ResponseInfo, VersionChange, convert_response_to_previous_version_for, endpoint, schema

from baton_server.api.schemas.execution import ConnectionResponse


class AddPreviousSuccessfulRunEndpoint(VersionChange):
    """New: `GET /execution/task-instances/{task_instance_id}/previous-successful-run` answers with the latest
    earlier DAG run in which the task succeeded (or null)."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        endpoint("/execution/task-instances/{task_instance_id}/previous-successful-run", ["GET"]).didnt_exist,
    )


class ChangeConnectionExtraToObject(VersionChange):
    """A connection's `extra` (execution API) is now a JSON object; it was a string holding JSON."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(ConnectionResponse).field("extra").had(type=str | None),
    )

    @convert_response_to_previous_version_for(ConnectionResponse)
    def encode_extra_as_string(response: ResponseInfo) -> None:
        extra = response.body.get("extra")
        if extra is not None:
            response.body["extra"] = json.dumps(extra, separators=(",", ":"), sort_keys=True)
