"""Prebuilt Core statements run straight on PostgreSQL's driver: the statements of a task's requests.

SQLAlchemy's execution of a statement (a greenlet switch, the DBAPI cursor adaptation, the result's
metadata) costs twice what asyncpg spends on the statement itself: 0.21 ms against 0.07 ms of CPU
for the read of an attempt on an idle machine. So on the request paths that run most — a
heartbeat, an attempt's start and end, variables, connections and XComs read and written (each in
one statement that checks the attempt too), log batches — a :class:`Direct` statement skips that
layer where it safely can:

- on PostgreSQL, on a connection in autocommit (a task request's session; one statement is then its
  own transaction, as it is through SQLAlchemy), it is compiled once by SQLAlchemy for the dialect
  and run with asyncpg's prepared-statement cache, its parameters and results passed through the
  same type processors SQLAlchemy applies (a column's Python-side ``onupdate``/``default`` too);
- anywhere else (SQLite, a connection inside SQLAlchemy's transaction) it runs through SQLAlchemy as
  usual.

Statements that must commit together (a claim's) take :func:`transaction`: on PostgreSQL a
transaction of the driver's own on a connection in autocommit, inside which direct statements still
run on the driver (and SQLAlchemy's, in autocommit, run in it too).

The answers are the same either way (``tests/unit/test_direct.py`` compares every direct statement
of the services with SQLAlchemy's execution of it on PostgreSQL). An error from the driver is
asyncpg's own rather than SQLAlchemy's wrapper, so a statement whose caller catches
``IntegrityError`` and the like is not one for this path; a connection that dropped invalidates the
pooled connection, as SQLAlchemy would (:func:`baton_server.db.availability.is_database_unavailable`
knows the driver's errors).
"""

from __future__ import annotations

import contextlib
from collections import namedtuple
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Delete, Insert, Select, Update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler

from baton_server.db.availability import is_database_unavailable

Processor = Callable[[Any], Any]
Statement = Select[*tuple[Any, ...]] | Insert | Update | Delete


@dataclass(frozen=True, slots=True)
class _Parameter:
    """Where a positional parameter's value comes from, and how it is converted for the driver."""

    key: str | None  # the caller's parameter (required, or overriding ``fixed``); None: ``default``
    required: bool
    fixed: Any
    default: Callable[[], Any] | None
    process: Processor | None

    def value(self, params: Mapping[str, Any]) -> Any:
        if self.required:
            value = params[self.key]  # type: ignore[index]
        elif self.default is not None:
            value = self.default()
        else:
            value = params.get(self.key, self.fixed)  # type: ignore[arg-type]
        return value if self.process is None else self.process(value)


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled for asyncpg: its text, its parameters in order, its rows' shape."""

    sql: str
    parameters: tuple[_Parameter, ...]
    row: Callable[..., tuple[Any, ...]] | None
    results: tuple[Processor | None, ...]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [parameter.value(params) for parameter in self.parameters]

    def make_row(self, record: Any) -> tuple[Any, ...]:
        assert self.row is not None
        values = zip(record, self.results, strict=True)
        return self.row(*(value if process is None else process(value) for value, process in values))


def _default(column: Column[Any], update: bool) -> Callable[[], Any]:
    generator = column.onupdate if update else column.default
    arg = getattr(generator, "arg", None)
    if getattr(generator, "is_callable", False):
        assert callable(arg)
        return lambda: arg(None)  # SQLAlchemy wraps a zero-argument default to take the context
    if getattr(generator, "is_scalar", False):
        return lambda: arg
    raise ValueError(f"column {column.name}'s default is not computed in Python: not a direct statement")


def _plan(statement: Statement, dialect: Dialect) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params or compiled.positiontup is None:
        raise ValueError("a statement with expanding or literal-execute parameters is not a direct statement")
    binds = {name: bind for bind, name in compiled.bind_names.items()}
    # A column computed in Python (``default=``/``onupdate=``) is a parameter named after its key.
    defaults = {
        column.key: (column, update)
        for update, columns in ((False, compiled.insert_prefetch), (True, compiled.update_prefetch))
        for column in columns
    }
    # Only a tuple-valued type has a sequence of processors; no statement here binds one.
    processors = cast(Mapping[str, Processor], compiled._bind_processors)
    parameters = []
    for name in compiled.positiontup:
        process = processors.get(name)
        if name in defaults:
            parameters.append(_Parameter(None, False, None, _default(*defaults[name]), process))
            continue
        bind = binds[name]
        if bind.expanding or bind.callable is not None:
            raise ValueError(f"parameter {name} is computed at execution: not a direct statement")
        parameters.append(_Parameter(bind.key, bool(bind.required), bind.value, None, process))
    columns = compiled._result_columns
    row = namedtuple("DirectRow", [c.keyname for c in columns], rename=True) if columns else None
    results = tuple(c.type._cached_result_processor(dialect, None) for c in columns)
    return _Plan(compiled.string, tuple(parameters), row, results)


