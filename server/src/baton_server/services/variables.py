"""Variables: named JSON values shared by every task."""

from __future__ import annotations

import json
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import TaskInstanceRecord, VariableRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import ForbiddenError, NotFoundError, PayloadTooLargeError
from baton_server.services._sql import rowcount
from baton_server.services.task_instances import RUNNING_ATTEMPT, AttemptCheck


def _missing(key: str) -> NotFoundError:
    return NotFoundError(f"variable {key!r} does not exist", reason="variable_not_found")


def _granted(dag_ids: list[str] | None, dag_id: str | None) -> bool:
    return dag_id is None or dag_ids is None or dag_id in dag_ids


_TABLE = cast(Table, VariableRecord.__table__)
_TASK_INSTANCES = cast(Table, TaskInstanceRecord.__table__)
_VALUE = Direct(select(_TABLE.c.value, _TABLE.c.read_dag_ids).where(_TABLE.c.key == bindparam("b_key")))
_VALUE_WHILE_RUNNING = Direct(
    select(_TABLE.c.value, _TABLE.c.read_dag_ids, _TASK_INSTANCES.c.dag_id)
    .select_from(_TASK_INSTANCES.join(_TABLE, _TABLE.c.key == bindparam("b_key")))
    .where(RUNNING_ATTEMPT)
)
_GRANTS = Direct(
    select(_TABLE.c.read_dag_ids, _TABLE.c.write_dag_ids).where(_TABLE.c.key == bindparam("b_key"))
)
_DELETE = Direct(delete(_TABLE).where(_TABLE.c.key == bindparam("b_key")))
"""Statements of a task's requests, built once (Core, on the request's connection: no ORM compile)."""


async def get_variable(reader: Reader, key: str, *, dag_id: str | None = None) -> Any:
    """The JSON value of a variable; for a task of ``dag_id``, 403 unless granted to it for reading."""
    row = await _VALUE.first(await connection_of(reader), {"b_key": key})
    if row is None:
        raise _missing(key)
    return _readable_value(row, key, dag_id)


def _readable_value(row: Any, key: str, dag_id: str | None) -> Any:
    if not _granted(row.read_dag_ids, dag_id):
        raise ForbiddenError(
            f"variable {key!r} is not granted to DAG {dag_id!r} for reading", reason="variable_not_granted"
        )
    return json.loads(row.value)


async def get_variable_for_task(reader: Reader, key: str, check: AttemptCheck) -> Any:
    """:func:`get_variable` for the caller's running attempt, checked in the same statement."""
    row = await _VALUE_WHILE_RUNNING.first(await connection_of(reader), {"b_key": key, **check.params()})
    if row is None:  # the attempt is over, or there is no such variable: the general path says which
        attempt = await check.load(reader)
        return await get_variable(reader, key, dag_id=attempt.dag_id)
    check.running()
    return _readable_value(row, key, row.dag_id)


async def _check_writable(reader: Reader, key: str, dag_id: str, *, deleting: bool = False) -> None:
    """403 unless DAG ``dag_id`` may write variable ``key`` (one that does not exist may be written) —
    and, ``deleting`` it, read it too: a variable a task creates is global, so deleting one it may not
    read, then creating it again, would open to every DAG what an operator granted to others (and what
    they write there next)."""
    grants = await _GRANTS.first(await connection_of(reader), {"b_key": key})
    if grants is None:
        return
    if not _granted(grants.write_dag_ids, dag_id):
        raise ForbiddenError(
            f"variable {key!r} is not granted to DAG {dag_id!r} for writing", reason="variable_not_writable"
        )
    if deleting and not _granted(grants.read_dag_ids, dag_id):
        raise ForbiddenError(
            f"variable {key!r} is not granted to DAG {dag_id!r} for reading, so it may not delete it",
            reason="variable_not_writable",
        )


async def set_grants(
    session: AsyncSession, key: str, *, read_dag_ids: list[str] | None, write_dag_ids: list[str] | None
) -> VariableRecord:
    """Grant a variable to DAGs for reading and writing (None: every DAG); 404 when there is none."""
    result = await session.execute(
        update(VariableRecord)
        .where(VariableRecord.key == key)
        .values(read_dag_ids=read_dag_ids, write_dag_ids=write_dag_ids, updated_at=utcnow())
    )
    if rowcount(result) == 0:
        await session.rollback()
        raise _missing(key)
    # Read before the commit: a delete that comes right after cannot turn the answer into a 404.
    record = await get_variable_record(session, key)
    await session.commit()
    return record


