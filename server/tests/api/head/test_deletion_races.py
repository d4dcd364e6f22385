"""Writes that race a deletion on PostgreSQL: each answers as if it came just after, never with a 500.

Every test makes the interleaving happen rather than hope for it: a transaction of its own holds the
deletion (or the write) uncommitted, the request under test is sent and waits for its lock, then the
held transaction commits. Found by bursts of concurrent calls on one DAG: XCom pushes and log batches
refused by a foreign key, a run triggered into a DAG being deleted, a DAG deletion refused by the run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from baton_server.db.direct import Direct
from baton_server.services import logs as logs_service
from baton_server.services import workloads as workloads_service
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, dag, fake_worker, scheduler_pass, task

pytestmark = pytest.mark.postgres_only

LOCK_WAIT_DEADLINE_S = 120.0
"""How long a request may take to reach its lock wait: generous, a busy machine is slow, not wrong."""


@asynccontextmanager
async def _held(server: ServerHarness) -> AsyncIterator[AsyncConnection]:
    """A transaction of the test's own on the server's database, rolled back unless committed."""
    engine = create_async_engine(server.settings.database_url)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            yield conn
    finally:
        await engine.dispose()


async def _waiting_for_a_lock(held: AsyncConnection, request: asyncio.Task[httpx.Response]) -> None:
    """Return once another backend waits for a lock ``held`` holds (the request reached it)."""
    mine = (await held.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    deadline = asyncio.get_running_loop().time() + LOCK_WAIT_DEADLINE_S
    while asyncio.get_running_loop().time() < deadline:
        assert not request.done(), f"the request did not wait for the held transaction: {request.result()}"
        blocked = (
            await held.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                {"pid": mine},
            )
        ).scalar_one()
        if blocked:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no request waited for the held transaction")


async def _racing(
    server: ServerHarness, hold: list[str], params: dict[str, object], request: Awaitable[httpx.Response]
) -> httpx.Response:
    """Run ``hold`` in a transaction of its own, send ``request``, let it reach the lock, commit."""
    async with _held(server) as held:
        for statement in hold:
            await held.execute(text(statement), params)
        sent = asyncio.ensure_future(request)
        await _waiting_for_a_lock(held, sent)
        await held.commit()
    return await asyncio.wait_for(sent, LOCK_WAIT_DEADLINE_S)


async def _running(server: ServerHarness, admin: httpx.AsyncClient, worker: FakeWorker) -> tuple[dict, str]:
    """A workload of DAG ``doomed`` started by ``worker``, and its execution token."""
    await worker.register_dags(dag("doomed", task("work")))
    assert (await admin.post("/api/dags/doomed/dag-runs", json={"run_id": "r1"})).status_code == 201
    await scheduler_pass(server)
    (workload,) = await worker.claim()
    assert (await worker.start(workload)).status_code == 200
    return workload, worker.execution_tokens[workload["task_instance"]["id"]]


_DELETE_THE_TASK_INSTANCE = ["DELETE FROM task_instances WHERE id = :ti"]
_DELETE_THE_DAG = [
    "UPDATE dags SET latest_version_id = NULL WHERE dag_id = :dag",
    "DELETE FROM dags WHERE dag_id = :dag",  # its versions, runs and task instances with it
]


async def test__xcom_push__while_its_task_instance_is_deleted__401_task_attempt_finished(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        workload, token = await _running(server, admin, worker)
        ti = workload["task_instance"]
        answer = await _racing(
            server,
            _DELETE_THE_TASK_INSTANCE,
            {"ti": uuid.UUID(ti["id"])},
            worker.http.put(
                f"/execution/xcoms/doomed/r1/{ti['task_id']}/k",
                json={"value": 1},
                headers={"Authorization": f"Bearer {token}"},
            ),
        )
    assert (answer.status_code, answer.json()["reason"]) == (401, "task_attempt_finished"), answer.text


async def test__log_batch__its_task_instance_deleted_between_count_and_insert__401_task_attempt_finished(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch is two statements: the count (which waits for a deletion under way, see above) and the
    # insert. A deletion that commits between them leaves the insert a dangling reference.
    real = logs_service._INSERT_NEW_PG

    class _DeletedFirst:
        async def executemany(self, conn: AsyncConnection, rows: list[dict[str, object]]) -> None:
            async with _held(server) as held:
                await held.execute(text(_DELETE_THE_TASK_INSTANCE[0]), {"ti": rows[0]["l_task_instance_id"]})
                await held.commit()
            await real.executemany(conn, rows)

    async with fake_worker(server) as worker:
        workload, token = await _running(server, admin, worker)
        ti_id = workload["task_instance"]["id"]
        monkeypatch.setattr(logs_service, "_INSERT_NEW_PG", _DeletedFirst())
        line = {"timestamp": datetime.now(UTC).isoformat(), "level": "info", "message": "m"}
        answer = await worker.http.post(
            f"/execution/task-instances/{ti_id}/logs",
            json={"batch_id": str(uuid.uuid4()), "lines": [line]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (answer.status_code, answer.json()["reason"]) == (401, "task_attempt_finished"), answer.text


async def test__trigger__while_the_dag_is_deleted__404_dag_not_found(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("doomed", task("work")))
    # The DAG's rows go in one transaction, as the deletion does; the trigger read the DAG before.
    answer = await _racing(
        server,
        _DELETE_THE_DAG,
        {"dag": "doomed"},
        admin.post("/api/dags/doomed/dag-runs", json={"run_id": "late"}),
    )
    assert (answer.status_code, answer.json()["reason"]) == (404, "dag_not_found"), answer.text


async def test__backfill__while_the_dag_is_deleted__404_dag_not_found(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hourly = {"interval_seconds": 3600, "start_at": start.isoformat()}
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("doomed", task("work"), schedule=hourly))
    body = {"from_date": start.isoformat(), "to_date": (start + timedelta(hours=3)).isoformat()}
    answer = await _racing(
        server, _DELETE_THE_DAG, {"dag": "doomed"}, admin.post("/api/dags/doomed/backfills", json=body)
    )
    assert (answer.status_code, answer.json()["reason"]) == (404, "dag_not_found"), answer.text


async def test__dag_deletion__while_a_run_of_it_is_being_made__waits_for_it_and_deletes_it_too(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("doomed", task("work")))
    # A trigger's insert, held uncommitted: the deletion must not delete the DAG's versions under it.
    making_a_run = [
        "INSERT INTO dag_runs (id, dag_id, run_id, dag_version_id, run_type, state, logical_date, "
        "data_interval_start, data_interval_end, conf, queued_at) "
        "SELECT :id, dag_id, 'held', latest_version_id, 'manual', 'queued', now(), now(), now(), "
        "'{}'::json, now() FROM dags WHERE dag_id = :dag"
    ]
    answer = await _racing(
        server,
        making_a_run,
        {"id": uuid.uuid4(), "dag": "doomed"},
        admin.delete("/api/dags/doomed", params={"confirm": "doomed"}),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["dag_runs"] == 1  # the held run, committed before the deletion went on
    assert (await admin.get("/api/dags/doomed")).status_code == 404


async def _someone_waits_for_a_lock(server: ServerHarness, sent: asyncio.Future[httpx.Response]) -> None:
    """Return once a backend of the server's database waits for a lock (``sent`` reached one)."""
    engine = create_async_engine(server.settings.database_url)
    try:
        async with engine.connect() as conn:
            deadline = asyncio.get_running_loop().time() + LOCK_WAIT_DEADLINE_S
            while asyncio.get_running_loop().time() < deadline:
                assert not sent.done(), f"the request did not wait for a lock: {sent.result()}"
                waiting = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                    )
                ).scalar_one()
                await conn.rollback()
                if waiting:
                    return
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
    raise AssertionError("no request waited for a lock")


