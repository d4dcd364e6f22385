"""Connections: where and how tasks reach external systems; secrets encrypted at rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import ConnectionRecord, TaskInstanceRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import ForbiddenError, NotFoundError
from baton_server.services.cipher import SecretCipher
from baton_server.services.task_instances import RUNNING_ATTEMPT, AttemptCheck


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection with its secrets decrypted."""

    conn_id: str
    conn_type: str
    host: str | None
    port: int | None
    login: str | None
    password: str | None
    schema: str | None
    extra: dict[str, Any] | None
    allowed_dag_ids: list[str] | None
    description: str | None


def _missing(conn_id: str) -> NotFoundError:
    return NotFoundError(f"connection {conn_id!r} does not exist", reason="connection_not_found")


def _decrypt(record: ConnectionRecord | Row[Any], cipher: SecretCipher) -> Connection:
    what = f"a secret of connection {record.conn_id!r}"
    extra = cipher.decrypt(record.extra_encrypted, what=what)
    return Connection(
        conn_id=record.conn_id,
        conn_type=record.conn_type,
        host=record.host,
        port=record.port,
        login=record.login,
        password=cipher.decrypt(record.password_encrypted, what=what),
        schema=record.schema_name,
        extra=None if extra is None else json.loads(extra),
        allowed_dag_ids=record.allowed_dag_ids,
        description=record.description,
    )


async def get_connection(session: AsyncSession, cipher: SecretCipher, conn_id: str) -> Connection:
    """A connection with its secrets, for an operator."""
    record = await session.get(ConnectionRecord, conn_id)
    if record is None:
        raise _missing(conn_id)
    return _decrypt(record, cipher)


_TABLE = cast(Table, ConnectionRecord.__table__)
_FOR_TASK = Direct(select(_TABLE).where(_TABLE.c.conn_id == bindparam("b_conn_id")))
_TASK_INSTANCES = cast(Table, TaskInstanceRecord.__table__)
_FOR_RUNNING_TASK = Direct(
    select(_TABLE, _TASK_INSTANCES.c.dag_id.label("attempt_dag_id"))
    .select_from(_TASK_INSTANCES.join(_TABLE, _TABLE.c.conn_id == bindparam("b_conn_id")))
    .where(RUNNING_ATTEMPT)
)
"""A connection with the caller's DAG, while the caller's attempt runs."""


async def get_connection_for_dag(
    reader: Reader, cipher: SecretCipher, conn_id: str, dag_id: str
) -> Connection:
    """A connection for a task of ``dag_id``; 403 when the connection is limited to other DAGs."""
    # Core, built once: a task's read needs no ORM identity map
    record = await _FOR_TASK.first(await connection_of(reader), {"b_conn_id": conn_id})
    if record is None:
        raise _missing(conn_id)
    return _granted(record, cipher, conn_id, dag_id)


def _granted(record: Any, cipher: SecretCipher, conn_id: str, dag_id: str) -> Connection:
    if record.allowed_dag_ids is not None and dag_id not in record.allowed_dag_ids:
        raise ForbiddenError(
            f"connection {conn_id!r} is not granted to DAG {dag_id!r}", reason="connection_not_granted"
        )
    return _decrypt(record, cipher)


async def get_connection_for_task(
    reader: Reader, cipher: SecretCipher, conn_id: str, check: AttemptCheck
) -> Connection:
    """:func:`get_connection_for_dag` for the caller's running attempt, checked in the same statement."""
    conn = await connection_of(reader)
    record = await _FOR_RUNNING_TASK.first(conn, {"b_conn_id": conn_id, **check.params()})
    if record is None:  # the attempt is over, or there is no such connection: the general path says which
        attempt = await check.load(reader)
        return await get_connection_for_dag(reader, cipher, conn_id, attempt.dag_id)
    check.running()
    return _granted(record, cipher, conn_id, record.attempt_dag_id)


async def set_connection(session: AsyncSession, cipher: SecretCipher, connection: Connection) -> None:
    """Create or replace a connection, encrypting its password and extra."""
    values: dict[str, Any] = {
        "conn_id": connection.conn_id,
        "conn_type": connection.conn_type,
        "host": connection.host,
        "port": connection.port,
        "login": connection.login,
        "password_encrypted": cipher.encrypt(connection.password),
        "schema_name": connection.schema,
        "extra_encrypted": cipher.encrypt(None if connection.extra is None else json.dumps(connection.extra)),
        "allowed_dag_ids": connection.allowed_dag_ids,
        "description": connection.description,
        "updated_at": utcnow(),
    }
    await upsert(session, ConnectionRecord, values, ["conn_id"])
    await session.commit()


async def delete_connection(session: AsyncSession, conn_id: str) -> None:
    """Remove a connection; 404 when there is none."""
    result = await session.execute(delete(ConnectionRecord).where(ConnectionRecord.conn_id == conn_id))
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise _missing(conn_id)


async def list_connections(
    session: AsyncSession, cipher: SecretCipher, *, limit: int, offset: int
) -> tuple[list[Connection], int]:
    """A page of connections ordered by id, and how many there are."""
    total = await session.scalar(select(func.count()).select_from(ConnectionRecord)) or 0
    rows = await session.scalars(
        select(ConnectionRecord).order_by(ConnectionRecord.conn_id).limit(limit).offset(offset)
    )
    return [_decrypt(r, cipher) for r in rows.all()], int(total)
