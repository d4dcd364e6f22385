"""XComs: JSON values tasks push for other tasks of the same DAG to pull.

A task writes (pushes, deletes) only its own XComs — the address must be its own DAG, run,
task and map index — and reads only within its own DAG.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select

from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import TaskInstanceRecord, XComRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import ForbiddenError, NotFoundError, PayloadTooLargeError
from baton_server.services.task_instances import RUNNING_ATTEMPT, Attempt, AttemptCheck, refused_once_gone


@dataclass(frozen=True, slots=True)
class XComAddress:
    """Where an XCom lives."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str

    def describe(self) -> str:
        """A readable form for messages."""
        return f"{self.dag_id}/{self.run_id}/{self.task_id}[{self.map_index}]/{self.key}"


def _check_owner(attempt: Attempt, address: XComAddress) -> None:
    own = (attempt.dag_id, attempt.run_id, attempt.task_id, attempt.map_index)
    if (address.dag_id, address.run_id, address.task_id, address.map_index) != own:
        raise ForbiddenError(
            f"a task writes only its own XComs; {address.describe()} belongs to another task instance",
            reason="xcom_not_owned",
        )


_TABLE = cast(Table, XComRecord.__table__)
_AT_ADDRESS = (
    (_TABLE.c.dag_id == bindparam("b_dag_id"))
    & (_TABLE.c.run_id == bindparam("b_run_id"))
    & (_TABLE.c.task_id == bindparam("b_task_id"))
    & (_TABLE.c.map_index == bindparam("b_map_index"))
    & (_TABLE.c.key == bindparam("b_key"))
)
_VALUE = Direct(select(_TABLE.c.value).where(_AT_ADDRESS))
_TASK_INSTANCES = cast(Table, TaskInstanceRecord.__table__)
_VALUE_WHILE_RUNNING = Direct(
    select(_TABLE.c.value)
    .select_from(_TASK_INSTANCES.join(_TABLE, _AT_ADDRESS & (_TABLE.c.dag_id == _TASK_INSTANCES.c.dag_id)))
    .where(RUNNING_ATTEMPT)
)
"""An XCom of the caller's DAG, read while the caller's attempt runs."""
_OWN_WHILE_RUNNING = (
    RUNNING_ATTEMPT
    & (_TASK_INSTANCES.c.dag_id == bindparam("o_dag_id"))
    & (_TASK_INSTANCES.c.run_id == bindparam("o_run_id"))
    & (_TASK_INSTANCES.c.task_id == bindparam("o_task_id"))
    & (_TASK_INSTANCES.c.map_index == bindparam("o_map_index"))
)
"""The caller's attempt runs and the address is its own task instance's."""
_DELETE = Direct(delete(_TABLE).where(_AT_ADDRESS))
"""A task's statements, built once and run on the request's connection (Core: no ORM compile)."""


def _at(address: XComAddress) -> dict[str, Any]:
    return {
        "b_dag_id": address.dag_id,
        "b_run_id": address.run_id,
        "b_task_id": address.task_id,
        "b_map_index": address.map_index,
        "b_key": address.key,
    }


async def push_xcom(
    reader: Reader, attempt: Attempt, address: XComAddress, value: Any, *, max_bytes: int
) -> None:
    """Store (or replace) one of the caller's XComs; 413 above the size limit."""
    _check_owner(attempt, address)
    values = _stored(attempt.id, address, value, max_bytes)
    with refused_once_gone():
        await upsert(reader, XComRecord, values, _ADDRESS_COLUMNS)
    await reader.commit()


_ADDRESS_COLUMNS = ("dag_id", "run_id", "task_id", "map_index", "key")


def _stored(task_instance_id: uuid.UUID, address: XComAddress, value: Any, max_bytes: int) -> dict[str, Any]:
    encoded = json.dumps(value, separators=(",", ":"))
    if len(encoded.encode()) > max_bytes:
        raise PayloadTooLargeError(
            f"the XCom value is {len(encoded.encode())} bytes encoded; the limit is {max_bytes}",
            reason="xcom_too_large",
        )
    return {
        "dag_id": address.dag_id,
        "run_id": address.run_id,
        "task_id": address.task_id,
        "map_index": address.map_index,
        "key": address.key,
        "value": encoded,
        "task_instance_id": task_instance_id,
        "updated_at": utcnow(),
    }


async def push_xcom_for_task(
    reader: Reader, check: AttemptCheck, address: XComAddress, value: Any, *, max_bytes: int
) -> None:
    """:func:`push_xcom` for the caller's running attempt: one statement that checks the attempt and
    the address too; anything but a success takes the general path."""
    guard = check.params()
    guard.update(
        o_dag_id=address.dag_id,
        o_run_id=address.run_id,
        o_task_id=address.task_id,
        o_map_index=address.map_index,
    )
    try:
        values: dict[str, Any] | None = _stored(check.claims.task_instance_id, address, value, max_bytes)
    except PayloadTooLargeError:
        values = None  # refused after the attempt's and the owner's checks, as on the general path
    if values is not None:
        with refused_once_gone():
            written = await upsert(
                reader, XComRecord, values, _ADDRESS_COLUMNS, when=_OWN_WHILE_RUNNING, when_params=guard
            )
        if written:
            check.running()
            await reader.commit()
            return
    await push_xcom(reader, await check.load(reader), address, value, max_bytes=max_bytes)


async def pull_xcom(reader: Reader, attempt: Attempt, address: XComAddress) -> Any:
    """The value of an XCom of the caller's DAG."""
    if address.dag_id != attempt.dag_id:
        raise ForbiddenError(
            f"a task reads XComs of its own DAG ({attempt.dag_id!r}) only", reason="xcom_outside_dag"
        )
    raw = await _VALUE.scalar(await connection_of(reader), _at(address))
    if raw is None:
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
    return json.loads(raw)


async def pull_xcom_for_task(reader: Reader, check: AttemptCheck, address: XComAddress) -> Any:
    """:func:`pull_xcom` for the caller's running attempt, checked in the same statement."""
    raw = await _VALUE_WHILE_RUNNING.scalar(await connection_of(reader), {**_at(address), **check.params()})
    if raw is None:  # the attempt is over, another DAG's XCom or none: the general path says which
        return await pull_xcom(reader, await check.load(reader), address)
    check.running()
    return json.loads(raw)


async def delete_xcom(reader: Reader, attempt: Attempt, address: XComAddress) -> None:
    """Remove one of the caller's XComs; 404 when there is none."""
    _check_owner(attempt, address)
    deleted = await _DELETE.rowcount(await connection_of(reader), _at(address))
    await reader.commit()
    if deleted == 0:
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