async def _driver(conn: AsyncConnection) -> Any | None:
    """The asyncpg connection under ``conn`` when a direct statement may run on it, else None."""
    if conn.dialect.name != "postgresql":
        return None
    sync = conn.sync_connection
    # A live connection is at hand without a greenlet switch; an invalidated one reconnects (I/O).
    raw = sync.connection if sync is not None and not sync.invalidated else await conn.get_raw_connection()
    adapted = raw.dbapi_connection
    if adapted is None or not getattr(adapted, "autocommit", False):
        return None
    return raw.driver_connection


_BEGIN_WITH_GENERIC_PLANS = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan"
"""A transaction whose prepared statements run their generic plans: one round trip, as ``BEGIN`` is."""


@contextlib.asynccontextmanager
async def transaction_on(conn: AsyncConnection, *, generic_plans: bool = False) -> AsyncIterator[None]:
    """A transaction on ``conn``, a connection in autocommit (a request's), committed when the block
    ends without an error; a ``commit()`` inside the block is harmless.

    On PostgreSQL it is the driver's own, so the direct statements in it still run on the driver (and
    SQLAlchemy's, in autocommit, run in it too); a connection still in it afterwards (its rollback
    failed) is invalidated, not given back to the pool. Elsewhere the connection is switched to the
    engine's own isolation (the pool resets it on return) and SQLAlchemy begins and commits.

    With ``generic_plans``, on PostgreSQL its prepared statements run their generic plans, planned once
    per connection: where PostgreSQL estimates a custom plan cheaper it plans the statement again on
    every execution, which for a short statement costs more than running it. Only for statements whose
    generic plans read what their custom ones do (``tests/unit/test_claim_reads.py`` checks a claim's).
    """
    driver = await _driver(conn)
    if driver is None:
        await conn.commit()  # what SQLAlchemy began around the autocommitted statements
        await conn.execution_options(isolation_level=conn.default_isolation_level)
        async with conn.begin():
            yield
        return
    try:
        if not generic_plans:
            async with driver.transaction():
                yield
            return
        await driver.execute(_BEGIN_WITH_GENERIC_PLANS)
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):  # a connection that failed is invalidated below
                await driver.execute("ROLLBACK")
            raise
        await driver.execute("COMMIT")
    finally:
        if driver.is_in_transaction():
            await conn.invalidate()


@contextlib.asynccontextmanager
async def transaction(
    autocommit: AsyncEngine, *, generic_plans: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A pooled connection of ``autocommit`` (the engine in autocommit) in a transaction
    (:func:`transaction_on`)."""
    async with autocommit.connect() as conn, transaction_on(conn, generic_plans=generic_plans):
        yield conn


class Direct:
    """A Core statement built once, run on asyncpg directly where that is safe (see the module)."""

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self._plans: dict[int, _Plan] = {}

    def _plan_for(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(id(dialect))
        if plan is None:
            plan = self._plans[id(dialect)] = _plan(self.statement, dialect)
        return plan

    @staticmethod
    async def _call(conn: AsyncConnection, driver: Any, method: str, *args: Any) -> Any:
        try:
            return await getattr(driver, method)(*args)
        except Exception as exc:
            if is_database_unavailable(exc):
                # Outside SQLAlchemy, nobody else notices that the connection died: drop it from the pool.
                await conn.invalidate(exc)
            raise

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any | None:
        """The first row (attribute access by column name), or None."""
        driver = await _driver(conn)
        if driver is None:
            return (await conn.execute(self.statement, params)).first()
        plan = self._plan_for(conn.dialect)
        record = await self._call(conn, driver, "fetchrow", plan.sql, *plan.arguments(params))
        return None if record is None else plan.make_row(record)

    async def all(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
        """Every row (attribute access by column name)."""
        driver = await _driver(conn)
        if driver is None:
            return list((await conn.execute(self.statement, params)).all())
        plan = self._plan_for(conn.dialect)
        records = await self._call(conn, driver, "fetch", plan.sql, *plan.arguments(params))
        return [plan.make_row(record) for record in records]

    async def scalar(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        row = await self.first(conn, params)
        return None if row is None else row[0]

    async def rowcount(self, conn: AsyncConnection, params: Mapping[str, Any]) -> int:
        """Run a statement that returns no rows; how many rows it matched."""
        driver = await _driver(conn)
        if driver is None:
            return int((await conn.execute(self.statement, params)).rowcount)
        plan = self._plan_for(conn.dialect)
        status: str = await self._call(conn, driver, "execute", plan.sql, *plan.arguments(params))
        return int(status.rsplit(" ", 1)[-1])

    async def executemany(self, conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement that returns no rows once per parameter set: all or none of them (one round
        trip on asyncpg, whose ``executemany`` is atomic; SQLAlchemy's execution of a list elsewhere)."""
        driver = await _driver(conn)
        if driver is None:
            await conn.execute(self.statement, list(rows))
            return
        plan = self._plan_for(conn.dialect)
        await self._call(conn, driver, "executemany", plan.sql, [plan.arguments(row) for row in rows])


__all__ = ["Direct", "transaction", "transaction_on"]
