"""Each request holds at most one pooled connection at a time: a pool of one serves everything."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from baton_server.api.versions import supported_versions
from baton_server.db.tables import DagRunRecord, VariableRecord
from baton_server.services.credentials import issue_credential
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, started


@pytest.fixture
async def one_connection_server(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[ServerHarness]:
    harness = ServerHarness(
        make_settings(await databases.create(), tmp_path, db_pool_size=1, db_pool_timeout=3)
    )
    await harness.start()
    yield harness
    await harness.stop()


@pytest.mark.parametrize("version", supported_versions())
async def test__pool_of_one__every_kind_of_route_answers(
    one_connection_server: ServerHarness, version: str
) -> None:
    server = one_connection_server
    async with server.runtime.sessions() as session:
        admin_token = (await issue_credential(session, "admin", "a")).token
    async with server.client() as latest:
        attempt = (await started(server.runtime, latest, run_id=f"r-{version}"))["extract"]
    async with server.client(version=version) as client:
        h = attempt.headers()
        admin = {"Authorization": f"Bearer {admin_token}"}
        calls = [
            client.put("/execution/variables/v", json={"value": 1}, headers=h),
            client.get("/execution/variables/v", headers=h),
            client.put(f"/execution/xcoms/etl/r-{version}/extract/k", json={"value": 2}, headers=h),
            client.get(f"/execution/xcoms/etl/r-{version}/extract/k", headers=h),
            client.get(f"/execution/task-instances/{attempt.id}/task-state-counts", headers=h),
            client.put(
                f"/execution/task-instances/{attempt.id}/heartbeat",
                json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
                headers=h,
            ),
            client.get("/api/variables", headers=admin),
            client.get(f"/api/task-instances/{attempt.id}", headers=admin),
        ]
        # Concurrently: with one connection, a request that held two would wait for itself.
        responses = await asyncio.gather(*calls)
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 204, 200, 200], [
        r.text for r in responses
    ]


async def test__pool_of_one__many_concurrent_heartbeats(one_connection_server: ServerHarness) -> None:
    server = one_connection_server
    async with server.client() as client:
        attempts = await started(server.runtime, client, task_ids=tuple(f"t{n}" for n in range(10)))
        body = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}
        responses: list[httpx.Response] = await asyncio.gather(
            *(
                client.put(f"/execution/task-instances/{a.id}/heartbeat", json=body, headers=a.headers())
                for a in attempts.values()
                for _ in range(5)
            )
        )
    assert {r.status_code for r in responses} == {204}


async def test__pool_of_one__finished_attempts_advance_their_run_at_once(
    one_connection_server: ServerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    # Finishing an attempt resolves its run in a transaction of its own. It once did so while the
    # request still held its connection: with a pool of one it waited for itself, and two replicas
    # behind a load balancer starved their pools of ten (a fault-suite run stalled for 600 s).
    server = one_connection_server
    caplog.set_level(logging.ERROR, logger="baton_server")
    async with server.client() as client:
        tasks = [
            {
                "task_id": t,
                "entry_point": f"tasks:{t}",
                "upstream_task_ids": [],
                "queue": "default",
                "runtime": "python",
                "retries": 0,
                "retry_delay_seconds": 0,
                "execution_timeout": 60,
                "trigger_rule": "all_success",
            }
            for t in ("a", "b", "c")
        ]
        description = {"dag_id": "etl", "tasks": tasks}
        attempts = await started(server.runtime, client, task_ids=("a", "b", "c"), description=description)
        for attempt in attempts.values():
            finished = await client.patch(
                f"/execution/task-instances/{attempt.id}/state",
                json={"state": "success", "end_date": "2026-11-24T12:00:00Z"},
                headers=attempt.headers(),
            )
            assert finished.status_code == 200, finished.text
    failures = [r.getMessage() for r in caplog.records if "finished attempt failed" in r.getMessage()]
    assert failures == []
    async with server.runtime.sessions() as session:
        run = await session.get(DagRunRecord, next(iter(attempts.values())).dag_run_id)
    assert run is not None
    assert run.state == "success"  # resolved by the last finish itself, not left for a pass
    # The last finish advanced the run in a transaction on its own connection, the pool's only one:
    # it went back to autocommit, so a task's write after it is committed at once.
    async with server.client() as client:
        later = (await started(server.runtime, client, run_id="later"))["extract"]
        written = await client.put("/execution/variables/after", json={"value": 7}, headers=later.headers())
        assert written.status_code == 200, written.text
    outside = create_async_engine(server.settings.effective_database_url)
    try:
        async with outside.connect() as conn:
            stored = await conn.scalar(select(VariableRecord.value).where(VariableRecord.key == "after"))
    finally:
        await outside.dispose()
    assert stored == "7"
