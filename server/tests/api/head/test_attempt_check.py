"""Variable, connection and XCom requests check the caller's attempt in their own statement: a success
costs one round trip (no read of the attempt before it), and every other answer — its status, its
reason, which refusal comes first, the refreshed token — is the one the general path gives."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.db.tables import TaskInstanceRecord
from baton_server.services import task_instances
from baton_server.services.tokens import TokenService
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import Attempt, started
from tests.orchestration import new_admin_token

LIMIT = 1024  # the smallest value and XCom size limits the settings take


@pytest.fixture(params=[True, False], ids=["fast-lane", "declared-route"])
async def either_path(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[ServerHarness]:
    settings = make_settings(
        await databases.create(),
        tmp_path,
        fast_lanes=request.param,
        variable_max_bytes=LIMIT,
        xcom_max_bytes=LIMIT,
    )
    harness = ServerHarness(settings)
    await harness.start()
    yield harness
    await harness.stop()


async def _seed(server: ServerHarness) -> None:
    """A connection and variables of each kind: global, granted to DAG etl only, read-only for everyone."""
    async with server.client(token=await new_admin_token(server)) as admin:
        connection: dict[str, Any] = {
            "conn_type": "postgres",
            "host": "db",
            "password": "ü",
            "allowed_dag_ids": None,
        }
        assert (await admin.put("/api/connections/open", json=connection)).is_success
        assert (await admin.put("/api/connections/etl-only", json=connection)).is_success
        grants: list[tuple[str, Any, Any]] = [("global", None, None), ("etl", ["etl"], ["etl"])]
        grants.append(("read-only", None, []))
        for key, read, write in grants:
            assert (await admin.put(f"/api/variables/{key}", json={"value": key})).is_success
            body = {"read_dag_ids": read, "write_dag_ids": write}
            assert (await admin.put(f"/api/variables/{key}/grants", json=body)).is_success
        connection["allowed_dag_ids"] = ["etl"]
        assert (await admin.put("/api/connections/etl-only", json=connection)).is_success


def _xcom(attempt: Attempt, task_id: str | None = None, dag_id: str | None = None) -> str:
    return f"/execution/xcoms/{dag_id or attempt.dag_id}/{attempt.run_id}/{task_id or attempt.task_id}/out"


async def _calls(client: httpx.AsyncClient, a: Attempt, other: Attempt, headers: dict[str, str]) -> list[Any]:
    """Every request of a task that its own statement checks, succeeding and refused; (status, reason)."""
    big = "x" * LIMIT
    calls = [
        client.put("/execution/variables/fresh", json={"value": 1}, headers=headers),
        client.put("/execution/variables/global", json={"value": 2}, headers=headers),
        client.put("/execution/variables/etl", json={"value": 3}, headers=headers),
        client.put("/execution/variables/read-only", json={"value": 4}, headers=headers),
        client.put("/execution/variables/fresh", json={"value": big}, headers=headers),
        client.get("/execution/variables/global", headers=headers),
        client.get("/execution/variables/etl", headers=headers),
        client.get("/execution/variables/absent", headers=headers),
        client.put(_xcom(a), json={"value": [1]}, headers=headers),
        client.put(_xcom(a), json={"value": big}, headers=headers),
        client.put(_xcom(a, task_id=other.task_id), json={"value": big}, headers=headers),
        client.get(_xcom(a), headers=headers),
        client.get(_xcom(a, task_id="absent"), headers=headers),
        client.get(_xcom(a, dag_id="elsewhere"), headers=headers),
        client.get("/execution/connections/open", headers=headers),
        client.get("/execution/connections/etl-only", headers=headers),
        client.get("/execution/connections/absent", headers=headers),
    ]
    answers = []
    for call in calls:
        response = await call
        answers.append((response.status_code, response.json().get("reason") if response.content else None))
    return answers


async def _end(server: ServerHarness, attempt: Attempt) -> None:
    async with server.runtime.sessions() as session:
        await session.execute(
            update(TaskInstanceRecord).where(TaskInstanceRecord.id == attempt.id).values(state="success")
        )
        await session.commit()


async def test__answers__as_the_general_path_gives_them(either_path: ServerHarness) -> None:
    await _seed(either_path)
    async with either_path.client() as client:
        mine = await started(either_path.runtime, client, dag_id="etl")
        theirs = await started(either_path.runtime, client, dag_id="other", run_id="manual__2")
        a, b = mine["extract"], mine["transform"]
        running = await _calls(client, a, b, a.headers())
        outsider = await _calls(client, theirs["extract"], b, theirs["extract"].headers())
        workload = await _calls(client, a, b, {"Authorization": f"Bearer {a.workload_token}"})
        await _end(either_path, a)
        ended = await _calls(client, a, b, a.headers())
    assert running == [
        (200, None),
        (200, None),
        (200, None),
        (403, "variable_not_writable"),
        (413, "variable_too_large"),
        (200, None),
        (200, None),
        (404, "variable_not_found"),
        (200, None),
        (413, "xcom_too_large"),
        (403, "xcom_not_owned"),  # another task's address: refused before its size
        (200, None),
        (404, "xcom_not_found"),
        (403, "xcom_outside_dag"),
        (200, None),
        (200, None),
        (404, "connection_not_found"),
    ]
    assert [answer for answer, (status, _) in zip(outsider, running, strict=True) if status == 200] == [
        (200, None),
        (200, None),
        (403, "variable_not_writable"),
        (200, None),
        (403, "variable_not_granted"),
        (200, None),
        (200, None),
        (200, None),
        (403, "connection_not_granted"),
    ]
    assert set(workload) == {(403, "execution_token_required")}
    # Once the attempt is over its token is refused before anything else is looked at.
    assert set(ended) == {(401, "task_attempt_finished")}


async def test__success__takes_one_statement_without_reading_the_attempt(
    either_path: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(either_path)
    async with either_path.client() as client:
        attempts = await started(either_path.runtime, client, dag_id="etl")
        a, b = attempts["extract"], attempts["transform"]

        reads: list[object] = []
        read_attempt = task_instances._read_attempt

        async def counted(*args: Any) -> Any:
            reads.append(args)
            return await read_attempt(*args)

        monkeypatch.setattr(task_instances, "_read_attempt", counted)
        sessions: list[object] = []  # ORM sessions that took a connection (a task request takes none)

        def begun(session: Session, transaction: object, connection: object) -> None:
            sessions.append(session)

        event.listen(Session, "after_begin", begun)
        try:
            h = a.headers()
            answers = [
                await client.put("/execution/variables/fresh", json={"value": 1}, headers=h),
                await client.get("/execution/variables/fresh", headers=h),
                await client.put(_xcom(a), json={"value": [1]}, headers=h),
                await client.get(_xcom(a), headers=h),
                await client.get("/execution/connections/open", headers=h),
                # These two read the attempt first (AttemptDep), on the same bare connection.
                await client.get(f"/execution/task-instances/{a.id}/task-state-counts", headers=h),
                await client.get(f"/execution/task-instances/{a.id}/previous-successful-run", headers=h),
            ]
        finally:
            event.remove(Session, "after_begin", begun)
        assert [response.status_code for response in answers] == [200] * 7
        assert len(reads) == 2, "a successful request but the last two read its attempt on its own"
        assert sessions == [], "a task's request opened an ORM session instead of a bare connection"
        # A refusal takes the general path, which reads the attempt to say why (a lane's refusal is
        # then replayed to the declared route, which reads it again).
        refused = await client.get(_xcom(a, task_id=b.task_id), headers=h)
        assert refused.status_code == 404
        assert reads, "the general path reads the attempt"


def _near_expiry(server: ServerHarness, attempt: Attempt) -> str:
    key = server.settings.signing_key
    assert key is not None
    return TokenService(key.get_secret_value(), workload_ttl=3600, execution_ttl=30).issue(
        attempt.id, 1, "execution"
    )


async def test__token_near_expiry__refreshed_while_the_attempt_runs_only(either_path: ServerHarness) -> None:
    await _seed(either_path)
    async with either_path.client() as client:
        a = (await started(either_path.runtime, client, dag_id="etl"))["extract"]
        h = {"Authorization": f"Bearer {_near_expiry(either_path, a)}"}
        answers = [
            await client.put("/execution/variables/fresh", json={"value": 1}, headers=h),
            await client.get("/execution/variables/fresh", headers=h),
            await client.get("/execution/variables/absent", headers=h),  # refused after the check
            await client.put(_xcom(a), json={"value": [1]}, headers=h),
            await client.get(_xcom(a), headers=h),
            await client.get("/execution/connections/open", headers=h),
        ]
        for response in answers:
            fresh = response.headers.get("Refreshed-API-Token")
            assert fresh is not None, (response.request.url, response.status_code)
            claims = either_path.runtime.tokens.verify(fresh)
            assert (claims.task_instance_id, claims.scope) == (a.id, "execution")
            assert claims.expires_at - time.time() > 300
        await _end(either_path, a)
        ended = await client.get("/execution/variables/fresh", headers=h)
    assert ended.status_code == 401
    assert "Refreshed-API-Token" not in ended.headers


async def test__unknown_task_instance__401_on_every_checked_route(either_path: ServerHarness) -> None:
    token = either_path.runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    h = {"Authorization": f"Bearer {token}"}
    async with either_path.client() as client:
        answers = [
            await client.put("/execution/variables/fresh", json={"value": 1}, headers=h),
            await client.get("/execution/variables/fresh", headers=h),
            await client.put("/execution/xcoms/etl/manual__1/extract/out", json={"value": 1}, headers=h),
            await client.get("/execution/xcoms/etl/manual__1/extract/out", headers=h),
            await client.get("/execution/connections/open", headers=h),
        ]
    assert {(r.status_code, r.json()["reason"]) for r in answers} == {(401, "task_attempt_finished")}
