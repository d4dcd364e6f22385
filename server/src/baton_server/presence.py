"""The API servers' sign that one of them is up, read by a scheduler that runs apart from them.

A standalone ``baton-server scheduler`` hears no heartbeat itself: it reads what the servers stored.
While no server answers (every replica down, an upgrade), heartbeats are refused, not missing, and a
scheduler that went on judging silences would end every running attempt once the heartbeat timeout
passed, and mark every worker offline. So every server process marks one row every ``MARK_EVERY``
seconds (:func:`marking`), and a standalone scheduler that has not seen the mark change within
``SILENT_AFTER`` seconds takes the servers for down (:class:`ServerWatch`): it judges no silence
until they have been back for a whole timeout, as after its own start.

The mark is the marking server's clock, but a reader only watches it change, on its own clock:
servers and scheduler need not agree on the time.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from sqlalchemy import select

from baton_server.background import repeating
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import ServerPresenceRecord
from baton_server.db.types import utcnow
from baton_server.db.upsert import upsert
from baton_server.runtime import Runtime

log = logging.getLogger("baton_server.presence")

MARK_EVERY = 5.0
"""Seconds between a server process's marks."""
SILENT_AFTER = 4 * MARK_EVERY
"""Seconds without a new mark after which a scheduler takes the servers for down."""
_ROW = 1


async def mark(runtime: Runtime, now: datetime | None = None) -> None:
    """Mark that a server is up, as of ``now`` (default: the current time)."""
    async with runtime.sessions() as session:
        await upsert(session, ServerPresenceRecord, {"id": _ROW, "marked_at": now or utcnow()}, ["id"])
        await session.commit()


async def last_mark(reader: Reader) -> datetime | None:
    """The servers' last mark, or None when no server of this release has marked one."""
    conn = await connection_of(reader)
    result = await conn.execute(select(ServerPresenceRecord.marked_at).where(ServerPresenceRecord.id == _ROW))
    return result.scalar_one_or_none()


def marking(runtime: Runtime) -> contextlib.AbstractAsyncContextManager[None]:
    """Mark that a server is up now, and every ``MARK_EVERY`` seconds while the block runs."""
    return repeating(
        "baton-presence",
        lambda: mark(runtime),
        MARK_EVERY,
        at_once=True,
        log=log,
        failed="could not mark this server up (a scheduler apart may take it for down); trying again",
    )


class ServerWatch:
    """A scheduler's view of whether any API server is up: it has seen the servers' mark change within
    the last ``SILENT_AFTER`` seconds of its own clock. Until it has seen a change (a few seconds after
    its start, when they are up) it does not take them for up."""

    def __init__(self) -> None:
        self._mark: datetime | None = None
        self._watching_since: datetime | None = None
        self._changed_at: datetime | None = None
        self._warned = False
        self.hearing = False
        """Whether a server was up at the last look."""

    async def look(self, reader: Reader, now: datetime) -> bool:
        """Look at the servers' mark as of ``now``; whether they are heard again (or first) at this look."""
        current = await last_mark(reader)
        if self._watching_since is None:
            self._watching_since, self._mark = now, current
        elif current != self._mark:
            self._mark, self._changed_at = current, now
        heard = self._changed_at is not None and (now - self._changed_at).total_seconds() <= SILENT_AFTER
        began, self.hearing = heard and not self.hearing, heard
        silent_for = (now - (self._changed_at or self._watching_since)).total_seconds()
        if not heard and silent_for > SILENT_AFTER and not self._warned:
            self._warned = True
            log.warning(
                "no API server has marked itself up for %.0f s (last mark: %s): ending no attempt for "
                "its silence, and marking no worker offline, until one has been back for the timeout",
                silent_for,
                self._mark.isoformat() if self._mark else "never",
            )
        elif heard and self._warned:
            self._warned = False
            log.info("an API server is up again; silences are judged once it has been up for the timeout")
        return began
