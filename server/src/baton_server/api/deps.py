"""FastAPI dependencies: the runtime, database sessions and the three principals (admin, worker, task).

Cadwyn solves a route's dependencies twice: once for the client's version (FastAPI's solve,
whose values it then discards) and once for HEAD (Cadwyn's solve, whose values reach the
handler). Our dependencies with a cost — a pooled connection, a token check, a query — do their
work only in Cadwyn's solve. Otherwise every request would verify its token twice and hold two
connections at once, which deadlocks a busy pool. See docs/adr/0002-lean-request-path.md.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Annotated, Any

from cadwyn import current_dependency_solver
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from baton_server.api.middleware import REFRESHED_TOKEN_SCOPE_KEY
from baton_server.db.tables import CredentialRecord
from baton_server.errors import UnauthorizedError
from baton_server.runtime import Runtime
from baton_server.services.credentials import authenticate
from baton_server.services.task_instances import Attempt, AttemptCheck
from baton_server.services.tokens import TaskClaims


async def get_runtime(request: Request) -> Runtime:
    """The process's runtime, set up by the lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def is_discarded_solve() -> bool:
    """Whether dependencies are being solved for the client's version, whose values Cadwyn discards."""
    return await current_dependency_solver() != "cadwyn"


_SKIPPED: Any = None
"""What a dependency returns in the discarded solve: nothing reads it."""


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for one request; it takes a pooled connection only when it first queries."""
    if await is_discarded_solve():
        yield _SKIPPED
        return
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def get_task_connection(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """A bare pooled connection in autocommit for task requests, whose every write is a single statement.

    A task's request then costs no BEGIN and no COMMIT round trip, and no ORM session: a variable
    read is one query on the connection.
    """
    if await is_discarded_solve():
        yield _SKIPPED
        return
    async with runtime.autocommit.connect() as conn:
        yield conn


TaskConnectionDep = Annotated[AsyncConnection, Depends(get_task_connection)]


def parse_bearer(header: str) -> str | None:
    """The token of an ``Authorization`` header value of the form ``Bearer <token>``, else None."""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_token(request: Request) -> str:
    """The bearer token of the request, or UnauthorizedError."""
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError("this route needs an Authorization: Bearer token", reason="token_missing")
    token = parse_bearer(header)
    if token is None:
        raise UnauthorizedError("the Authorization header must be 'Bearer <token>'", reason="token_invalid")
    return token


# The schemes document each principal's bearer token in the spec; we parse the header ourselves
# so that every failure is our 401 body, not FastAPI's 403.
_admin_scheme = HTTPBearer(scheme_name="AdminToken", description="An admin token", auto_error=False)
_worker_scheme = HTTPBearer(
    scheme_name="WorkerCredential", description="A worker credential", auto_error=False
)
_task_scheme = HTTPBearer(
    scheme_name="TaskToken", description="The task's workload or execution token", auto_error=False
)
_SchemeCredentials = HTTPAuthorizationCredentials | None


async def require_admin(
    session: SessionDep, request: Request, _: Annotated[_SchemeCredentials, Depends(_admin_scheme)]
) -> CredentialRecord:
    """The admin credential of the request (401 when missing, unknown or revoked)."""
    if await is_discarded_solve():
        return _SKIPPED  # type: ignore[no-any-return]
    return await authenticate(session, bearer_token(request), "admin")


async def require_worker(
    session: SessionDep, request: Request, _: Annotated[_SchemeCredentials, Depends(_worker_scheme)]
) -> CredentialRecord:
    """The worker credential of the request (401 when missing, unknown or revoked)."""
    if await is_discarded_solve():
        return _SKIPPED  # type: ignore[no-any-return]
    return await authenticate(session, bearer_token(request), "worker")


AdminDep = Annotated[CredentialRecord, Depends(require_admin)]
WorkerCredentialDep = Annotated[CredentialRecord, Depends(require_worker)]


async def task_claims(
    request: Request, _: Annotated[_SchemeCredentials, Depends(_task_scheme)]
) -> TaskClaims:
    """The verified claims of the request's task token (401 when missing, malformed, expired or forged)."""
    if await is_discarded_solve():
        return _SKIPPED  # type: ignore[no-any-return]
    runtime: Runtime = request.app.state.runtime
    return await runtime.tokens.verify_async(bearer_token(request))


TaskClaimsDep = Annotated[TaskClaims, Depends(task_claims)]


def hand_out_token(request: Request, token: str) -> None:
    """Send ``token`` in the Refreshed-API-Token header of the response, error responses included."""
    request.scope[REFRESHED_TOKEN_SCOPE_KEY] = token


def refresh_if_due(
    request: Request, runtime: Runtime, claims: TaskClaims, *, within: int | None = None
) -> None:
    """Hand out a fresh execution token when the caller's one expires within ``within`` seconds
    (default: ``BATON_TOKEN_REFRESH_BEFORE``)."""
    due = runtime.settings.token_refresh_before if within is None else within
    fresh = runtime.tokens.fresh_if_due(claims, within=due)
    if fresh is not None:
        hand_out_token(request, fresh)


async def attempt_check(claims: TaskClaimsDep, runtime: RuntimeDep, request: Request) -> AttemptCheck:
    """The caller's attempt, checked by the statement of the request's own work; its token is
    refreshed when due once the attempt is found running."""
    if await is_discarded_solve():
        return _SKIPPED  # type: ignore[no-any-return]
    return AttemptCheck(claims, functools.partial(refresh_if_due, request, runtime, claims))


AttemptCheckDep = Annotated[AttemptCheck, Depends(attempt_check)]


async def running_attempt(check: AttemptCheckDep, conn: TaskConnectionDep) -> Attempt:
    """The caller's attempt read on its own, verified as still running; refreshes its token when due."""
    if await is_discarded_solve():
        return _SKIPPED  # type: ignore[no-any-return]
    return await check.load(conn)


AttemptDep = Annotated[Attempt, Depends(running_attempt)]
