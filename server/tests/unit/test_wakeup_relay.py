"""The wake-up relay on a real PostgreSQL: one process's wake-ups reach the others', not itself twice;
the relay connects again after its connection is killed; it keeps one of the process's connections."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from baton_server.runtime import Runtime
from baton_server.wakeup_relay import relaying
from baton_server.wakeups import Wakeup
from sqlalchemy import text

from tests.conftest import DatabaseFactory, make_settings

pytestmark = pytest.mark.postgres_only

DEADLINE = 120.0
"""Seconds a delivery may take on a loaded machine before the test says it never came."""


@asynccontextmanager
async def _processes(url: str, tmp_path: Path, count: int) -> AsyncIterator[list[Runtime]]:
    """``count`` runtimes on one database, as many server processes would hold, each relaying."""
    async with AsyncExitStack() as stack:
        runtimes = []
        for index in range(count):
            runtime = Runtime.create(make_settings(url, tmp_path / f"p{index}", db_pool_size=3))
            stack.push_async_callback(runtime.close)
            await stack.enter_async_context(relaying(runtime.relay))
            runtimes.append(runtime)
        for runtime in runtimes:
            assert runtime.relay is not None
            await asyncio.wait_for(runtime.relay.listening.wait(), DEADLINE)
        yield runtimes


async def _woken(wakeup: Wakeup, notify: Wakeup) -> bool:
    """Whether a ticket of ``wakeup`` taken before ``notify.notify()`` is woken within the deadline."""
    ticket = wakeup.ticket()
    notify.notify()
    return await Wakeup.wait(ticket, DEADLINE)


async def test__a_wakeup__reaches_the_other_processes_of_its_name_only(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    async with _processes(await databases.create(), tmp_path, 3) as (a, b, c):
        scheduler_ticket = b.wakeups.scheduler.ticket()
        c_ticket = c.wakeups.queue.ticket()
        assert await _woken(b.wakeups.queue, a.wakeups.queue)
        assert await Wakeup.wait(c_ticket, DEADLINE)
        assert not scheduler_ticket.is_set()  # the queue's wake-up woke no scheduler
        assert await _woken(a.wakeups.scheduler, c.wakeups.scheduler)
        assert await Wakeup.wait(scheduler_ticket, DEADLINE)


async def test__a_process__does_not_wake_itself_again_from_its_own_message(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    async with _processes(await databases.create(), tmp_path, 2) as (a, b):
        a.wakeups.queue.notify()
        after = a.wakeups.queue.ticket()  # a's own message arrives after this ticket, or not at all
        # b's message is sent after a's on another connection; once b sees a's next message, a's own
        # first one has long been delivered to a (one channel, messages in commit order).
        assert await _woken(b.wakeups.scheduler, a.wakeups.scheduler)
        await asyncio.sleep(0)
        assert not after.is_set()


async def test__a_killed_connection__is_replaced_and_wakeups_flow_again(
    databases: DatabaseFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with _processes(await databases.create(), tmp_path, 2) as (a, b):
        async with a.engine.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'baton-server wake-ups' AND datname = current_database()"
                )
            )
        assert killed == 2  # both relays' connections
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while caplog.text.count("wake-ups from the other server processes are off") < 2:
            assert loop.time() < deadline, caplog.text
            await asyncio.sleep(0.05)
        for runtime in (a, b):
            assert runtime.relay is not None
            await asyncio.wait_for(runtime.relay.listening.wait(), DEADLINE)
        assert await _woken(b.wakeups.queue, a.wakeups.queue)


async def test__the_relay__keeps_one_of_the_process_connections(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create()
    runtime = Runtime.create(make_settings(url, tmp_path, db_pool_size=4))
    lone = Runtime.create(make_settings(url, tmp_path, db_pool_size=1))
    try:
        assert runtime.relay is not None
        assert runtime.engine.pool.size() == 3  # type: ignore[attr-defined]
        assert lone.relay is None  # its one connection serves requests; its waits poll
        assert lone.engine.pool.size() == 1  # type: ignore[attr-defined]
    finally:
        await runtime.close()
        await lone.close()
