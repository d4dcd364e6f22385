"""Admin routes for named pools."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from baton_server.api.deps import AdminDep, SessionDep
from baton_server.api.schemas.admin import Pool, PoolList, PoolPutBody
from baton_server.api.schemas.common import ID_PATTERN
from baton_server.db.tables import PoolRecord
from baton_server.services import pools as service

router = APIRouter(prefix="/pools", tags=["admin"])
PoolName = Annotated[str, Path(pattern=ID_PATTERN, min_length=1, max_length=250)]


def _pool(record: PoolRecord, used: int) -> Pool:
    return Pool(
        name=record.name,
        slots=record.slots,
        used_slots=used,
        description=record.description,
        updated_at=record.updated_at,
    )


@router.get("", response_model=PoolList, summary="List pools")
async def admin_list_pools(_: AdminDep, session: SessionDep) -> PoolList:
    """Every pool by name, with the slots its claimed or running task instances take."""
    return PoolList(pools=[_pool(r, used) for r, used in await service.list_pools(session)])


@router.get("/{name}", response_model=Pool, summary="Read a pool")
async def admin_get_pool(name: PoolName, _: AdminDep, session: SessionDep) -> Pool:
    """One pool with its slots and what is used of them."""
    return _pool(*await service.get_pool(session, name))


@router.put("/{name}", response_model=Pool, summary="Create or replace a pool")
async def admin_set_pool(name: PoolName, body: PoolPutBody, _: AdminDep, session: SessionDep) -> Pool:
    """Set a pool's slots (null: no limit) and description, creating it if needed.

    Lowering the slots below what is used stops new claims from the pool; nothing running is stopped.
    """
    return _pool(*await service.set_pool(session, name, body.slots, body.description))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a pool")
async def admin_delete_pool(name: PoolName, _: AdminDep, session: SessionDep) -> None:
    """Delete a pool; its tasks are not limited until it exists again. The default pool stays."""
    await service.delete_pool(session, name)