async def get_variable_record(session: AsyncSession, key: str) -> VariableRecord:
    """A variable's stored record (value, description, update time)."""
    record = await session.get(VariableRecord, key, populate_existing=True)
    if record is None:
        raise _missing(key)
    return record


def encode_value(value: Any, *, max_bytes: int) -> str:
    """A variable's value as stored: compact JSON; 413 ``variable_too_large`` above ``max_bytes`` in UTF-8."""
    encoded = json.dumps(value, separators=(",", ":"))
    size = len(encoded.encode())
    if size > max_bytes:
        raise PayloadTooLargeError(
            f"the variable's value is {size} bytes as JSON; the limit (BATON_VARIABLE_MAX_BYTES) is "
            f"{max_bytes}",
            reason="variable_too_large",
        )
    return encoded


def _stored(key: str, value: Any, description: str | None, max_bytes: int) -> dict[str, Any]:
    values: dict[str, Any] = {
        "key": key,
        "value": encode_value(value, max_bytes=max_bytes),
        "updated_at": utcnow(),
    }
    if description is not None:
        values["description"] = description
    return values


async def set_variable(
    reader: Reader, key: str, value: Any, description: str | None, *, max_bytes: int, dag_id: str
) -> None:
    """Create or replace a variable for a task of ``dag_id`` (its value at most ``max_bytes`` as compact
    JSON; an admin's write is :func:`put_variable`).

    403 when the variable exists and is not granted to the DAG for writing; a variable a task creates
    is global, as every variable was before grants.
    """
    values = _stored(key, value, description, max_bytes)
    # One statement for a new or global variable (no write grants): the row is replaced only while it
    # has none; one with grants is checked, then written.
    if not await upsert(reader, VariableRecord, values, ["key"], while_null="write_dag_ids"):
        await _check_writable(reader, key, dag_id)
        await upsert(reader, VariableRecord, values, ["key"])
    await reader.commit()


async def put_variable(
    session: AsyncSession, key: str, value: Any, description: str | None, *, max_bytes: int
) -> VariableRecord:
    """Create or replace a variable as an admin; the record as written, read in the same transaction
    (a delete that comes right after cannot turn the answer into a 404)."""
    await upsert(session, VariableRecord, _stored(key, value, description, max_bytes), ["key"])
    record = await get_variable_record(session, key)
    await session.commit()
    return record


async def set_variable_for_task(
    reader: Reader,
    key: str,
    value: Any,
    description: str | None,
    *,
    max_bytes: int,
    check: AttemptCheck,
) -> None:
    """:func:`set_variable` for the caller's running attempt: a new or global variable is written by
    one statement that checks the attempt too; anything else takes the general path."""
    guard = check.params()
    try:
        values: dict[str, Any] | None = _stored(key, value, description, max_bytes)
    except PayloadTooLargeError:
        values = None  # refused after the attempt's check, as on the general path
    if values is not None and await upsert(
        reader,
        VariableRecord,
        values,
        ["key"],
        while_null="write_dag_ids",
        when=RUNNING_ATTEMPT,
        when_params=guard,
    ):
        check.running()
        await reader.commit()
        return
    attempt = await check.load(reader)
    await set_variable(reader, key, value, description, max_bytes=max_bytes, dag_id=attempt.dag_id)


async def delete_variable(reader: Reader, key: str, *, dag_id: str | None = None) -> None:
    """Remove a variable; 404 when there is none; for a task of ``dag_id``, 403 unless it may write it
    and read it."""
    if dag_id is not None:
        await _check_writable(reader, key, dag_id, deleting=True)
    deleted = await _DELETE.rowcount(await connection_of(reader), {"b_key": key})
    await reader.commit()
    if deleted == 0:
        raise _missing(key)


async def list_variables(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[list[VariableRecord], int]:
    """A page of variables ordered by key, and how many there are."""
    total = await session.scalar(select(func.count()).select_from(VariableRecord)) or 0
    rows = await session.scalars(
        select(VariableRecord).order_by(VariableRecord.key).limit(limit).offset(offset)
    )
    return list(rows.all()), int(total)


def decode_value(record: VariableRecord) -> Any:
    """A stored variable's JSON value."""
    return json.loads(record.value)
