"""The benchmark's floor: bare FastAPI + PyJWT + asyncpg routes doing the same SQL as Baton's.

``python server/benchmarks/bare_routes.py --port P`` with ``BENCH_DATABASE_URL`` (a plain
``postgresql://`` URL), ``BENCH_SIGNING_KEY`` and ``BENCH_POOL_SIZE`` in the environment. Each
route checks the token (signature, audience, expiry; the subject where the path names the task
instance) and runs the statements Baton runs for it, as plain SQL on an asyncpg pool: the
heartbeat's prepared UPDATE; for a variable, connection or XCom, the read of the token's attempt
(is it running?) and then the read or the upsert (a variable write replaces a variable without
write grants in one statement and checks the grants of one that has some, as Baton does). No
versioning, no middleware, no ORM, no response model. Connections carry the application name
``bench-bare``. The benchmark's connection holds no secrets, so no route decrypts.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
import jwt
import uvicorn
from baton_server.services.tokens import ALGORITHM, AUDIENCE
from fastapi import FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, JsonValue

KEY = os.environ.get("BENCH_SIGNING_KEY", "")
POOL: dict[str, asyncpg.Pool] = {}


class Heartbeat(BaseModel):
    """The heartbeat's body."""

    hostname: str
    pid: int


class ValueBody(BaseModel):
    """A variable's or an XCom's body."""

    value: JsonValue


_HEARTBEAT = (
    "UPDATE task_instances SET last_heartbeat_at = $1, updated_at = $1 "
    "WHERE id = $2 AND state = 'running' AND try_number = $3 AND hostname = $4 AND pid = $5"
)
_ATTEMPT = (
    "SELECT id, dag_id, run_id, task_id, map_index, try_number, state FROM task_instances WHERE id = $1"
)
_VARIABLE = "SELECT value, read_dag_ids FROM variables WHERE key = $1"
_WRITERS = "SELECT write_dag_ids FROM variables WHERE key = $1"
_SET_VARIABLE = (
    "INSERT INTO variables (key, value, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
_SET_GLOBAL_VARIABLE = _SET_VARIABLE + " WHERE variables.write_dag_ids IS NULL"
_CONNECTION = "SELECT * FROM connections WHERE conn_id = $1"
_XCOM = (
    "SELECT value FROM xcoms "
    "WHERE dag_id = $1 AND run_id = $2 AND task_id = $3 AND map_index = $4 AND key = $5"
)
_PUSH_XCOM = (
    "INSERT INTO xcoms (dag_id, run_id, task_id, map_index, key, value, task_instance_id, updated_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dag_id, run_id, task_id, map_index, key) "
    "DO UPDATE SET value = excluded.value, task_instance_id = excluded.task_instance_id, "
    "updated_at = excluded.updated_at"
)


def _claims(authorization: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            authorization.removeprefix("Bearer "), KEY, algorithms=[ALGORITHM], audience=AUDIENCE
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "invalid token") from exc
    return claims


async def _attempt(conn: asyncpg.Connection, authorization: str) -> asyncpg.Record:
    """The token's attempt, if it is running (as Baton checks before every task request)."""
    claims = _claims(authorization)
    row = await conn.fetchrow(_ATTEMPT, uuid.UUID(str(claims["sub"])))
    if row is None or row["state"] != "running" or row["try_number"] != claims["try"]:
        raise HTTPException(401, "the attempt is over")
    return row


def _granted(dag_ids: str | None, dag_id: str) -> bool:
    return dag_ids is None or dag_id in json.loads(dag_ids)


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
        _HEARTBEAT, now, task_instance_id, int(claims["try"]), body.hostname, body.pid
    )
    if status.rsplit(" ", 1)[-1] != "1":
        raise HTTPException(409, "not running")
    return Response(status_code=204)


@app.get("/execution/variables/{key}")
async def get_variable(key: str, authorization: str = Header()) -> dict[str, object]:
    """The variable's value for a running attempt of a DAG it is granted to."""
    async with POOL["pool"].acquire() as conn:
        attempt = await _attempt(conn, authorization)
        row = await conn.fetchrow(_VARIABLE, key)
    if row is None:
        raise HTTPException(404, "no such variable")
    if not _granted(row["read_dag_ids"], attempt["dag_id"]):
        raise HTTPException(403, "not granted")
    return {"key": key, "value": json.loads(row["value"])}


@app.put("/execution/variables/{key}")
async def set_variable(key: str, body: ValueBody, authorization: str = Header()) -> dict[str, object]:
    """Create or replace a variable the attempt's DAG may write."""
    async with POOL["pool"].acquire() as conn:
        attempt = await _attempt(conn, authorization)
        value, now = json.dumps(body.value, separators=(",", ":")), datetime.now(UTC)
        # As Baton: one statement for a new or global variable; grants checked only when it has some.
        if await conn.execute(_SET_GLOBAL_VARIABLE, key, value, now) == "INSERT 0 0":
            if not _granted(await conn.fetchval(_WRITERS, key), attempt["dag_id"]):
                raise HTTPException(403, "not granted")
            await conn.execute(_SET_VARIABLE, key, value, now)
    return {"key": key, "value": body.value}


@app.get("/execution/connections/{conn_id}")
async def get_connection(conn_id: str, authorization: str = Header()) -> dict[str, object]:
    """A connection granted to the attempt's DAG."""
    async with POOL["pool"].acquire() as conn:
        attempt = await _attempt(conn, authorization)
        row = await conn.fetchrow(_CONNECTION, conn_id)
    if row is None:
        raise HTTPException(404, "no such connection")
    if not _granted(row["allowed_dag_ids"], attempt["dag_id"]):
        raise HTTPException(403, "not granted")
    if row["password_encrypted"] is not None or row["extra_encrypted"] is not None:
        raise HTTPException(501, "the bare route does not decrypt")
    return {
        "conn_id": conn_id,
        "conn_type": row["conn_type"],
        "host": row["host"],
        "port": row["port"],
        "login": row["login"],
        "password": None,
        "schema": row["schema_name"],
        "extra": None,
    }


XComPath = "/execution/xcoms/{dag_id}/{run_id}/{task_id}/{key}"


@app.put(XComPath)
async def push_xcom(
    dag_id: str, run_id: str, task_id: str, key: str, body: ValueBody, authorization: str = Header()
) -> dict[str, object]:
    """Store an XCom of the attempt's own task instance."""
    async with POOL["pool"].acquire() as conn:
        attempt = await _attempt(conn, authorization)
        if (attempt["dag_id"], attempt["run_id"], attempt["task_id"]) != (dag_id, run_id, task_id):
            raise HTTPException(403, "not its own XCom")
        value = json.dumps(body.value, separators=(",", ":"))
        await conn.execute(
            _PUSH_XCOM, dag_id, run_id, task_id, -1, key, value, attempt["id"], datetime.now(UTC)
        )
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": -1,
        "key": key,
        "value": body.value,
    }


@app.get(XComPath)
async def pull_xcom(
    dag_id: str, run_id: str, task_id: str, key: str, authorization: str = Header()
) -> dict[str, object]:
    """An XCom of the attempt's DAG."""
    async with POOL["pool"].acquire() as conn:
        attempt = await _attempt(conn, authorization)
        if attempt["dag_id"] != dag_id:
            raise HTTPException(403, "not its DAG")
        raw = await conn.fetchval(_XCOM, dag_id, run_id, task_id, -1, key)
    if raw is None:
        raise HTTPException(404, "no such XCom")
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": -1,
        "key": key,
        "value": json.loads(raw),
    }


def main() -> None:
    """Serve on 127.0.0.1, one process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
