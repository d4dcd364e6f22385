"""Wake-ups between processes: every server process, replica and standalone scheduler on one database
hears the others' wake-ups — over PostgreSQL's LISTEN/NOTIFY (:class:`WakeupRelay`), or, on SQLite,
whose processes share one machine, over Unix datagram sockets (:class:`LocalWakeupRelay`).

Without it, a wake-up reaches only its own process: a downstream task queued by one server process
waits for the claim watch of another to look (every ``POLL_INTERVAL``), and a run
triggered through a server whose process runs no scheduler waits for the scheduler's next pass.

On PostgreSQL each process keeps one connection of its own (outside the pool, taken from its share of
``db_pool_size``, see :meth:`Runtime.create`) that listens on :data:`CHANNEL` and sends this
process's wake-ups with ``pg_notify``. A wake-up is only a hint to look again — never data — so
sending is coalesced (one message per name however many notifies came while the last one was sent)
and losing one costs at most a poll. When the connection fails the process goes on polling, logs it,
and connects again with backoff; once listening again it wakes its own waiters once, for what it may
have missed. On SQLite each process binds a socket of its own; it too wakes its waiters once when it
starts listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import stat
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
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
        self.wakeups.wake_here()

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


_SOCKET_NAME_LENGTH = 14
"""A local relay's socket is named with 12 hex digits and ``.s``: every process's path is as long."""
_MAX_SOCKET_PATH = 100
"""Bytes of a socket's path at most: below the limit of ``AF_UNIX`` (108 on Linux, 104 on macOS)."""


class LocalWakeupRelay:
    """Sends this process's wake-ups to the other processes of this machine on the same SQLite database
    file, and wakes it on theirs. Each process binds a Unix datagram socket in one folder per database,
    of its user's alone (beside the database file, ``.<file name>.wakeups``, or in the temporary
    directory when that path is too long for a socket), and sends each wake-up to every other socket
    there; a socket whose process is gone is removed by the first sender that finds it so. As over
    PostgreSQL, a wake-up is a hint to look again: one that cannot be delivered costs a poll, never a
    task."""

    def __init__(self, folder: Path, wakeups: Wakeups) -> None:
        self.folder = folder
        self.wakeups = wakeups
        """The process's wake-ups it sends on and wakes."""
        self._pending: set[str] = set()
        self._socket: socket.socket | None = None
        self._path: str | None = None
        self._flushing = False
        self.listening = asyncio.Event()
        """Set while the relay's socket is bound."""

    @classmethod
    def for_database(cls, database_url: str, wakeups: Wakeups) -> LocalWakeupRelay | None:
        """The relay of the processes on the SQLite file of ``database_url`` (None: an in-memory one)."""
        database = make_url(database_url).database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        path = Path(database).resolve()
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        beside = path.parent / f".{path.name}.wakeups"
        temporary = Path(tempfile.gettempdir()) / f"baton-wakeups-{os.getuid()}-{digest}"
        # The same choice in every process on the file: the first folder whose sockets' paths fit.
        fits = [
            f
            for f in (beside, temporary)
            if len(os.fsencode(f)) + 1 + _SOCKET_NAME_LENGTH <= _MAX_SOCKET_PATH
        ]
        return cls(fits[0] if fits else beside, wakeups)

    async def close(self) -> None:
        """Nothing to release beyond what :meth:`run` closes when it stops."""

    def publish(self, name: str) -> None:
        """Send the wake-up ``name`` to the other processes soon; never blocks, never raises."""
        self._pending.add(name)
        self._flush_soon()

    def _flush_soon(self) -> None:
        """Send what is pending once this turn of the event loop is over: a burst goes out once."""
        if self._socket is not None and self._pending and not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def run(self) -> None:
        """Listen until cancelled; a socket that cannot be bound leaves the process to its looks."""
        try:
            self._socket = self._bind()
        except OSError as exc:
            log.warning(
                "wake-ups from the other server processes are off (%s): their changes are seen at the "
                "next look instead",
                exc,
            )
            return
        loop = asyncio.get_running_loop()
        loop.add_reader(self._socket.fileno(), self._received)
        self.listening.set()
        self._flush_soon()  # what was published before the socket was bound
        # What the others announced before this one listened: every waiter looks once more.
        self.wakeups.wake_here()
        try:
            await asyncio.Event().wait()
        finally:
            self.listening.clear()
            loop.remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None
            if self._path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self._path)
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only once the last process left it

    def _bind(self) -> socket.socket:
        try:
            return self._bind_once()
        except FileNotFoundError:  # the last process leaving removed the folder meanwhile: once more
            return self._bind_once()

    def _bind_once(self) -> socket.socket:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        found = os.lstat(self.folder)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
            raise PermissionError(f"{self.folder} is not a folder of this user's alone")
        self._path = str(self.folder / f"{uuid.uuid4().hex[:12]}.s")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            sock.bind(self._path)
        except BaseException:
            sock.close()
            raise
        return sock

    def _flush(self) -> None:
        self._flushing = False
        sock = self._socket
        if sock is None or not self._pending:
            return
        names, self._pending = sorted(self._pending), set()
        try:
            peers = [
                entry.path
                for entry in os.scandir(self.folder)
                if entry.name.endswith(".s") and entry.path != self._path
            ]
        except OSError:
            return
        for peer in peers:
            for name in names:
                try:
                    sock.sendto(name.encode(), peer)
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        os.unlink(peer)  # its process is gone: no one reads it any more
                    break
                except OSError:
                    break  # its queue is full (it has wake-ups enough to look), or it cannot be reached

    def _received(self) -> None:
        sock = self._socket
        while sock is not None:
            try:
                payload = sock.recv(64)
            except OSError:  # nothing more to read now (or the socket is closing)
                return
            wakeup = self.wakeups.named(payload.decode("ascii", "replace"))
            if wakeup is not None:
                wakeup.wake_here()


ProcessRelay = WakeupRelay | LocalWakeupRelay
"""A relay of one process's wake-ups to the others on its database."""


@contextlib.asynccontextmanager
async def relaying(relay: ProcessRelay | None) -> AsyncIterator[None]:
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


__all__ = ["CHANNEL", "LocalWakeupRelay", "ProcessRelay", "WakeupRelay", "relaying"]
