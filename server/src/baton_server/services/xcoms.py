"""XComs: JSON values tasks push for other tasks of the same DAG to pull.

A task writes (pushes, deletes) only its own XComs — the address must be its own DAG, run,
task and map index — and reads only within its own DAG.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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


def _where(address: XComAddress) -> Any:
    return (
        (XComRecord.dag_id == address.dag_id)
        & (XComRecord.run_id == address.run_id)
        & (XComRecord.task_id == address.task_id)
        & (XComRecord.map_index == address.map_index)
        & (XComRecord.key == address.key)
    )


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
    raw = await session.scalar(select(XComRecord.value).where(_where(address)))
    if raw is None:
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
    return json.loads(raw)


async def delete_xcom(session: AsyncSession, attempt: Attempt, address: XComAddress) -> None:
    """Remove one of the caller's XComs; 404 when there is none."""
    _check_owner(attempt, address)
    result = await session.execute(delete(XComRecord).where(_where(address)))
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFoundError(f"no XCom at {address.describe()}", reason="xcom_not_found")
