"""Small SQL helpers that read the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from baton_server.db.engine import Reader
from baton_server.db.tables import Base


def dialect_name(reader: Reader) -> str:
    """``postgresql`` or ``sqlite``."""
    return (reader if isinstance(reader, AsyncConnection) else reader.get_bind()).dialect.name


def is_postgres(reader: Reader) -> bool:
    """Whether the session or connection talks to PostgreSQL."""
    return dialect_name(reader) == "postgresql"


def insert_ignoring_conflicts(
    reader: Reader, table: type[Base] | Table, rows: Mapping[str, Any] | list[dict[str, Any]]
) -> Insert:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the session's or connection's dialect."""
    if is_postgres(reader):
        return postgresql.insert(table).values(rows).on_conflict_do_nothing()
    return sqlite.insert(table).values(rows).on_conflict_do_nothing()


def upsert_touching(
    session: AsyncSession,
    table: type[Base],
    row: Mapping[str, Any],
    keys: Iterable[str],
    touch: Mapping[str, Any],
) -> Insert:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET touch``: creates the row or locks the existing one."""
    if is_postgres(session):
        pg = postgresql.insert(table).values(dict(row))
        return pg.on_conflict_do_update(index_elements=list(keys), set_=dict(touch))
    lite = sqlite.insert(table).values(dict(row))
    return lite.on_conflict_do_update(index_elements=list(keys), set_=dict(touch))


def rowcount(result: Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE."""
    assert isinstance(result, CursorResult)
    return result.rowcount
