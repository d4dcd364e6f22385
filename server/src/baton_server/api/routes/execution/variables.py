"""Variable routes of the Task Execution API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from baton_server.api import links
from baton_server.api.deps import AttemptCheckDep, AttemptDep, RuntimeDep, TaskConnectionDep
from baton_server.api.schemas.common import ID_PATTERN
from baton_server.api.schemas.execution import VariablePutBody, VariableResponse
from baton_server.services import variables as service

router = APIRouter(prefix="/variables", tags=["variables"])
VariableKey = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]


@router.get(
    "/{key}",
    response_model=VariableResponse,
    summary="Read a variable",
)
async def get_variable(key: VariableKey, check: AttemptCheckDep, db: TaskConnectionDep) -> VariableResponse:
    """The variable's JSON value. A worker may ask its own secrets backend first."""
    return VariableResponse(key=key, value=await service.get_variable_for_task(db, key, check))


@router.put(
    "/{key}",
    response_model=VariableResponse,
    responses=links.SET_VARIABLE,
    summary="Create or replace a variable",
)
async def set_variable(
    key: VariableKey,
    body: VariablePutBody,
    check: AttemptCheckDep,
    db: TaskConnectionDep,
    runtime: RuntimeDep,
) -> VariableResponse:
    """Store a JSON value under the key, replacing any."""
    max_bytes = runtime.settings.variable_max_bytes
    await service.set_variable_for_task(
        db, key, body.value, body.description, max_bytes=max_bytes, check=check
    )
    return VariableResponse(key=key, value=body.value)


@router.delete(
    "/{key}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a variable",
)
async def delete_variable(key: VariableKey, attempt: AttemptDep, db: TaskConnectionDep) -> None:
    """Delete the variable."""
    await service.delete_variable(db, key, dag_id=attempt.dag_id)
