"""XCom routes of the Task Execution API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from baton_server.api import links
from baton_server.api.deps import AttemptCheckDep, AttemptDep, RuntimeDep, TaskConnectionDep
from baton_server.api.schemas.common import ID_PATTERN, RUN_ID_PATTERN
from baton_server.api.schemas.execution import XComPutBody, XComResponse
from baton_server.services import xcoms as service

router = APIRouter(prefix="/xcoms", tags=["xcoms"])
Segment = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]
RunIdSegment = Annotated[str, Path(pattern=RUN_ID_PATTERN, min_length=1, max_length=250)]
MapIndexQuery = Annotated[
    int, Query(ge=-1, le=2**31 - 1, description="Map index of the task; -1 when unmapped.")
]
PATH = "/{dag_id}/{run_id}/{task_id}/{key}"


def _address(dag_id: str, run_id: str, task_id: str, key: str, map_index: int) -> service.XComAddress:
    return service.XComAddress(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, key=key)


@router.put(
    PATH,
    response_model=XComResponse,
    responses=links.PUSH_XCOM,
    summary="Push an XCom of the caller's own task instance",
)
async def push_xcom(
    dag_id: Segment,
    run_id: RunIdSegment,
    task_id: Segment,
    key: Segment,
    body: XComPutBody,
    check: AttemptCheckDep,
    db: TaskConnectionDep,
    runtime: RuntimeDep,
    map_index: MapIndexQuery = -1,
) -> XComResponse:
    """Store a JSON value under the caller's own task instance, replacing any at that address."""
    address = _address(dag_id, run_id, task_id, key, map_index)
    await service.push_xcom_for_task(
        db, check, address, body.value, max_bytes=runtime.settings.xcom_max_bytes
    )
    return XComResponse(
        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, key=key, value=body.value
    )


@router.get(
    PATH,
    response_model=XComResponse,
    summary="Pull an XCom of the caller's DAG",
)
async def pull_xcom(
    dag_id: Segment,
    run_id: RunIdSegment,
    task_id: Segment,
    key: Segment,
    check: AttemptCheckDep,
    db: TaskConnectionDep,
    map_index: MapIndexQuery = -1,
) -> XComResponse:
    """Read an XCom of any task instance of the caller's DAG."""
    address = _address(dag_id, run_id, task_id, key, map_index)
    value = await service.pull_xcom_for_task(db, check, address)
    return XComResponse(
        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, key=key, value=value
    )


@router.delete(
    PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an XCom of the caller's own task instance",
)
async def delete_xcom(
    dag_id: Segment,
    run_id: RunIdSegment,
    task_id: Segment,
    key: Segment,
    attempt: AttemptDep,
    db: TaskConnectionDep,
    map_index: MapIndexQuery = -1,
) -> None:
    """Delete an XCom of the caller's own task instance."""
    await service.delete_xcom(db, attempt, _address(dag_id, run_id, task_id, key, map_index))
