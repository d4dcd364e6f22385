"""Wake-ups: what a request changed reaches the scheduler and the waiting claims at once.

A finished attempt queues its ready downstream task instances and wakes the claims long-polling in
this process; a triggered run wakes the scheduler, which would otherwise find it on its next pass.
The wake-ups also reach every other server and scheduler process on the database — on SQLite those of
the same machine — (:mod:`baton_server.wakeup_relay`); without a relay they see the change on their
next look (the
claim watch of a process looks every ``POLL_INTERVAL`` for all its waiting claims, the scheduler
passes every ``scheduler_interval``): a wake-up only shortens a wait, it never carries data.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

Relay = Callable[[str], None]
"""Carries a wake-up's name to the other processes (:meth:`WakeupRelay.publish`); it must not block."""


class Wakeup:
    """Wakes every waiter that took a ticket before :meth:`notify` (one event per generation)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._event = asyncio.Event()
        self._relay: Relay | None = None

    def ticket(self) -> asyncio.Event:
        """Take before looking at the state: a change after the look then ends the wait at once."""
        return self._event

    def notify(self) -> None:
        """Wake everyone holding a ticket, here and, through the relay, in the other processes."""
        self.wake_here()
        if self._relay is not None:
            self._relay(self.name)

    def wake_here(self) -> None:
        """Wake everyone in this process holding a ticket; later tickets wait for the next notify."""
        self._event.set()
        self._event = asyncio.Event()

    def relay_to(self, relay: Relay | None) -> None:
        """Send every later :meth:`notify` on through ``relay`` too (None: to this process only)."""
        self._relay = relay

    @staticmethod
    async def wait(ticket: asyncio.Event, seconds: float) -> bool:
        """Wait up to ``seconds`` for the ticket's notify; True if it came."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ticket.wait(), seconds)
        return ticket.is_set()


@dataclass(frozen=True, slots=True)
class Wakeups:
    """The wake-ups of one server process."""

    queue: Wakeup = field(default_factory=lambda: Wakeup("queue"))
    """Task instances were queued: claims waiting for work look again."""
    scheduler: Wakeup = field(default_factory=lambda: Wakeup("scheduler"))
    """Something the scheduler acts on changed (a run was triggered): run a pass now."""

    @property
    def every(self) -> tuple[Wakeup, ...]:
        """Each wake-up of the process."""
        return (self.queue, self.scheduler)

    def named(self, name: str) -> Wakeup | None:
        """The wake-up of that name (a relayed message's), or None for a name this version does not know."""
        return next((w for w in self.every if w.name == name), None)

    def relay_to(self, relay: Relay | None) -> None:
        """Send every wake-up's notify on through ``relay`` too (None: to this process only)."""
        for wakeup in self.every:
            wakeup.relay_to(relay)

    def wake_here(self) -> None:
        """Wake every waiter of this process once, for wake-ups of others it may have missed."""
        for wakeup in self.every:
            wakeup.wake_here()


__all__ = ["Wakeup", "Wakeups"]
