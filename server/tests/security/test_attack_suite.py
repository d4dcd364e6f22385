"""The attack suite: every operation of every API version, tried by every principal that must be refused.

For each task, worker and admin operation the document declares, the suite sends a well-formed
request as each wrong principal — no token, garbage, another kind's credential, a revoked
credential, another team's worker credential, and for task operations another task's token, a
finished attempt's token, an expired, altered, unsigned or re-keyed token, a token signed by a
retired-and-deleted key or naming an unknown key id (both must be a 401), and a workload token
where an execution token is needed (and the reverse) — and counts the answers. Any 2xx for an
attack is a hole: the suite prints the counts and asserts that none was allowed. It runs on SQLite
and PostgreSQL (``BATON_TEST_POSTGRES_URL``); docs/security.md quotes its counts.
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from baton_server.api.versions import supported_versions
from sqlalchemy import update

from tests.conftest import ServerHarness
from tests.factories import Attempt, started
from tests.orchestration import dag, fake_worker, new_admin_token, new_worker_token, task
from tests.spec_documents import operations

HEALTH = {"check_execution_health", "check_workers_health", "check_admin_health"}
REFUSED = {401, 403, 404, 409}
UNAUTHENTICATED = {"retired and deleted key", "unknown key id"}
"""Forgeries that must be refused as such (401), whatever else is wrong with the request."""
UNKNOWN_KID = "20261203000000-0badc0de"


@dataclass
class World:
    """The principals: a team's own and everyone who must be refused."""

    attempt: Attempt  # a running attempt of DAG team_a_etl (the victim)
    other: Attempt  # a running attempt of another DAG (team_b_etl)
    finished: Attempt  # an attempt that has ended
    admin: str
    worker_a: str  # the victim team's worker credential (patterns team_a_*)
    worker_b: str  # another team's worker credential (patterns team_b_*)
    worker_a_id: str
    revoked_admin: str
    revoked_worker: str
    signing_key: str
    deleted_kid: str  # a rotated key, retired, expired and deleted from the database
    deleted_key: str  # ... and its secret, as an attacker who kept a copy has it


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(attempt: Attempt, scope: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(attempt.id),
        "aud": "baton:execution",
        "scope": scope,
        "try": 1,
        "iat": now,
        "exp": now + 600,
        **extra,
    }


