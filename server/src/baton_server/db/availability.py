"""Tell a database that cannot be reached now from a request the database refused.

During a PostgreSQL restart or outage, requests fail with connection errors: refused or reset
sockets, "terminating connection due to administrator command", "the database system is starting
up", a closed connection, a pool that cannot hand out a connection in time. Those are a 503 with
``Retry-After`` (the request was not done; try again), not a 500. The pool then reconnects by itself:
a disconnect invalidates every pooled connection opened before it, and each is replaced on checkout.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

RETRY_AFTER_SECONDS = 2
"""What a 503 for an unavailable database tells clients to wait before trying again."""

# SQLSTATE classes and codes of a server that is going away, starting up or unreachable:
# 08 connection exception, 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
# asyncpg raises these (outside SQLAlchemy on the raw heartbeat path) when its connection is gone;
# InternalClientError when a connection terminated under it is used again before it noticed.
_DRIVER_CONNECTION_ERRORS = frozenset(
    {"InterfaceError", "ConnectionDoesNotExistError", "ConnectionFailureError", "InternalClientError"}
)


def _sqlstate(error: BaseException) -> str | None:
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return state if isinstance(state, str) else None


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return seen


def is_database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (as opposed to refusing the request)."""
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection within db_pool_timeout
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    for link in _chain(error):
        if isinstance(link, OSError | TimeoutError | ConnectionError):
            return True
        state = _sqlstate(link)
        if state is not None and state.startswith(_UNAVAILABLE_SQLSTATES):
            return True
        if type(link).__module__.startswith("asyncpg") and type(link).__name__ in _DRIVER_CONNECTION_ERRORS:
            return True
        if isinstance(link, sa_exc.InterfaceError):
            return True
        if isinstance(link, sa_exc.OperationalError) and "database is locked" in str(link):
            return True  # SQLite's writer lock outlasted busy_timeout: the database is busy, not wrong
    return False


def sqlstate_of(error: BaseException) -> str | None:
    """PostgreSQL's code of the error (``55P03``, say), from it or the driver's error under it; None
    when it has none (SQLite's errors, a lost connection)."""
    return next((state for link in _chain(error) if (state := _sqlstate(link)) is not None), None)


def is_foreign_key_violation(error: BaseException) -> bool:
    """Whether ``error`` is a write refused because a row it refers to does not exist (any more)."""
    if sqlstate_of(error) == "23503":  # PostgreSQL's foreign_key_violation
        return True
    return any(  # SQLite's
        isinstance(link, sa_exc.IntegrityError) and "FOREIGN KEY constraint failed" in str(link)
        for link in _chain(error)
    )


__all__ = ["RETRY_AFTER_SECONDS", "is_database_unavailable", "is_foreign_key_violation", "sqlstate_of"]
