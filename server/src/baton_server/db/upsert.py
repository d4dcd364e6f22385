"""INSERT … ON CONFLICT DO UPDATE on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import Base


async def upsert(
    session: AsyncSession, record: type[Base], values: Mapping[str, Any], conflict_columns: Sequence[str]
) -> None:
    """Insert a row, or update every other given column of the row with the same conflict key."""
    dialect = (await session.connection()).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(record).values(**values)
    updates = {name: statement.excluded[name] for name in values if name not in conflict_columns}
    await session.execute(
        statement.on_conflict_do_update(index_elements=list(conflict_columns), set_=updates)
    )
