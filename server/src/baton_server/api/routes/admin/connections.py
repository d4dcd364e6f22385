"""Admin routes for connections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from baton_server.api import links
from baton_server.api.deps import AdminDep, RuntimeDep, SessionDep
from baton_server.api.schemas.admin import ConnectionEntry, ConnectionPage, ConnectionPutBody
from baton_server.api.schemas.common import ID_PATTERN, MAX_DB_INT
from baton_server.services import connections as service

router = APIRouter(prefix="/connections", tags=["admin"])
ConnectionId = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]


def _entry(conn: service.Connection) -> ConnectionEntry:
    return ConnectionEntry(
        conn_id=conn.conn_id,
        conn_type=conn.conn_type,
        host=conn.host,
        port=conn.port,
        login=conn.login,
        password_set=conn.password is not None,
        schema=conn.schema,
        extra=conn.extra,
        allowed_dag_ids=conn.allowed_dag_ids,
        description=conn.description,
    )


@router.get("", response_model=ConnectionPage, summary="List connections")
async def admin_list_connections(
    _: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> ConnectionPage:
    """A page of connections ordered by id, passwords left out."""
    connections, total = await service.list_connections(session, runtime.cipher, limit=limit, offset=offset)
    return ConnectionPage(connections=[_entry(c) for c in connections], total=total)


@router.get(
    "/{connection_id}",
    response_model=ConnectionEntry,
    summary="Read a connection (without its password)",
)
async def admin_get_connection(
    connection_id: ConnectionId, _: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> ConnectionEntry:
    """One connection as operators see it: whether a password is set, never the password."""
    return _entry(await service.get_connection(session, runtime.cipher, connection_id))


@router.put(
    "/{connection_id}",
    response_model=ConnectionEntry,
    responses=links.ADMIN_SET_CONNECTION,
    summary="Create or replace a connection",
)
async def admin_set_connection(
    connection_id: ConnectionId,
    body: ConnectionPutBody,
    _: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ConnectionEntry:
    """Store the connection under this id, replacing any; secrets are encrypted at rest."""
    connection = service.Connection(
        conn_id=connection_id,
        conn_type=body.conn_type,
        host=body.host,
        port=body.port,
        login=body.login,
        password=body.password,
        schema=body.schema_,
        extra=body.extra,
        allowed_dag_ids=body.allowed_dag_ids,
        description=body.description,
    )
    await service.set_connection(session, runtime.cipher, connection)
    return _entry(connection)


@router.delete(
    "/{connection_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a connection",
)
async def admin_delete_connection(connection_id: ConnectionId, _: AdminDep, session: SessionDep) -> None:
    """Delete the connection; tasks asking for it get 404 from then on."""
    await service.delete_connection(session, connection_id)