async def test__dag_deletion__while_a_claim_under_its_max_active_tasks_counts__both_succeed(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A claim under a DAG's max_active_tasks holds the candidates it read, then locks the DAG's row to
    # count. The deletion is sent once the claim holds its candidates, and the claim takes the DAG's row
    # only once the deletion waits for a lock: taking the DAG's row before the task instances, the
    # deletion waited for the claim's candidates while the claim waited for the row (a deadlock: one
    # of them failed with a 500).
    real = workloads_service._LOCK_DAGS
    candidates_held, deletion_sent = asyncio.Event(), asyncio.Event()
    deletion: asyncio.Future[httpx.Response] | None = None

    class _DeletionFirst(Direct):
        async def all(self, conn: AsyncConnection, params: Mapping[str, Any]) -> list[Any]:
            candidates_held.set()
            await deletion_sent.wait()
            assert deletion is not None
            await _someone_waits_for_a_lock(server, deletion)
            return await super().all(conn, params)

    async with fake_worker(server) as worker:
        await worker.register_dags(dag("doomed", task("one"), task("two"), max_active_tasks=5))
        assert (await admin.post("/api/dags/doomed/dag-runs", json={"run_id": "r1"})).status_code == 201
        assert (await scheduler_pass(server)).queued == 2
        monkeypatch.setattr(workloads_service, "_LOCK_DAGS", _DeletionFirst(real.statement))
        claim = asyncio.ensure_future(
            worker.http.post(f"/workers/{worker.id}/claims", json={"max_workloads": 2})
        )
        await asyncio.wait_for(candidates_held.wait(), LOCK_WAIT_DEADLINE_S)
        deletion = asyncio.ensure_future(admin.delete("/api/dags/doomed", params={"confirm": "doomed"}))
        deletion_sent.set()
        claimed, deleted = await asyncio.wait_for(asyncio.gather(claim, deletion), LOCK_WAIT_DEADLINE_S)
    assert claimed.status_code == 200, claimed.text
    assert len(claimed.json()["workloads"]) == 2  # claimed before the deletion, which then deleted them
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["task_instances"] == 2
    assert (await admin.get("/api/dags/doomed")).status_code == 404


_RETENTION_DELETES_THE_RUN = [
    "DELETE FROM task_logs WHERE task_instance_id IN (SELECT id FROM task_instances WHERE dag_run_id = :run)",
    "DELETE FROM xcoms WHERE task_instance_id IN (SELECT id FROM task_instances WHERE dag_run_id = :run)",
    "DELETE FROM task_instances WHERE dag_run_id = :run",
    "DELETE FROM dag_runs WHERE id = :run",
]
"""What a retention clean deletes of a run it locked (services/retention.py), in its order."""


@pytest.mark.parametrize(
    ("control", "body"), [("clear", {"include_downstream": True}), ("mark", {"state": "failed"})]
)
async def test__control_of_a_task_instance__while_retention_deletes_its_run__404_and_the_clean_commits(
    server: ServerHarness, admin: httpx.AsyncClient, control: str, body: dict[str, object]
) -> None:
    # A clean locks the finished runs it deletes (skipping those a control holds), then deletes their
    # task instances. A control that changed the task instances before it reopened their run waited for
    # the run while the clean waited for the task instances: a deadlock, one of them failed. Now the
    # control waits for the run, and finds it deleted.
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("old", task("work")))
        assert (await admin.post("/api/dags/old/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        (workload,) = await worker.claim()
        await worker.run(workload)
    run = (await admin.get("/api/dags/old/dag-runs/r1")).json()
    assert run["state"] == "success"
    ti_id = workload["task_instance"]["id"]
    params = {"run": uuid.UUID(run["id"])}
    async with _held(server) as held:
        await held.execute(text("SELECT id FROM dag_runs WHERE id = :run FOR UPDATE SKIP LOCKED"), params)
        sent = asyncio.ensure_future(admin.post(f"/api/task-instances/{ti_id}/{control}", json=body))
        await _waiting_for_a_lock(held, sent)
        for statement in _RETENTION_DELETES_THE_RUN:
            await held.execute(text(statement), params)
        await held.commit()
    answer = await asyncio.wait_for(sent, LOCK_WAIT_DEADLINE_S)
    assert (answer.status_code, answer.json()["reason"]) == (404, "task_instance_not_found"), answer.text
    assert (await admin.get("/api/dags/old/dag-runs/r1")).status_code == 404
