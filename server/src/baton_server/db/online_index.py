"""Indexes that a migration adds to a table in use, built without holding its writes.

A plain ``CREATE INDEX`` on PostgreSQL holds every write to its table (heartbeats, claims, state
changes) until the index is built: minutes on a large ``task_instances``, long enough for running
attempts to miss their heartbeats while a replica migrates at start. ``CREATE INDEX CONCURRENTLY``
lets writes go on; it cannot run inside a transaction, so it runs in an autocommit block of the
migration (each migration is a transaction of its own, ``migrations/env.py``).

A concurrent build that fails or is stopped leaves an invalid index behind, which PostgreSQL keeps
up to date but never reads; running the migration again drops it and builds it anew. An index a
previous run built whole (the migration stopped before its revision was stamped) is kept.

An index a migration retires is dropped ``CONCURRENTLY`` alike: a plain ``DROP INDEX`` waits for
every transaction reading its table and holds the table's reads and writes meanwhile.

What such a migration changed before its build is committed when the build starts (on PostgreSQL), so
a run stopped during the build has left it: the migration adds a table or column only if it is not
there yet (:func:`has_table`, :func:`has_column`), and goes on from where that run stopped.

On SQLite the index is built (or dropped) in the migrations' transaction, as any other; a stopped run
is undone whole there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

_STATE_OF_AN_INDEX = sa.text(
    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = :name AND c.relnamespace = to_regnamespace(current_schema())"
)


@contextlib.contextmanager
def _waiting_as_long_as_it_takes() -> Iterator[None]:
    """No lock timeout for an online build or drop (autocommit, PostgreSQL): it waits for the transactions
    open when it starts, by design, and holds no writes meanwhile; the migration's own timeout
    (``migrate.LOCK_TIMEOUT_SECONDS``) is for statements that do."""
    bind = op.get_bind()
    before = bind.execute(sa.text("SHOW lock_timeout")).scalar()
    bind.execute(sa.text("SET lock_timeout = 0"))
    try:
        yield
    finally:
        bind.execute(sa.text("SELECT set_config('lock_timeout', :v, false)"), {"v": before})


def has_table(table: str) -> bool:
    """Whether the database has ``table`` already (a stopped run of the migration created it)."""
    return bool(sa.inspect(op.get_bind()).has_table(table))


def has_column(table: str, column: str) -> bool:
    """Whether ``table`` has ``column`` already (a stopped run of the migration added it)."""
    return any(found["name"] == column for found in sa.inspect(op.get_bind()).get_columns(table))


def create_index_online(
    name: str, table: str, columns: Sequence[str], where: str | None = None, *, unique: bool = False
) -> None:
    """Add the index ``name`` on ``table`` (``columns``; partial where ``where``, SQL; ``unique``) without
    holding writes to ``table`` on PostgreSQL; a left-over invalid build of it is replaced, a valid one
    kept."""
    condition = sa.text(where) if where is not None else None
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, list(columns), unique=unique, sqlite_where=condition)
        return
    with op.get_context().autocommit_block(), _waiting_as_long_as_it_takes():
        valid = op.get_bind().execute(_STATE_OF_AN_INDEX, {"name": name}).scalar()
        if valid:
            return
        if valid is not None:
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
        op.create_index(
            name,
            table,
            list(columns),
            unique=unique,
            postgresql_where=condition,
            postgresql_concurrently=True,
        )


def drop_index_online(name: str, table: str) -> None:
    """Drop the index ``name`` of ``table`` without holding reads or writes of ``table`` on PostgreSQL;
    nothing if it is not there (a previous run dropped it before its revision was stamped)."""
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
        return
    with op.get_context().autocommit_block(), _waiting_as_long_as_it_takes():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
