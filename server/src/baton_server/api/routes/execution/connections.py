"""Connection routes of the Task Execution API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from baton_server.api.deps import AttemptCheckDep, RuntimeDep, TaskConnectionDep
from baton_server.api.schemas.common import ID_PATTERN
from baton_server.api.schemas.execution import ConnectionResponse
from baton_server.services import connections as service

router = APIRouter(prefix="/connections", tags=["connections"])
ConnectionId = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]


@router.get(
    "/{connection_id}",
    response_model=ConnectionResponse,
    summary="Read a connection granted to the caller's DAG, secrets included",
)
async def get_connection(
    connection_id: ConnectionId, check: AttemptCheckDep, db: TaskConnectionDep, runtime: RuntimeDep
) -> ConnectionResponse:
    """The connection with its secrets, for a task of a DAG it is granted to (all DAGs when unrestricted)."""
    conn = await service.get_connection_for_task(db, runtime.cipher, connection_id, check)
    return ConnectionResponse(
        conn_id=conn.conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password=conn.password,
        schema=conn.schema,
        extra=conn.extra,
    )
