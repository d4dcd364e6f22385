"""Engine and session factory for the metadata database, with a bounded connection pool, and what a
request reaches it through (a session, or a task request's bare connection)."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection, IsolationLevel
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from baton_server.config import Settings
from baton_server.db.pool import FairAsyncQueuePool
from baton_server.errors import ConfigurationError


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _jsonb_int(text: str) -> int | float:
    """A JSONB document's integer as read back. JSONB keeps a number as a decimal and writes it without
    an exponent, so a float such as 1e308 came back as an integer of 309 digits; the input contract
    stores no integer past 64 bits, so such an integer was a float."""
    value = int(text)
    return value if -(2**63) <= value < 2**63 else float(text)


_read_jsonb = functools.partial(json.loads, parse_int=_jsonb_int)
"""How the engine reads a JSONB document on PostgreSQL (a run's conf, log fields, a DAG's description)."""


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the async engine; the pool never opens more than ``db_pool_size`` connections, and
    requests waiting for one are served in the order they came (:mod:`baton_server.db.pool`)."""
    url = make_url(settings.effective_database_url)
    kwargs: dict[str, Any] = {
        "poolclass": FairAsyncQueuePool,
        "pool_size": settings.db_pool_size,
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout,
        "pool_pre_ping": False,
    }
    if url.drivername.startswith("sqlite"):
        if url.database and url.database != ":memory:":
            from pathlib import Path

            folder = Path(url.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(
                    f"BATON_DATABASE_URL: cannot create the database's folder {folder}: "
                    f"{exc.strerror or exc}",
                    setting="BATON_DATABASE_URL",
                ) from None
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        switch = engine.dialect.set_isolation_level
        engine.dialect.set_isolation_level = _switching_to_the_end(switch)  # type: ignore[method-assign, assignment]
        return engine
    kwargs["pool_recycle"] = 1800
    kwargs["json_deserializer"] = _read_jsonb
    # asyncpg's prepared-statement cache makes the hot path (heartbeats) a single round trip.
    kwargs["connect_args"] = _postgres_connect_args("baton-server")
    return create_async_engine(url, **kwargs)


_Switch = Callable[[DBAPIConnection, IsolationLevel], None]
"""A dialect's ``set_isolation_level``."""


def _switching_to_the_end(switch: _Switch) -> _Switch:
    """SQLite's switch of a pooled connection's isolation level (to autocommit for a task request, back
    when it is given back), run to its end even when the task is cancelled meanwhile.

    On aiosqlite the switch waits for the driver's thread, inside SQLAlchemy's construction of the
    connection: a cancellation there (a request given up, the claim watch stopped) would end that halfway
    and lose the pooled connection taken to the garbage collector. The cancellation is taken back while
    the switch is done again (it sets a value: twice is harmless), then made again, to land at the task's
    next wait, when the connection is its caller's to give back.
    """

    def set_isolation_level(dbapi_connection: DBAPIConnection, level: IsolationLevel) -> None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no event loop: nothing to cancel
            task = None
        if task is None:
            switch(dbapi_connection, level)
            return
        cancelled = 0
        while True:
            try:
                switch(dbapi_connection, level)
                break
            except asyncio.CancelledError:
                task.uncancel()
                cancelled += 1
        for _ in range(cancelled):
            task.cancel()

    return set_isolation_level


def _postgres_connect_args(application_name: str) -> dict[str, Any]:
    return {"timeout": 10, "server_settings": {"application_name": application_name}}


def create_unpooled_engine(settings: Settings, application_name: str) -> AsyncEngine:
    """A PostgreSQL engine that opens a connection of its own on every connect, named in
    ``pg_stat_activity``: for a long-lived connection outside the pool (the wake-up relay's)."""
    return create_async_engine(
        make_url(settings.effective_database_url),
        poolclass=NullPool,
        connect_args=_postgres_connect_args(application_name),
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so handlers can answer from them."""
    return async_sessionmaker(engine, expire_on_commit=False)


Reader = AsyncSession | AsyncConnection
"""What a service reads or writes with: a request's session, or a task request's bare connection."""


async def connection_of(reader: Reader) -> AsyncConnection:
    """The connection to run Core statements on: the bare connection itself, or the session's."""
    return reader if isinstance(reader, AsyncConnection) else await reader.connection()


async def check_database(engine: AsyncEngine, *, within: float = 15.0) -> None:
    """Connect once, or raise a ConfigurationError that names BATON_DATABASE_URL."""
    safe_url = engine.url.render_as_string(hide_password=True)
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        raise ConfigurationError(
            f"BATON_DATABASE_URL: no answer from {safe_url} within {within:.0f} s",
            setting="BATON_DATABASE_URL",
        ) from None
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigurationError(
            f"BATON_DATABASE_URL: cannot connect to {safe_url}: {reason}", setting="BATON_DATABASE_URL"
        ) from None
