"""The benchmark's floor: bare FastAPI + PyJWT + asyncpg routes doing the same SQL as Baton's.

``python server/benchmarks/bare_routes.py --port P`` with ``BENCH_DATABASE_URL`` (a plain
``postgresql://`` URL), ``BENCH_SIGNING_KEY``, ``BENCH_POOL_SIZE`` and ``BENCH_HEARTBEAT_TIMEOUT`` (Baton's
setting, 300 s by default: the heartbeat's indexed floor lags by its share) in the environment. Each
route checks the token (signature, audience, expiry; the subject where the path names the task
instance) and runs the statements Baton runs for it, as plain SQL on an asyncpg pool: the
heartbeat's prepared UPDATE; for a variable, connection or XCom, one statement that reads or upserts
only while the token's attempt runs (joined with, or selected from, its task instance), and on a
miss the read of the attempt to say why (a variable write replaces a variable without write grants
in that statement and checks the grants of one that has some, as Baton does). No
versioning, no middleware, no ORM, no response model; what the import built is frozen out of the
collector's sight, as in Baton's server. Connections carry the application name
``bench-bare``. The benchmark's connection holds no secrets, so no route decrypts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
import jwt
import uvicorn
from baton_server.services.credentials import hash_token
from baton_server.services.task_instances import heartbeat_floor_cutoff
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


# The indexed floor moved up only once it lags ($6: a quarter of the heartbeat timeout, at most a minute,
# ago), or back to this heartbeat when it is after it (another clock's), as Baton's.
_HEARTBEAT = (
    "UPDATE task_instances SET last_heartbeat_at = $1, updated_at = $1, heartbeat_floor = CASE WHEN "
    "heartbeat_floor IS NULL OR heartbeat_floor < $6 OR heartbeat_floor > $1 THEN $1 "
    "ELSE heartbeat_floor END "
    "WHERE id = $2 AND state = 'running' AND try_number = $3 AND hostname = $4 AND pid = $5"
)
HEARTBEAT_TIMEOUT = float(os.environ.get("BENCH_HEARTBEAT_TIMEOUT", "300"))
"""The timeout Baton's server was given (its floor's lag is a quarter of it, at most a minute)."""
_ATTEMPT = (
    "SELECT id, dag_id, run_id, task_id, map_index, try_number, state FROM task_instances WHERE id = $1"
)
# Each statement below holds only while the token's attempt runs ($2: its task instance, $3: its try).
_VARIABLE = (
    "SELECT variables.value, variables.read_dag_ids, task_instances.dag_id "
    "FROM task_instances JOIN variables ON variables.key = $1 "
    "WHERE task_instances.id = $2 AND task_instances.state = 'running' AND task_instances.try_number = $3"
)
_WRITERS = "SELECT write_dag_ids FROM variables WHERE key = $1"
_SET_VARIABLE = (
    "INSERT INTO variables (key, value, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at"
)
_SET_GLOBAL_VARIABLE = (
    "INSERT INTO variables (key, value, updated_at) SELECT $1::varchar, $4::varchar, $5::timestamptz "
    "FROM task_instances "
    "WHERE task_instances.id = $2 AND task_instances.state = 'running' AND task_instances.try_number = $3 "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at "
    "WHERE variables.write_dag_ids IS NULL"
)
_CONNECTION = (
    "SELECT connections.*, task_instances.dag_id AS attempt_dag_id "
    "FROM task_instances JOIN connections ON connections.conn_id = $1 "
    "WHERE task_instances.id = $2 AND task_instances.state = 'running' AND task_instances.try_number = $3"
)
_XCOM = (
    "SELECT xcoms.value FROM task_instances JOIN xcoms ON xcoms.dag_id = $4 AND xcoms.run_id = $5 "
    "AND xcoms.task_id = $6 AND xcoms.map_index = $7 AND xcoms.key = $1 "
    "AND xcoms.dag_id = task_instances.dag_id "
    "WHERE task_instances.id = $2 AND task_instances.state = 'running' AND task_instances.try_number = $3"
)
_PUSH_XCOM = (
    "INSERT INTO xcoms (dag_id, run_id, task_id, map_index, key, value, task_instance_id, updated_at) "
    "SELECT $4::varchar, $5::varchar, $6::varchar, $7::integer, $1::varchar, $8::varchar, $2::uuid, "
    "$9::timestamptz FROM task_instances "
    "WHERE task_instances.id = $2 AND task_instances.state = 'running' AND task_instances.try_number = $3 "
    "AND task_instances.dag_id = $4 "
    "AND task_instances.run_id = $5 AND task_instances.task_id = $6 AND task_instances.map_index = $7 "
    "ON CONFLICT (dag_id, run_id, task_id, map_index, key) "
    "DO UPDATE SET value = excluded.value, task_instance_id = excluded.task_instance_id, "
    "updated_at = excluded.updated_at"
)


_WORKER_HEARTBEAT = (
    "UPDATE workers SET last_heartbeat_at = $1, state = 'active' WHERE id = $2 AND credential_id = "
    "(SELECT id FROM credentials WHERE token_hash = $3 AND kind = 'worker' AND revoked_at IS NULL) "
    "RETURNING id, name, queues, capacity, runtime, hostname, state, registered_at, last_heartbeat_at"
)


def _claims(authorization: str) -> dict[str, object]:
    try:
        claims: dict[str, object] = jwt.decode(
            authorization.removeprefix("Bearer "), KEY, algorithms=[ALGORITHM], audience=AUDIENCE
        )
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "invalid token") from exc
    return claims


def _running(authorization: str) -> tuple[uuid.UUID, int]:
    """The token's task instance and try: the parameters of ``_RUNNING``."""
    claims = _claims(authorization)
    return uuid.UUID(str(claims["sub"])), int(str(claims["try"]))


