"""Changes of API version 2026-10-15 (from 2026-09-01)."""

from __future__ import annotations

from cadwyn import (
    RequestInfo,
    ResponseInfo,
    VersionChange,
    convert_request_to_next_version_for,
    convert_response_to_previous_version_for,
    schema,
)

from baton_server.api.schemas.execution import TIRunContext, TIRunPayload

UNKNOWN_UNIX_USER = "unknown"
"""What older clients, which did not report the unix user, are recorded as running as."""


class RenameVersionIdToDagVersionId(VersionChange):
    """The run context's `version_id` is now `dag_version_id`: it names the DAG's version, nothing else."""

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (
        schema(TIRunContext).field("dag_version_id").had(name="version_id"),
    )

    @convert_response_to_previous_version_for(TIRunContext)
    def rename_dag_version_id_back(response: ResponseInfo) -> None:
        response.body["version_id"] = response.body.pop("dag_version_id")


class AddUnixUserToRunPayload(VersionChange):
    """Starting an attempt (`run`) now reports the unix user the task runs as, in `unix_user`.

    Older clients do not send it; their attempts are recorded as run by `unknown`.
    """

    description = __doc__ or ""
    instructions_to_migrate_to_previous_version = (schema(TIRunPayload).field("unix_user").didnt_exist,)

    @convert_request_to_next_version_for(TIRunPayload)
    def supply_unix_user(request: RequestInfo) -> None:
        if isinstance(request.body, dict):
            request.body.setdefault("unix_user", UNKNOWN_UNIX_USER)
