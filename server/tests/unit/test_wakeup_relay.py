"""The wake-up relays: one process's wake-ups reach the others', not itself twice — on PostgreSQL and on
SQLite. On PostgreSQL the relay connects again after its connection is killed and keeps one of the
process's connections; on SQLite a socket left by a process that is gone is removed, a folder others
may write to is refused, and the last process to stop removes the folder."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from baton_server.runtime import Runtime
from baton_server.wakeup_relay import LocalWakeupRelay, relaying
from baton_server.wakeups import Wakeup, Wakeups
from sqlalchemy import text

from tests.conftest import DatabaseFactory, make_settings

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


@pytest.mark.postgres_only
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


@pytest.mark.postgres_only
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


@pytest.fixture
def short_folder() -> Iterator[Path]:
    """A folder of the local relay's, its path short enough for a socket's wherever pytest's tmp is."""
    with tempfile.TemporaryDirectory(prefix="bw-", dir="/tmp") as parent:
        yield Path(parent) / "wakeups"


@asynccontextmanager
async def _local(folder: Path, count: int) -> AsyncIterator[list[LocalWakeupRelay]]:
    """``count`` local relays on one folder, each listening, as processes on one SQLite file hold them."""
    async with AsyncExitStack() as stack:
        relays = [LocalWakeupRelay(folder, Wakeups()) for _ in range(count)]
        for relay in relays:
            await stack.enter_async_context(relaying(relay))
            await asyncio.wait_for(relay.listening.wait(), DEADLINE)
        yield relays


def test__sqlite__the_relay_is_local__one_folder_per_file__none_for_a_database_in_memory(
    tmp_path: Path,
) -> None:
    runtime = Runtime.create(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path))
    assert isinstance(runtime.relay, LocalWakeupRelay)
    assert runtime.relay.folder.parent in (tmp_path, Path(tempfile.gettempdir()))
    assert LocalWakeupRelay.for_database("sqlite+aiosqlite:///:memory:", Wakeups()) is None
    # Every process on the file picks the same folder, wherever it runs from; another file, another.
    folders = {
        url: relay.folder
        for url in (
            f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            f"sqlite+aiosqlite:///{os.path.relpath(tmp_path / 'x.db')}",
            f"sqlite+aiosqlite:///{tmp_path / 'y.db'}",
        )
        if (relay := LocalWakeupRelay.for_database(url, Wakeups())) is not None
    }
    assert len(folders) == 3
    assert len(set(folders.values())) == 2
    # Beside the file while its sockets' paths fit, else in the temporary directory.
    assert LocalWakeupRelay.for_database("sqlite:////d/b.db", Wakeups()).folder == Path("/d/.b.db.wakeups")  # type: ignore[union-attr]
    deep = "/d/" + "x" * 90 + "/b.db"
    assert LocalWakeupRelay.for_database(f"sqlite:///{deep}", Wakeups()).folder.parent == Path(  # type: ignore[union-attr]
        tempfile.gettempdir()
    )


def _socket_of_a_gone_process(folder: Path) -> Path:
    """A socket bound once in ``folder`` by a process killed before it could remove it."""
    left = folder / "0123456789ab.s"
    gone = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    gone.bind(str(left))
    gone.close()
    return left


def _not_a_socket(folder: Path) -> Path:
    """A file of someone else's in the folder: no relay's socket, so never sent to or removed."""
    other = folder / "notes.txt"
    other.write_text("kept")
    return other


def _open_to_everyone(folder: Path) -> None:
    folder.mkdir()
    folder.chmod(0o777)


async def test__sqlite__a_gone_process_socket_is_removed_and_the_rest_still_hear(short_folder: Path) -> None:
    async with _local(short_folder, 2) as (a, b):
        left, other = _socket_of_a_gone_process(short_folder), _not_a_socket(short_folder)
        assert await _woken(b.wakeups.queue, a.wakeups.queue)
        assert not await asyncio.to_thread(left.exists)
        assert await _woken(a.wakeups.scheduler, b.wakeups.scheduler)
        assert await asyncio.to_thread(other.exists)
        await asyncio.to_thread(other.unlink)
    assert not await asyncio.to_thread(short_folder.exists)  # the last relay to stop removed the folder


async def test__sqlite__a_folder_others_may_write_to_is_refused(
    short_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _open_to_everyone(short_folder)
    relay = LocalWakeupRelay(short_folder, Wakeups())
    await asyncio.wait_for(relay.run(), DEADLINE)  # returns at once: it does not listen
    assert not relay.listening.is_set()
    assert "wake-ups from the other server processes are off" in caplog.text
    assert "is not a folder of this user's alone" in caplog.text
    assert await asyncio.to_thread(lambda: list(short_folder.iterdir())) == []


async def test__sqlite__once_listening__every_waiter_looks_again(short_folder: Path) -> None:
    """What the others announced before a process's socket was bound never reached it: once bound, its
    waiters look once more, as they do when the PostgreSQL relay listens again."""
    relay = LocalWakeupRelay(short_folder, Wakeups())
    tickets = [wakeup.ticket() for wakeup in relay.wakeups.every]
    async with relaying(relay):
        await asyncio.wait_for(relay.listening.wait(), DEADLINE)
        assert all(ticket.is_set() for ticket in tickets)
