"""Work a server process repeats in the background for as long as it serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from baton_server.db.availability import is_database_unavailable


@contextlib.asynccontextmanager
async def repeating(
    name: str,
    step: Callable[[], Awaitable[None]],
    every: float,
    *,
    at_once: bool,
    log: logging.Logger,
    failed: str,
) -> AsyncIterator[None]:
    """Run ``step`` every ``every`` seconds (first at once with ``at_once``) while the block runs; a failed
    step is logged as ``failed`` once per run of failures (with its traceback unless the database was
    unavailable) and tried again at the next turn."""

    async def forever() -> None:
        failing = False
        if not at_once:
            await asyncio.sleep(every)
        while True:
            try:
                await step()
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning(failed, exc_info=not is_database_unavailable(exc))
                failing = True
            await asyncio.sleep(every)

    task = asyncio.create_task(forever(), name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
