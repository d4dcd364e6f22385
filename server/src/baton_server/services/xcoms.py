"""XComs: JSON values tasks push for other tasks of the same DAG to pull.

A task writes (pushes, deletes) only its own XComs — the address must be its own DAG, run,
task and map index — and reads only within its own DAG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.direct import Direct
from baton_server.db.tables import XComRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import ForbiddenError, NotFoundError, PayloadTooLargeError
from baton_server.services.task_instances import Attempt


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
_DELETE = Direct(delete(_TABLE).where(_AT_ADDRESS))
"""A task's statements, built once and run on the session's connection (Core: no ORM compile)."""


def _at(address: XComAddress) -> dict[str, Any]:
    return {
        "b_dag_id": address.dag_id,
        "b_run_id": address.run_id,
        "b_task_id": address.task_id,
        "b_map_index": address.map_index,
        "b_key": address.key,
    }


async def push_xcom(
    session: AsyncSession, attempt: Attempt, address: XComAddress, value: Any, *, max_bytes: int
) -> None:
    """Store (or replace) one of the caller's XComs; 413 above the size limit."""
    _check_owner(attempt, address)
    encoded = json.dumps(value, separators=(",", ":"))
    if len(encoded.encode()) > max_bytes:
        raise PayloadTooLargeError(
            f"the XCom value is {len(encoded.encode())} bytes encoded; the limit is {max_bytes}",
            reason="xcom_too_large",
        )
    values = {
        "dag_id": address.dag_id,
        "run_id": address.run_id,
        "task_id": address.task_id,
        "map_index": address.map_index,
        "key": address.key,
        "value": encoded,
        "task_instance_id": attempt.id,
        "updated_at": utcnow(),
    }
    await upsert(session, XComRecord, values, ["dag_id", "run_id", "task_id", "map_index", "key"])
    await session.commit()


async def pull_xcom(session: AsyncSession, attempt: Attempt, address: XComAddress) -> Any:
    """The value of an XCom of the caller's DAG."""
    if address.dag_id != attempt.dag_id:
        raise ForbiddenError(
            f"a task reads XComs of its own DAG ({attempt.dag_id!r}) only", reason="xcom_outside_dag"
        )
    conn = await session.connection()
    raw = await _VALUE.scalar(conn, _at(address))
    if raw is None:
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
    return json.loads(raw)


async def delete_xcom(session: AsyncSession, attempt: Attempt, address: XComAddress) -> None:
    """Remove one of the caller's XComs; 404 when there is none."""
    _check_owner(attempt, address)
    conn = await session.connection()
    deleted = await _DELETE.rowcount(conn, _at(address))
    await session.commit()
    if deleted == 0:
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
