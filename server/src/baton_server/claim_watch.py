"""One look at the queue per server process for every claim long-polling in it.

A claim that finds nothing waits, up to its deadline, for work in its worker's queues. Were each
waiting claim to look again on its own every ``POLL_INTERVAL``, an idle worker would cost a pooled
connection and a transaction twice a second, and a server with a thousand of them would spend its
CPU looking at an empty queue. Instead the process's watch looks once per interval for every
(queue, runtime) a claim waits on — one probe of the claimable index per pair, one statement in all —
and wakes only the claims whose pairs have claimable task instances; each of those then makes its own
claim, which also counts its worker's free slots and the pools' and DAGs' limits and keeps to the
DAGs its credential serves (a claim those refuse is woken again on the next look, as it would look
again on its own). A wake-up of this process (tasks queued here, or relayed from another process on
PostgreSQL) still ends every wait at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import cast

from sqlalchemy import ColumnElement, Table, literal, select, text, union_all
from sqlalchemy.ext.asyncio import AsyncEngine

from baton_server.db.tables import CLAIMABLE, TaskInstanceRecord
from baton_server.wakeups import Wakeup

log = logging.getLogger("baton_server.claim_watch")

POLL_INTERVAL = 0.5
"""Seconds between two looks at the queue while claims wait."""

Key = tuple[str, str]
"""What a waiting claim watches: a queue of its worker and the worker's runtime."""

_TI = cast(Table, TaskInstanceRecord.__table__)


class ClaimWatch:
    """The waiting claims of one process and the one look at the queue that wakes them."""

    def __init__(self, engine: AsyncEngine, wakeup: Wakeup | None, interval: float = POLL_INTERVAL) -> None:
        self._engine = engine
        self._wakeup = wakeup
        self._interval = interval
        self._waiting: dict[Key, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.looks = 0
        """How many looks the watch made (the tests read it)."""
        self.ending = False
        """The server stops: a claim waits no more (:meth:`end_waits`)."""

    def ticket(self) -> asyncio.Event | None:
        """Take before a claim's own look: a wake-up after it then ends the claim's next wait at once."""
        return self._wakeup.ticket() if self._wakeup is not None else None

    async def wait(self, keys: list[Key], ticket: asyncio.Event | None, seconds: float) -> bool:
        """Wait up to ``seconds`` for work in one of ``keys`` (or a wake-up after ``ticket``); True if
        woken, False when the time ran out."""
        if self.ending or (ticket is not None and ticket.is_set()):
            return True
        woken = asyncio.Event()
        for key in keys:
            self._waiting.setdefault(key, set()).add(woken)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            # Its first ticket taken now: a wake-up before the task first runs still reaches it.
            self._task = loop.create_task(self._watch(self.ticket()), name="claim watch")
        try:
            async with asyncio.timeout(seconds):
                await woken.wait()
        except TimeoutError:
            pass
        finally:
            for key in keys:
                waiters = self._waiting.get(key)
                if waiters is not None:
                    waiters.discard(woken)
                    if not waiters:
                        del self._waiting[key]
        return woken.is_set()

    def end_waits(self) -> None:
        """The server stops: every claim waiting is woken and none waits again, so that each answers
        at once (its caller sees :attr:`ending`) instead of holding the stop up to its deadline."""
        self.ending = True
        self._wake(None)

    async def close(self) -> None:
        """Stop looking (the server shuts down); claims still waiting time out on their own."""
        task = self._task
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _wake(self, keys: list[Key] | None) -> None:
        """Wake the claims waiting on ``keys`` (None: every one)."""
        for key in list(self._waiting) if keys is None else keys:
            for woken in self._waiting.get(key, ()):
                woken.set()

    async def _watch(self, ticket: asyncio.Event | None) -> None:
        """Look every interval while claims wait; wake every one at a wake-up of the process."""
        while self._waiting:
            if ticket is None:
                await asyncio.sleep(self._interval)
                woken = False
            else:
                woken = await Wakeup.wait(ticket, self._interval)
            # The next ticket before waking anyone: a wake-up from now on ends the next wait.
            ticket = self.ticket()
            if woken:
                self._wake(None)
                continue
            keys = list(self._waiting)
            if not keys:
                return
            try:
                ready = await self._look(keys)
            except Exception:
                # Each claim then looks itself, as if the watch had seen work for it.
                log.warning("the look at the queue for waiting claims failed", exc_info=True)
                ready = keys
            self._wake(ready)

    async def _look(self, keys: list[Key]) -> list[Key]:
        """The pairs of ``keys`` with claimable task instances: one statement, an index probe each."""
        self.looks += 1
        probes = [
            select(literal(n).label("n")).where(
                any_in_claim_order(
                    cast(ColumnElement[bool], text(CLAIMABLE)), _TI.c.queue == queue, _TI.c.runtime == runtime
                )
            )
            for n, (queue, runtime) in enumerate(keys)
        ]
        statement = probes[0] if len(probes) == 1 else union_all(*probes)
        async with self._engine.connect() as conn:
            found = (await conn.execute(statement)).scalars().all()
        return [keys[n] for n in found]


def any_in_claim_order(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether a task instance meets ``conditions`` (claimable, of a queue and runtime): asked for the
    first one in the claimable index's order, not with ``EXISTS``. PostgreSQL drops an ``EXISTS``'s
    order and limit, and where it expects many claimable rows it scans the table for one, reading past
    every row queued and taken before them (the table's oldest, so its first); in the index's order it
    reads the index from its first claimable entry."""
    first = (
        select(literal(1))
        .where(*conditions)
        .order_by(_TI.c.queue, _TI.c.runtime, _TI.c.queued_at, _TI.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return first.is_not(None)


__all__ = ["POLL_INTERVAL", "ClaimWatch", "Key", "any_in_claim_order"]
