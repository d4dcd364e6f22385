"""The benchmark's floor: a bare FastAPI + PyJWT + asyncpg heartbeat doing the same SQL as Baton's.

``python server/benchmarks/bare_heartbeat.py --port P`` with ``BENCH_DATABASE_URL`` (a plain
``postgresql://`` URL), ``BENCH_SIGNING_KEY`` and ``BENCH_POOL_SIZE`` in the environment. It checks
the token (signature, audience, expiry, subject) and runs Baton's prepared heartbeat UPDATE; no
versioning, no middleware, no ORM. Its connections carry the application name ``bench-bare``.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
import jwt
import uvicorn
from baton_server.services.task_instances import _PG_HEARTBEAT
from baton_server.services.tokens import ALGORITHM, AUDIENCE
from fastapi import FastAPI, Header, HTTPException, Response
from pydantic import BaseModel

KEY = os.environ.get("BENCH_SIGNING_KEY", "")
POOL: dict[str, asyncpg.Pool] = {}


class Heartbeat(BaseModel):
    """The heartbeat's body."""

    hostname: str
    pid: int


@asynccontextmanager
async def _lifespan(_: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))
    POOL["pool"] = await asyncpg.create_pool(
        os.environ["BENCH_DATABASE_URL"],
        min_size=size,
        max_size=size,
        server_settings={"application_name": "bench-bare"},
    )
    yield
    await POOL["pool"].close()


app = FastAPI(lifespan=_lifespan)


@app.get("/execution/health")
async def health() -> dict[str, str]:
    """Ready."""
    return {"status": "ok"}


@app.put("/execution/task-instances/{task_instance_id}/heartbeat", status_code=204)
async def heartbeat(task_instance_id: uuid.UUID, body: Heartbeat, authorization: str = Header()) -> Response:
    """Check the token, update the running attempt's heartbeat: 204, or 401/409."""
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "), KEY, algorithms=[ALGORITHM], audience=AUDIENCE
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "invalid token") from exc
    if claims.get("sub") != str(task_instance_id):
        raise HTTPException(403, "not this task instance")
    now = datetime.now(UTC)
    status: str = await POOL["pool"].execute(
        _PG_HEARTBEAT, now, task_instance_id, int(claims["try"]), body.hostname, body.pid
    )
    if status.rsplit(" ", 1)[-1] != "1":
        raise HTTPException(409, "not running")
    return Response(status_code=204)


def main() -> None:
    """Serve on 127.0.0.1, one process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
