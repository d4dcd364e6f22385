"""Variables: named JSON values shared by every task."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import VariableRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.errors import NotFoundError, PayloadTooLargeError


def _missing(key: str) -> NotFoundError:
    return NotFoundError(f"variable {key!r} does not exist", reason="variable_not_found")


async def get_variable(session: AsyncSession, key: str) -> Any:
    """The JSON value of a variable."""
    raw = await session.scalar(select(VariableRecord.value).where(VariableRecord.key == key))
    if raw is None:
        raise _missing(key)
    return json.loads(raw)


async def get_variable_record(session: AsyncSession, key: str) -> VariableRecord:
    """A variable's stored record (value, description, update time)."""
    record = await session.get(VariableRecord, key)
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


async def set_variable(
    session: AsyncSession, key: str, value: Any, description: str | None = None, *, max_bytes: int
) -> None:
    """Create or replace a variable (its value at most ``max_bytes`` as compact JSON)."""
    values: dict[str, Any] = {
        "key": key,
        "value": encode_value(value, max_bytes=max_bytes),
        "updated_at": utcnow(),
    }
    if description is not None:
        values["description"] = description
    await upsert(session, VariableRecord, values, ["key"])
    await session.commit()


async def delete_variable(session: AsyncSession, key: str) -> None:
    """Remove a variable; 404 when there is none."""
    result = await session.execute(delete(VariableRecord).where(VariableRecord.key == key))
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
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