def _task_forgeries(world: World, scope: str) -> dict[str, str]:
    """Tokens for the victim's attempt that no server key signed as they are."""
    good = world.attempt.execution_token if scope == "execution" else world.attempt.workload_token
    header, payload, signature = good.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    claims = _claims(world.attempt, scope)
    return {
        "altered signature": f"{header}.{payload}.{flipped}",
        "altered claims": f"{header}.{_b64({**claims, 'sub': str(world.other.id)})}.{signature}",
        "unsigned (alg none)": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.",
        "re-keyed (another server's key)": jwt.encode(
            claims, "another-server-" + "k" * 40, algorithm="HS256"
        ),
        "expired": jwt.encode(
            {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
            world.signing_key,
            algorithm="HS256",
        ),
        "wrong audience": jwt.encode({**claims, "aud": "baton:admin"}, world.signing_key, algorithm="HS256"),
        "retired and deleted key": jwt.encode(
            claims, world.deleted_key, algorithm="HS256", headers={"kid": world.deleted_kid}
        ),
        # Signed with the configured key, which does verify: only the key id is wrong.
        "unknown key id": jwt.encode(
            claims, world.signing_key, algorithm="HS256", headers={"kid": UNKNOWN_KID}
        ),
    }


def _principals(world: World, path: str, operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """(who, headers) of everyone who must be refused by this operation."""
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    op_id = operation["operationId"]
    yield "no token", {}
    yield "garbage", {"Authorization": "Bearer not-a-token"}
    yield "not a bearer", {"Authorization": f"Basic {world.admin}"}
    if "TaskToken" in schemes:
        is_run = op_id == "run_task_instance"
        scope = "workload" if is_run else "execution"
        yield "admin token", _bearer(world.admin)
        yield "worker credential", _bearer(world.worker_a)
        for name, token in _task_forgeries(world, scope).items():
            yield name, _bearer(token)
        if is_run:
            yield "execution token where a workload token is needed", _bearer(world.attempt.execution_token)
        else:
            yield "workload token where an execution token is needed", _bearer(world.attempt.workload_token)
            yield "a finished attempt's token", _bearer(world.finished.execution_token)
        if "{task_instance_id}" in path or op_id in {"push_xcom", "delete_xcom"}:
            yield (
                "another task's token",
                _bearer(world.other.workload_token if is_run else world.other.execution_token),
            )
        if op_id in {"pull_xcom"}:
            yield "another DAG's task", _bearer(world.other.execution_token)
    elif "WorkerCredential" in schemes:
        yield "admin token", _bearer(world.admin)
        yield "task token", _bearer(world.attempt.execution_token)
        yield "revoked worker credential", _bearer(world.revoked_worker)
        if "{worker_id}" in path or op_id == "register_dags":
            yield "another team's worker credential", _bearer(world.worker_b)
    elif "AdminToken" in schemes:
        yield "worker credential", _bearer(world.worker_a)
        yield "task token", _bearer(world.attempt.execution_token)
        yield "revoked admin token", _bearer(world.revoked_admin)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


BODIES: dict[str, dict[str, Any]] = {
    "run_task_instance": {
        "hostname": "attacker",
        "pid": 6666,
        "unix_user": "x",
        "start_date": "2026-12-03T00:00:00Z",
    },
    "heartbeat_task_instance": {"hostname": "worker-1.example", "pid": 4242},
    "update_task_instance_state": {"state": "success", "end_date": "2026-12-03T00:00:00Z"},
    "upload_task_logs": {"lines": [{"timestamp": "2026-12-03T00:00:00Z", "level": "info", "message": "x"}]},
    "set_variable": {"value": "pwned"},
    "push_xcom": {"value": "pwned"},
    "register_worker": {"name": "intruder", "queues": ["default"], "capacity": 1, "runtime": "python"},
    "register_dags": {"dags": [dag("team_a_etl", task("t", queue="stolen"))]},
    "claim_workloads": {"max_workloads": 10},
    "admin_set_variable": {"value": "pwned"},
    "admin_set_variable_grants": {"read_dag_ids": None, "write_dag_ids": None},
    "admin_set_connection": {"conn_type": "http", "host": "evil.example", "allowed_dag_ids": None},
    "update_dag": {"is_paused": True},
    "trigger_dag_run": {},
    "clear_task_instance": {"include_downstream": True},
    "mark_task_instance": {"state": "failed"},
    "mark_dag_run": {"state": "failed"},
    "admin_set_pool": {"slots": 1},
    "create_backfill": {"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-02T00:00:00Z"},
}
QUERIES: dict[str, dict[str, Any]] = {"delete_dag": {"confirm": "team_a_etl"}}


def _url(path: str, world: World) -> str:
    values = {
        "task_instance_id": str(world.attempt.id),
        "worker_id": world.worker_a_id,
        "key": "k",
        "connection_id": "c",
        "name": "default_pool",
        "dag_id": "team_a_etl",
        "run_id": world.attempt.run_id,
        "task_id": world.attempt.task_id,
        "backfill_id": "00000000-0000-0000-0000-000000000000",
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


async def _world(server: ServerHarness, client: httpx.AsyncClient) -> World:
    from baton_server.services.credentials import issue_credential, revoke_credential

    worker_a = await new_worker_token(server, "team-a", dags=["team_a_*"])
    worker_b = await new_worker_token(server, "team-b", dags=["team_b_*"])
    async with fake_worker(server, "a-1", token=worker_a) as a:
        await a.register_dags(dag("team_a_etl", task("extract")))
        worker_a_id = a.id
    async with fake_worker(server, "b-1", token=worker_b) as b:
        await b.register_dags(dag("team_b_etl", task("extract")))
    attempt = await started(server.runtime, client, dag_id="team_a_etl", task_ids=("extract", "done"))
    other = (await started(server.runtime, client, dag_id="team_b_etl", run_id="manual__2"))["extract"]
    finished = attempt["done"]
    over = await client.patch(
        f"/execution/task-instances/{finished.id}/state",
        json={"state": "success", "end_date": "2026-12-03T00:00:00Z"},
        headers=finished.headers(),
    )
    assert over.status_code == 200, over.text
    admin = await new_admin_token(server)
    async with server.client(token=admin) as http:
        await http.put("/api/variables/k", json={"value": "secret"})
        await http.put(
            "/api/variables/k/grants", json={"read_dag_ids": ["team_a_etl"], "write_dag_ids": ["team_a_etl"]}
        )
        await http.put(
            "/api/connections/c",
            json={"conn_type": "http", "host": "h", "password": "p", "allowed_dag_ids": ["team_a_etl"]},
        )
    async with server.runtime.sessions() as session:
        revoked_admin = await issue_credential(session, "admin", "gone")
        revoked_worker = await issue_credential(session, "worker", "gone")
        await revoke_credential(session, revoked_admin.id)
        await revoke_credential(session, revoked_worker.id)
    key = server.settings.signing_key
    assert key is not None
    deleted_kid, deleted_key = await _retired_and_deleted_key(server)
    return World(
        attempt=attempt["extract"],
        other=other,
        finished=finished,
        admin=admin,
        worker_a=worker_a,
        worker_b=worker_b,
        worker_a_id=worker_a_id,
        revoked_admin=revoked_admin.token,
        revoked_worker=revoked_worker.token,
        signing_key=key.get_secret_value(),
        deleted_kid=deleted_kid,
        deleted_key=deleted_key,
    )


async def _retired_and_deleted_key(server: ServerHarness) -> tuple[str, str]:
    """Rotate to a key, away from it, past its tokens' lifetime, and once more: it is deleted.

    The world's tokens, signed with the configured key before, still verify (retired, not expired)."""
    from baton_server.db.tables import SigningKeyRecord
    from baton_server.services.signing_keys import DROPPED_AT, rotate

    runtime = server.runtime
    max_ttl = runtime.tokens.max_ttl
    async with runtime.sessions() as session:
        doomed = await rotate(session, runtime.cipher, algorithm="HS256", max_ttl=max_ttl)
        record = await session.get(SigningKeyRecord, doomed.kid)
        assert record is not None
        secret = runtime.cipher.decrypt(record.private_encrypted)
        assert secret is not None
        await rotate(session, runtime.cipher, algorithm="EdDSA", max_ttl=max_ttl)
        await session.execute(
            update(SigningKeyRecord).where(SigningKeyRecord.kid == doomed.kid).values(retired_at=DROPPED_AT)
        )
        await session.commit()
        await rotate(session, runtime.cipher, algorithm="HS256", max_ttl=max_ttl)
        assert await session.get(SigningKeyRecord, doomed.kid, populate_existing=True) is None
    await runtime.load_signing_keys()
    return doomed.kid, secret


@pytest.mark.parametrize("version", supported_versions())
async def test__every_operation__every_wrong_principal_refused(
    server: ServerHarness, client: httpx.AsyncClient, version: str
) -> None:
    world = await _world(server, client)
    outcomes: Counter[str] = Counter()
    allowed: list[str] = []
    for method, path, operation in operations(version):
        if operation["operationId"] in HEALTH:
            continue
        body = BODIES.get(operation["operationId"])
        if operation["operationId"] == "reissue_task_tokens":
            body = {"task_instance_ids": [str(world.attempt.id), str(world.other.id)]}
        if body is not None and version < "2026-10-15":
            body = {k: v for k, v in body.items() if k != "unix_user"}  # added in 2026-10-15
        for who, headers in _principals(world, path, operation):
            async with server.client(version=version) as http:
                response = await http.request(
                    method,
                    _url(path, world),
                    json=body,
                    headers=headers,
                    params={"map_index": -1} if "xcoms" in path else QUERIES.get(operation["operationId"]),
                )
            if who in UNAUTHENTICATED and response.status_code != 401:
                allowed.append(f"{method} {path} as {who}: {response.status_code}, not 401")
            if response.status_code in REFUSED:
                outcomes["refused"] += 1
            elif response.status_code < 300:
                outcomes["allowed"] += 1
                allowed.append(f"{method} {path} as {who}: {response.status_code}")
            else:
                outcomes[f"other {response.status_code}"] += 1
                allowed.append(f"{method} {path} as {who}: {response.status_code} {response.text[:200]}")
    total = sum(outcomes.values())
    print(
        f"\nattack suite {version}: {total} attacks, {outcomes['refused']} refused, "
        f"{outcomes['allowed']} wrongly allowed"
    )
    assert allowed == [], "\n".join(allowed)
    assert total > 150, total
