"""A connection pool that serves the requests waiting for a connection in the order they came.

SQLAlchemy's asyncio pool keeps its idle connections in an ``asyncio.Queue``. A connection given
back wakes the longest waiter, but any request that asks before that waiter runs takes the
connection first, and the waiter, finding the queue empty again, goes to the back of the line.
Under more concurrent requests than connections, a few requests then wait for seconds while most
wait milliseconds. Here a
connection given back goes straight to the longest waiter, and a newcomer waits behind every
waiter; the wait stays bounded by the pool's timeout (``BATON_DB_POOL_TIMEOUT``), after which
the request is answered 503 with Retry-After, as for any unreachable database.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Generic, TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util.concurrency import await_
from sqlalchemy.util.queue import Empty, Full, QueueCommon

_T = TypeVar("_T")


async def _wait(waiter: asyncio.Future[_T], within: float | None) -> _T:
    async with asyncio.timeout(within):
        return await waiter


class FairQueue(QueueCommon[_T], Generic[_T]):
    """The pool's idle connections; one given back goes to the longest waiter, if any."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[_T] = deque()
        self._waiters: deque[asyncio.Future[_T]] = deque()

    def empty(self) -> bool:
        """Whether no connection is idle."""
        return not self._idle

    def full(self) -> bool:
        """Whether the queue holds as many idle connections as the pool may have."""
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        """How many connections are idle."""
        return len(self._idle)

    def put_nowait(self, item: _T) -> None:
        """Hand ``item`` to the longest waiter, or keep it idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is skipped
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._idle.append(item)

    def put(self, item: _T, block: bool = True, timeout: float | None = None) -> None:
        """As :meth:`put_nowait`: the queue is sized for every connection, so a put never waits."""
        self.put_nowait(item)

    def get_nowait(self) -> _T:
        """An idle connection, or Empty."""
        if not self._idle:
            raise Empty()
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> _T:
        """An idle connection; when none is, wait in line (at most ``timeout`` seconds, then Empty)."""
        if self._idle or not block:
            # A connection is idle only while nobody waits: handing it over never skips a waiter.
            return self.get_nowait()
        waiter: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(_wait(waiter, timeout))
        except TimeoutError:
            self._give_back_if_handed(waiter)
            raise Empty() from None
        except BaseException:  # cancelled: a connection handed over meanwhile must not be lost
            self._give_back_if_handed(waiter)
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _give_back_if_handed(self, waiter: asyncio.Future[_T]) -> None:
        if waiter.done() and not waiter.cancelled():
            self.put_nowait(waiter.result())


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's asyncio pool with :class:`FairQueue`: connections are waited for in turn."""

    _queue_class: Any = FairQueue
