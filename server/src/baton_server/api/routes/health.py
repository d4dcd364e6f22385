"""Health endpoints, one under each API prefix, answering without credentials."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from baton_server.api.deps import RuntimeDep


class HealthStatus(BaseModel):
    """Whether the server and its database answer."""

    status: Literal["ok"]
    database: Literal["ok"]


async def _check(runtime: RuntimeDep) -> HealthStatus:
    async with runtime.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return HealthStatus(status="ok", database="ok")


def health_router(operation_id: str, tag: str) -> APIRouter:
    """A router with one ``GET /health`` whose operation id is unique per API."""
    router = APIRouter()

    async def check_health(runtime: RuntimeDep) -> HealthStatus:
        return await _check(runtime)

    router.add_api_route(
        "/health",
        check_health,
        methods=["GET"],
        operation_id=operation_id,
        summary="Check that the server and its database answer",
        description="200 when the server answers and its database answers a query. Needs no credential.",
        response_model=HealthStatus,
        tags=[tag],
    )
    return router
