"""Admin routes for variables."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from baton_server.api import links
from baton_server.api.deps import AdminDep, SessionDep
from baton_server.api.errors import error_responses
from baton_server.api.schemas.admin import VariableEntry, VariablePage
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
        updated_at=record.updated_at,
    )


@router.get("", response_model=VariablePage, responses=error_responses(401, 422), summary="List variables")
async def admin_list_variables(
    _: AdminDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_DB_INT)] = 0,
) -> VariablePage:
    records, total = await service.list_variables(session, limit=limit, offset=offset)
    return VariablePage(
        variables=[_entry(r) for r in records],
        total=total,
    )


@router.get(
    "/{key}",
    response_model=VariableEntry,
    responses=error_responses(401, 404, 422),
    summary="Read a variable",
)
async def admin_get_variable(key: VariableKey, _: AdminDep, session: SessionDep) -> VariableEntry:
    return _entry(await service.get_variable_record(session, key))


@router.put(
    "/{key}",
    response_model=VariableEntry,
    responses={**error_responses(401, 413, 422), **links.ADMIN_SET_VARIABLE},
    summary="Create or replace a variable",
)
async def admin_set_variable(
    key: VariableKey, body: VariablePutBody, _: AdminDep, session: SessionDep
) -> VariableEntry:
    await service.set_variable(session, key, body.value, body.description)
    return _entry(await service.get_variable_record(session, key))


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(401, 404, 422),
    summary="Delete a variable",
)
async def admin_delete_variable(key: VariableKey, _: AdminDep, session: SessionDep) -> None:
    await service.delete_variable(session, key)
