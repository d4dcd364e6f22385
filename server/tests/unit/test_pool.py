"""The connection pool serves waiting requests in the order they came, and loses no connection."""

from __future__ import annotations

import asyncio
import gc
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from baton_server.db.engine import create_engine
from baton_server.db.pool import FairAsyncQueuePool, FairQueue
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from tests.conftest import make_settings


@pytest.fixture
async def engine_of_one(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}", tmp_path)
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_pool_timeout": 0.5}))
    assert isinstance(engine.pool, FairAsyncQueuePool)
    yield engine
    await engine.dispose()


def _queue(engine: AsyncEngine) -> FairQueue[object]:
    queue = engine.pool._pool  # type: ignore[attr-defined]
    assert isinstance(queue, FairQueue)
    return queue


async def _waiters(engine: AsyncEngine, count: int) -> None:
    """Until ``count`` requests wait for a connection (the pool has no event to wait on)."""
    async with asyncio.timeout(60):
        while len(_queue(engine)._waiters) != count:  # noqa: ASYNC110 - polls the pool's own state
            await asyncio.sleep(0)


async def _served_in_order(queue: FairQueue[str]) -> list[str]:
    """Three requests wait for the one connection; a fourth asks just as it is given back (its turn on
    the event loop comes before the first waiter's): who got it, in order."""
    served: list[str] = []

    async def use(name: str) -> None:
        item = await greenlet_spawn(queue.get, True, 60)
        served.append(name)
        await asyncio.sleep(0)
        queue.put_nowait(item)

    waiting = []
    for name in ("first", "second", "third"):
        waiting.append(asyncio.create_task(use(name)))
        async with asyncio.timeout(60):
            while not _waiting(queue, len(waiting)):  # noqa: ASYNC110 - the queue has no event
                await asyncio.sleep(0)
    newcomer = asyncio.create_task(use("newcomer"))  # scheduled before the first waiter is woken
    queue.put_nowait("connection")
    async with asyncio.timeout(60):
        await asyncio.gather(*waiting, newcomer)
    return served


def _waiting(queue: FairQueue[str], count: int) -> bool:
    return len(queue._waiters) == count


async def test__waiters_get_the_connection_in_turn_and_a_newcomer_waits_behind_them() -> None:
    assert await _served_in_order(FairQueue(1)) == ["first", "second", "third", "newcomer"]


async def test__a_wait_is_bounded_by_the_pool_timeout(engine_of_one: AsyncEngine) -> None:
    held = await engine_of_one.connect()
    await held.execute(text("SELECT 1"))
    with pytest.raises(exc.TimeoutError):
        await engine_of_one.connect()
    assert not _queue(engine_of_one)._waiters
    await held.close()
    async with engine_of_one.connect() as conn:  # the connection is still there for the next request
        assert await conn.scalar(text("SELECT 1")) == 1


async def test__a_cancelled_waiter_does_not_take_a_connection_with_it(engine_of_one: AsyncEngine) -> None:
    held = await engine_of_one.connect()
    await held.execute(text("SELECT 1"))

    async def take() -> AsyncConnection:
        return await engine_of_one.connect()

    waiter = asyncio.create_task(take())
    await _waiters(engine_of_one, 1)
    await held.close()  # handed over to the waiter, which is cancelled before it runs again
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    async with asyncio.timeout(60), engine_of_one.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1
    assert _queue(engine_of_one).qsize() == 1


async def test__a_request_cancelled_while_its_connection_turns_to_autocommit_gives_it_back(
    engine_of_one: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite the switch to autocommit waits for the driver's thread; the request is cancelled just
    # then (as a request given up, or the claim watch stopped, may be). The connection must go back to
    # the pool, not to the garbage collector, which would drop it with a warning.
    autocommit = engine_of_one.execution_options(isolation_level="AUTOCOMMIT")  # as the runtime's
    async with autocommit.connect() as conn:  # the first connection also sets the dialect up
        await conn.execute(text("SELECT 1"))
    switch = engine_of_one.dialect.set_isolation_level
    requests: list[asyncio.Task[None]] = []

    def cancelled_meanwhile(dbapi_connection: Any, level: str) -> None:
        if level == "AUTOCOMMIT" and requests and not requests[0].cancelling():
            requests[0].cancel()  # delivered at the switch's wait for the driver's thread
        switch(dbapi_connection, level)

    async def request() -> None:
        async with autocommit.connect() as conn:
            await conn.execute(text("SELECT 1"))

    monkeypatch.setattr(engine_of_one.dialect, "set_isolation_level", cancelled_meanwhile)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        requests.append(asyncio.create_task(request()))
        with pytest.raises(asyncio.CancelledError):
            await requests[0]
        gc.collect()
    monkeypatch.undo()
    assert [str(w.message) for w in caught if "non-checked-in" in str(w.message)] == []
    assert requests[0].cancelling() == 1  # counted once, as asyncio.timeout tells its own cancellation
    assert engine_of_one.pool.checkedout() == 0
    assert _queue(engine_of_one).qsize() == 1  # given back, not dropped
    async with asyncio.timeout(60), autocommit.connect() as conn:
        assert await conn.scalar(text("SELECT 1")) == 1
