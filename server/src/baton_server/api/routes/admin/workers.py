"""Admin routes for workers: who is registered, serving what, how loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from baton_server.api.deps import AdminDep, SessionDep
from baton_server.api.routes._orchestration import ClientRuntimes, worker_summary_model
from baton_server.api.schemas.admin_orchestration import WorkerList
from baton_server.api.schemas.common import MAX_DB_INT
from baton_server.services import workers

router = APIRouter(tags=["admin"])

Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_DB_INT, description="Entries to skip.")]


@router.get(
    "/workers",
    response_model=WorkerList,
    summary="List registered workers with their state and load",
)
async def list_workers(
    session: SessionDep,
    _admin: AdminDep,
    limit: Limit = 100,
    offset: Offset = 0,
    client_runtimes: ClientRuntimes = None,
) -> WorkerList:
    """A page of workers, by name."""
    loads, total = await workers.list_workers(
        session, limit=limit, offset=offset, client_runtimes=client_runtimes
    )
    return WorkerList(workers=[worker_summary_model(w) for w in loads], total=total)
