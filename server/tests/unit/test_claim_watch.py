"""The claim watch: one look at the queue wakes the waiting claims it concerns; a wake-up wakes all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from baton_server.claim_watch import ClaimWatch
from baton_server.db.migrate import upgrade
from baton_server.db.tables import TaskInstanceRecord
from baton_server.runtime import Runtime
from baton_server.wakeups import Wakeup
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import DatabaseFactory, make_settings
from tests.factories import make_dag_run


@pytest.fixture
async def runtime(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[Runtime]:
    runtime = Runtime.create(make_settings(await databases.create(), tmp_path / "data"))
    await upgrade(runtime.engine)
    yield runtime
    await runtime.close()


@pytest.fixture
def engine(runtime: Runtime) -> AsyncEngine:
    return runtime.autocommit


async def test__a_wake_up__wakes_every_waiting_claim(engine: AsyncEngine) -> None:
    wakeup = Wakeup("queue")
    watch = ClaimWatch(engine, wakeup, interval=300)
    waiting = [
        asyncio.create_task(watch.wait([("default", "python")], watch.ticket(), 300)),
        asyncio.create_task(watch.wait([("other", "go")], watch.ticket(), 300)),
    ]
    await asyncio.sleep(0)
    wakeup.notify()
    assert await asyncio.wait_for(asyncio.gather(*waiting), 300) == [True, True]
    await watch.close()


async def test__a_wake_up_before_the_wait__ends_it_at_once(engine: AsyncEngine) -> None:
    wakeup = Wakeup("queue")
    watch = ClaimWatch(engine, wakeup, interval=300)
    ticket = watch.ticket()
    wakeup.notify()  # after the claim's own look, before it waits
    assert await asyncio.wait_for(watch.wait([("default", "python")], ticket, 300), 300) is True
    assert watch.looks == 0


async def test__the_look__wakes_only_the_claims_of_queues_with_work(
    runtime: Runtime, engine: AsyncEngine
) -> None:
    await make_dag_run(runtime, task_ids=("only",))  # queued in "default", of the python runtime
    watch = ClaimWatch(engine, None, interval=0.05)
    with_work = asyncio.create_task(watch.wait([("empty", "python"), ("default", "python")], None, 300))
    without = asyncio.create_task(watch.wait([("default", "go")], None, 300))
    assert await asyncio.wait_for(with_work, 300) is True
    assert not without.done()
    assert watch.looks >= 1
    # Started, it is no longer work for anyone: a claim waiting for it now times out.
    async with engine.connect() as conn:
        await conn.execute(update(TaskInstanceRecord).values(state="running"))
    without.cancel()
    assert await watch.wait([("default", "python")], None, 0.3) is False
    await watch.close()


async def test__a_failed_look__lets_every_claim_look_itself(tmp_path: Path) -> None:
    # No tables: the watch's look fails, and the claims are woken to look on their own.
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        watch = ClaimWatch(engine, None, interval=0.05)
        assert await asyncio.wait_for(watch.wait([("default", "python")], None, 300), 300) is True
        await watch.close()
    finally:
        await engine.dispose()
