"""FastAPI dependencies: the runtime, database sessions and the three principals (admin, worker, task)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import CredentialRecord
from baton_server.errors import UnauthorizedError
from baton_server.runtime import Runtime
from baton_server.services.credentials import authenticate


def get_runtime(request: Request) -> Runtime:
    """The process's runtime, set up by the lifespan."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for one request; it takes a pooled connection only when it first queries."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def bearer_token(request: Request) -> str:
    """The bearer token of the request, or UnauthorizedError."""
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError("this route needs an Authorization: Bearer token", reason="token_missing")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("the Authorization header must be 'Bearer <token>'", reason="token_invalid")
    return token.strip()


async def require_admin(session: SessionDep, request: Request) -> CredentialRecord:
    """The admin credential of the request (401 when missing, unknown or revoked)."""
    return await authenticate(session, bearer_token(request), "admin")


async def require_worker(session: SessionDep, request: Request) -> CredentialRecord:
    """The worker credential of the request (401 when missing, unknown or revoked)."""
    return await authenticate(session, bearer_token(request), "worker")


AdminDep = Annotated[CredentialRecord, Depends(require_admin)]
WorkerCredentialDep = Annotated[CredentialRecord, Depends(require_worker)]
