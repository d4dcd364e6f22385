"""In-process wake-ups: what a request changed reaches the scheduler and the waiting claims at once.

A finished attempt queues its ready downstream task instances and wakes the claims long-polling in
this process; a triggered run wakes the scheduler, which would otherwise find it on its next pass.
Other server processes still see the change on their next look (a claim looks every
``POLL_INTERVAL``, the scheduler every ``scheduler_interval``): a wake-up only shortens a wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field


class Wakeup:
    """Wakes every waiter that took a ticket before :meth:`notify` (one event per generation)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        """Take before looking at the state: a change after the look then ends the wait at once."""
        return self._event

    def notify(self) -> None:
        """Wake everyone holding a ticket; later tickets wait for the next notify."""
        self._event.set()
        self._event = asyncio.Event()

    @staticmethod
    async def wait(ticket: asyncio.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` for the ticket's notify; True if it came."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), seconds)
        return ticket.is_set()


@dataclass(frozen=True, slots=True)
class Wakeups:
    """The wake-ups of one server process."""

    queue: Wakeup = field(default_factory=Wakeup)
    """Task instances were queued: claims waiting for work look again."""
    scheduler: Wakeup = field(default_factory=Wakeup)
    """Something the scheduler acts on changed (a run was triggered): run a pass now."""


__all__ = ["Wakeup", "Wakeups"]
