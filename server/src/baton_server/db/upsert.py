"""INSERT … ON CONFLICT DO UPDATE on both SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import Base

_STATEMENTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...], str | None, int], Direct] = {}
"""Built once per dialect, table, columns, conflict key and guard: on a task's request path (an XCom
push, a variable set) constructing the statement cost more than running it."""
_GUARDS: dict[int, ColumnElement[bool]] = {}
"""The guards of the statements built, kept so that their ids stay theirs."""


def _statement(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    conflict: tuple[str, ...],
    while_null: str | None,
    when: ColumnElement[bool] | None,
) -> Direct:
    key = (dialect, table.name, columns, conflict, while_null, id(when))
    statement = _STATEMENTS.get(key)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        params = {name: bindparam(f"u_{name}", type_=table.c[name].type) for name in columns}
        if when is None:
            base = insert(table).values(params)
        else:  # INSERT … SELECT: a row to insert only where the guard holds
            _GUARDS[id(when)] = when
            base = insert(table).from_select(list(columns), select(*params.values()).where(when))
        statement = Direct(
            base.on_conflict_do_update(
                index_elements=list(conflict),
                set_={name: base.excluded[name] for name in columns if name not in conflict},
                where=None if while_null is None else table.c[while_null].is_(None),
            )
        )
        _STATEMENTS[key] = statement
    return statement


async def upsert(
    reader: Reader,
    record: type[Base],
    values: Mapping[str, Any],
    conflict_columns: Sequence[str],
    *,
    while_null: str | None = None,
    when: ColumnElement[bool] | None = None,
    when_params: Mapping[str, Any] | None = None,
) -> int:
    """Insert a row, or update every other given column of the row with the same conflict key; with
    ``while_null``, only while that column of the existing row is NULL; with ``when`` (a condition on
    other tables, its parameters ``when_params``; one object per guard, built once), only where it
    holds — in the same statement. The rows written (0 or 1)."""
    conn = await connection_of(reader)  # Core on the connection: the ORM's per-call compile is not needed
    table = record.__table__
    assert isinstance(table, Table)
    statement = _statement(conn.dialect.name, table, tuple(values), tuple(conflict_columns), while_null, when)
    params = {f"u_{name}": value for name, value in values.items()}
    if when_params:
        params.update(when_params)
    return await statement.rowcount(conn, params)
