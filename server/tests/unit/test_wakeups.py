"""Wake-ups: a ticket taken before a notify ends its wait; one taken after waits for the next."""

from __future__ import annotations

import asyncio

from baton_server.wakeups import Wakeup


async def test__notify__wakes_the_tickets_taken_before_it() -> None:
    wakeup = Wakeup("queue")
    before = wakeup.ticket()
    waiting = asyncio.create_task(Wakeup.wait(before, 300))
    await asyncio.sleep(0)
    wakeup.notify()
    assert await asyncio.wait_for(waiting, 300) is True
    after = wakeup.ticket()
    assert after is not before
    assert not after.is_set()


async def test__no_notify__the_wait_ends_at_its_timeout() -> None:
    assert await Wakeup.wait(Wakeup("queue").ticket(), 0) is False
