"""Wake-ups between processes over PostgreSQL's LISTEN/NOTIFY: every server process, replica and
standalone scheduler on one database hears the others' wake-ups.

Without it, a wake-up reaches only its own process: a downstream task queued by one server process
waits for the claim watch of another to look (every ``POLL_INTERVAL``), and a run
triggered through a server whose process runs no scheduler waits for the scheduler's next pass.

Each process keeps one connection of its own (outside the pool, taken from its share of
``db_pool_size``, see :meth:`Runtime.create`) that listens on :data:`CHANNEL` and sends this
process's wake-ups with ``pg_notify``. A wake-up is only a hint to look again — never data — so
sending is coalesced (one message per name however many notifies came while the last one was sent)
and losing one costs at most a poll. When the connection fails the process goes on polling, logs it,
and connects again with backoff; once listening again it wakes its own waiters once, for what it may
have missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from baton_server.wakeups import Wakeups

log = logging.getLogger("baton_server.wakeups")

CHANNEL = "baton_wakeups"
"""The PostgreSQL notification channel; a message is ``"<wake-up name> <sender>"``."""
RETRY_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
"""Seconds before each new attempt to connect after a failure (the last one repeats)."""


class WakeupRelay:
    """Sends this process's wake-ups to the database's other processes and wakes it on theirs."""

    def __init__(self, engine: AsyncEngine, wakeups: Wakeups) -> None:
        self._engine = engine
        self.wakeups = wakeups
        """The process's wake-ups it sends on and wakes."""
        self._sender = uuid.uuid4().hex
        self._pending: set[str] = set()
        self._to_send = asyncio.Event()
        self._failures = 0
        self.listening = asyncio.Event()
        """Set while the relay's connection listens."""

    async def close(self) -> None:
        """Close what the relay's engine still holds (its task is stopped by :func:`relaying`)."""
        await self._engine.dispose()

    def publish(self, name: str) -> None:
        """Send the wake-up ``name`` to the other processes soon; never blocks, never raises."""
        self._pending.add(name)
        self._to_send.set()

    async def run(self) -> None:
        """Listen and send until cancelled, connecting again after every failure."""
        while True:
            try:
                await self._listen_and_send()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the connection: connect again
                self.listening.clear()
                delay = RETRY_DELAYS[min(self._failures, len(RETRY_DELAYS) - 1)]
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                # The first failure in a row is a warning; the retries after it do not repeat it.
                log.log(
                    logging.WARNING if self._failures == 0 else logging.DEBUG,
                    "wake-ups from the other server processes are off (%s): their changes are seen at "
                    "the next look instead; connecting again in %s s",
                    reason,
                    delay,
                )
                self._failures += 1
                await asyncio.sleep(delay)

    def _listening(self) -> None:
        self.listening.set()
        if self._failures:
            log.info("wake-ups from the other server processes are on again")
        self._failures = 0
        # What the others announced while this one did not listen: every waiter looks once more.
        for wakeup in self.wakeups.every:
            wakeup.wake_here()

    async def _listen_and_send(self) -> None:
        """Listen on one connection and send what is published, until the connection fails."""
        async with self._engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            closed = asyncio.Event()
            driver.add_termination_listener(lambda _: closed.set())
            await driver.add_listener(CHANNEL, self._received)
            self._listening()
            while True:
                wanted = asyncio.ensure_future(self._to_send.wait())
                gone = asyncio.ensure_future(closed.wait())
                try:
                    await asyncio.wait({wanted, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wanted.cancel()
                    gone.cancel()
                if closed.is_set() or driver.is_closed():
                    raise ConnectionError("the database closed the connection")
                self._to_send.clear()
                names, self._pending = sorted(self._pending), set()
                try:
                    for name in names:
                        await driver.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{name} {self._sender}")
                except BaseException:
                    self._pending.update(names)  # sent once the connection is back
                    raise

    def _received(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        name, _, sender = payload.partition(" ")
        if sender == self._sender:
            return  # this process woke its own waiters when it notified
        wakeup = self.wakeups.named(name)
        if wakeup is not None:
            wakeup.wake_here()


@contextlib.asynccontextmanager
async def relaying(relay: WakeupRelay | None) -> AsyncIterator[None]:
    """Relay the process's wake-ups through ``relay`` for the duration of the block (None: none)."""
    if relay is None:
        yield
        return
    task = asyncio.create_task(relay.run(), name="baton-wakeup-relay")
    relay.wakeups.relay_to(relay.publish)
    try:
        yield
    finally:
        relay.wakeups.relay_to(None)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


__all__ = ["CHANNEL", "WakeupRelay", "relaying"]