async def _running_attempt(conn: asyncpg.Connection, attempt: tuple[uuid.UUID, int]) -> asyncpg.Record:
    """The attempt read on its own, after a statement that found nothing: 401 when it is over."""
    row = await conn.fetchrow(_ATTEMPT, attempt[0])
    if row is None or row["state"] != "running" or row["try_number"] != attempt[1]:
        raise HTTPException(401, "the attempt is over")
    return row


async def _refuse(conn: asyncpg.Connection, attempt: tuple[uuid.UUID, int], other: HTTPException) -> None:
    """After a statement that found nothing: 401 when the attempt is over, else ``other``."""
    await _running_attempt(conn, attempt)
    raise other


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
    stale = heartbeat_floor_cutoff(now, HEARTBEAT_TIMEOUT)
    status: str = await POOL["pool"].execute(
        _HEARTBEAT, now, task_instance_id, int(claims["try"]), body.hostname, body.pid, stale
    )
    if status.rsplit(" ", 1)[-1] != "1":
        raise HTTPException(409, "not running")
    return Response(status_code=204)


@app.put("/workers/{worker_id}/heartbeat")
async def heartbeat_worker(worker_id: uuid.UUID, authorization: str = Header()) -> dict[str, object]:
    """Check the worker credential and record the worker's sign of life in one statement: the worker,
    or 401 when the credential does not own it."""
    now = datetime.now(UTC)
    row = await POOL["pool"].fetchrow(
        _WORKER_HEARTBEAT, now, worker_id, hash_token(authorization.removeprefix("Bearer "))
    )
    if row is None:
        raise HTTPException(401, "not this worker's credential")
    return {
        **dict(row),
        "id": str(row["id"]),
        "queues": json.loads(row["queues"]),
        "registered_at": row["registered_at"].isoformat(),
        "last_heartbeat_at": row["last_heartbeat_at"].isoformat(),
    }


@app.get("/execution/variables/{key}")
async def get_variable(key: str, authorization: str = Header()) -> dict[str, object]:
    """The variable's value for a running attempt of a DAG it is granted to."""
    attempt = _running(authorization)
    async with POOL["pool"].acquire() as conn:
        row = await conn.fetchrow(_VARIABLE, key, *attempt)
        if row is None:
            await _refuse(conn, attempt, HTTPException(404, "no such variable"))
    if not _granted(row["read_dag_ids"], row["dag_id"]):
        raise HTTPException(403, "not granted")
    return {"key": key, "value": json.loads(row["value"])}


@app.put("/execution/variables/{key}")
async def set_variable(key: str, body: ValueBody, authorization: str = Header()) -> dict[str, object]:
    """Create or replace a variable the attempt's DAG may write."""
    attempt = _running(authorization)
    value, now = json.dumps(body.value, separators=(",", ":")), datetime.now(UTC)
    async with POOL["pool"].acquire() as conn:
        # As Baton: one statement for a new or global variable; grants checked only when it has some.
        if await conn.execute(_SET_GLOBAL_VARIABLE, key, *attempt, value, now) == "INSERT 0 0":
            row = await _running_attempt(conn, attempt)
            if not _granted(await conn.fetchval(_WRITERS, key), row["dag_id"]):
                raise HTTPException(403, "not granted")
            await conn.execute(_SET_VARIABLE, key, value, now)
    return {"key": key, "value": body.value}


@app.get("/execution/connections/{conn_id}")
async def get_connection(conn_id: str, authorization: str = Header()) -> dict[str, object]:
    """A connection granted to the attempt's DAG."""
    attempt = _running(authorization)
    async with POOL["pool"].acquire() as conn:
        row = await conn.fetchrow(_CONNECTION, conn_id, *attempt)
        if row is None:
            await _refuse(conn, attempt, HTTPException(404, "no such connection"))
    if not _granted(row["allowed_dag_ids"], row["attempt_dag_id"]):
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
    attempt = _running(authorization)
    value = json.dumps(body.value, separators=(",", ":"))
    async with POOL["pool"].acquire() as conn:
        status = await conn.execute(
            _PUSH_XCOM, key, *attempt, dag_id, run_id, task_id, -1, value, datetime.now(UTC)
        )
        if status == "INSERT 0 0":
            await _refuse(conn, attempt, HTTPException(403, "not its own XCom"))
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
    attempt = _running(authorization)
    async with POOL["pool"].acquire() as conn:
        raw = await conn.fetchval(_XCOM, key, *attempt, dag_id, run_id, task_id, -1)
        if raw is None:
            await _refuse(conn, attempt, HTTPException(404, "no such XCom (or not its DAG's)"))
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
    # What the import built (FastAPI's routes and models, pydantic's validators) lives as long as the
    # process: moved out of the collector's sight, as Baton's server does after its start, so that a
    # full collection does not walk it again while requests wait (54-64 ms each here, in the
    # latency's tail) — the floor pays no cost that Baton's route avoids.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
