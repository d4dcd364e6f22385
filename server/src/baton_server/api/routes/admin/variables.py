"""Admin routes for variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from baton_server.api import links
from baton_server.api.deps import AdminDep, RuntimeDep, SessionDep
from baton_server.api.schemas.admin import VariableEntry, VariableGrants, VariablePage
from baton_server.api.schemas.common import ID_PATTERN, MAX_DB_INT
from baton_server.api.schemas.execution import VariablePutBody
from baton_server.db.tables import VariableRecord
from baton_server.services import variables as service

router = APIRouter(prefix="/variables", tags=["admin"])
VariableKey = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]


def _entry(record: VariableRecord) -> VariableEntry:
    return VariableEntry(
        key=record.key,
        value=service.decode_value(record),
        description=record.description,
        read_dag_ids=record.read_dag_ids,
        write_dag_ids=record.write_dag_ids,
        updated_at=record.updated_at,
    )


@router.get("", response_model=VariablePage, summary="List variables")
async def admin_list_variables(
    _: AdminDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> VariablePage:
    """A page of variables ordered by key."""
    records, total = await service.list_variables(session, limit=limit, offset=offset)
    return VariablePage(
        variables=[_entry(r) for r in records],
        total=total,
    )


@router.get(
    "/{key}",
    response_model=VariableEntry,
    summary="Read a variable",
)
async def admin_get_variable(key: VariableKey, _: AdminDep, session: SessionDep) -> VariableEntry:
    """One variable with its description and when it last changed."""
    return _entry(await service.get_variable_record(session, key))


@router.put(
    "/{key}",
    response_model=VariableEntry,
    responses=links.ADMIN_SET_VARIABLE,
    summary="Create or replace a variable",
)
async def admin_set_variable(
    key: VariableKey, body: VariablePutBody, _: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> VariableEntry:
    """Store the JSON value under this key, replacing any."""
    max_bytes = runtime.settings.variable_max_bytes
    return _entry(await service.put_variable(session, key, body.value, body.description, max_bytes=max_bytes))


@router.put(
    "/{key}/grants",
    response_model=VariableEntry,
    summary="Grant a variable to DAGs for reading and writing",
)
async def admin_set_variable_grants(
    key: VariableKey, body: VariableGrants, _: AdminDep, session: SessionDep
) -> VariableEntry:
    """Which DAGs' tasks may read the variable, and which may write or delete it; null: every DAG.

    A task of another DAG gets `403 variable_not_granted` (reading) or `variable_not_writable`.
    """
    record = await service.set_grants(
        session, key, read_dag_ids=body.read_dag_ids, write_dag_ids=body.write_dag_ids
    )
    return _entry(record)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a variable",
)
async def admin_delete_variable(key: VariableKey, _: AdminDep, session: SessionDep) -> None:
    """Delete the variable."""
    await service.delete_variable(session, key)
