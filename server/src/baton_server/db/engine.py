"""Engine and session factory for the metadata database, with a bounded connection pool, and what a
request reaches it through (a session, or a task request's bare connection)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
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

_T = TypeVar("_T")


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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

            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        return engine
    kwargs["pool_recycle"] = 1800
    # asyncpg's prepared-statement cache makes the hot path (heartbeats) a single round trip.
    kwargs["connect_args"] = _postgres_connect_args("baton-server")
    return create_async_engine(url, **kwargs)


def create_autocommit_engine(engine: AsyncEngine) -> AsyncEngine:
    """``engine`` with its connections in autocommit (a task request's, the claim watch's), on its pool.

    On SQLite a connection is switched to autocommit once taken from the pool, on the driver's thread:
    a task cancelled while it waits for that (a request given up, the claim watch stopped) would lose
    the connection taken, unreturned, to the garbage collector. There a connection, once being
    connected, connects to the end, and one whose caller was cancelled meanwhile goes back to the pool
    before the cancellation goes on (:class:`_ConnectsToTheEnd`). On PostgreSQL the switch waits for
    nothing.
    """
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    if engine.dialect.name == "sqlite":
        return _ConnectingToTheEnd(autocommit.sync_engine)
    return autocommit


class _ConnectsToTheEnd(AsyncConnection):
    """A connection whose start is not abandoned halfway by a cancellation of its caller."""

    async def start(self, is_ctxmanager: bool = False) -> AsyncConnection:
        """Connect; when the caller is cancelled meanwhile, give the connection back, then go on."""
        try:
            return await _run_to_end(super().start(is_ctxmanager))
        except asyncio.CancelledError:
            if self.sync_connection is not None:
                await _run_to_end(self.close())
            raise


class _ConnectingToTheEnd(AsyncEngine):
    """An engine whose connections are :class:`_ConnectsToTheEnd`."""

    _connection_cls = _ConnectsToTheEnd


async def _run_to_end(work: Coroutine[Any, Any, _T]) -> _T:
    """Await ``work`` to its end in a task of its own, even when the caller is cancelled meanwhile; that
    cancellation is raised once the work has ended."""
    task = asyncio.ensure_future(work)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as error:
            if task.done():  # the work itself was cancelled
                raise
            cancelled = error
        else:
            break
    if cancelled is not None:
        raise cancelled
    return result


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
