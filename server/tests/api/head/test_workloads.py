"""Claiming workloads over the Worker API: routing, capacity, long-polling and exactly-once hand-out."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.db.direct import Direct
from baton_server.db.tables import CLAIMABLE, TaskInstanceRecord
from baton_server.runtime import Runtime
from baton_server.scheduler.loop import Scheduler
from sqlalchemy import event, update

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.orchestration import dag, fake_worker, new_admin_token, new_worker_token, scheduler_pass, task


async def _queued(server: ServerHarness, admin: httpx.AsyncClient, dag_id: str, runs: int = 1) -> None:
    for index in range(runs):
        response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": f"run_{index}"})
        assert response.status_code == 201, response.text
    await scheduler_pass(server)


async def test__workload__carries_identity_attempt_entry_point_and_a_workload_token(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        registered = await worker.register_dags(
            dag(
                "etl",
                task("extract", entry_point="etl.tasks:extract", retries=2, execution_timeout_seconds=90),
            ),
            bundle_name="etl-bundle",
        )
        await _queued(server, admin, "etl")
        (workload,) = await worker.claim()
        heartbeat_with_workload_token = await worker.heartbeat_task(workload, token=workload["token"])
        started = await worker.start(workload)

    ti = workload["task_instance"]
    assert (ti["dag_id"], ti["run_id"], ti["task_id"], ti["map_index"], ti["try_number"]) == (
        "etl",
        "run_0",
        "extract",
        -1,
        1,
    )
    assert workload["max_tries"] == 3
    assert workload["dag_version_id"] == registered["dags"][0]["dag_version_id"]
    assert workload["bundle_name"] == "etl-bundle"
    assert (workload["runtime"], workload["queue"]) == ("python", "default")
    assert workload["entry_point"] == "etl.tasks:extract"
    assert workload["execution_timeout_seconds"] == 90
    assert server.runtime.tokens.verify(workload["token"]).scope == "workload"
    assert heartbeat_with_workload_token.status_code == 403  # a workload token only starts its attempt
    assert started.status_code == 200
    context = started.json()
    assert context["entry_point"] == "etl.tasks:extract"
    assert context["execution_timeout_seconds"] == 90


async def test__claim__only_the_workers_queues_and_runtime(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    description = dag(
        "mixed",
        task("py_default"),
        task("py_gpu", queue="gpu"),
        task("go_default", runtime="go"),
    )
    async with (
        fake_worker(server, "gpu-python", queues=("gpu",)) as gpu_worker,
        fake_worker(server, "go", runtime="go") as go_worker,
        fake_worker(server, "python") as py_worker,
    ):
        await py_worker.register_dags(description)
        await _queued(server, admin, "mixed")
        gpu = [w["task_instance"]["task_id"] for w in await gpu_worker.claim()]
        go = [w["task_instance"]["task_id"] for w in await go_worker.claim()]
        py = [w["task_instance"]["task_id"] for w in await py_worker.claim()]
        not_served = await py_worker.http.post(f"/workers/{py_worker.id}/claims", json={"queues": ["gpu"]})

    assert (gpu, go, py) == (["py_gpu"], ["go_default"], ["py_default"])
    assert not_served.status_code == 422
    assert not_served.json()["reason"] == "queue_not_served"


@pytest.mark.parametrize("path", ["any DAG", "the credential's DAGs", "under a pool's slots"])
async def test__claim__of_several_queues__oldest_first_across_them(
    server: ServerHarness, admin: httpx.AsyncClient, path: str
) -> None:
    # Queued in an order that goes back and forth between the worker's two queues.
    order = ["t3", "t0", "t4", "t1", "t5", "t2"]
    queues = {"t0": "a", "t1": "b", "t2": "a", "t3": "b", "t4": "a", "t5": "b"}
    if path == "under a pool's slots":
        assert (await admin.put("/api/pools/wide", json={"slots": 10})).status_code == 200
    pool = {"pool": "wide"} if path == "under a pool's slots" else {}
    token = (
        await new_worker_token(server, "two-queues", ["spread*"]) if path == "the credential's DAGs" else None
    )
    async with fake_worker(server, "two-queues", token=token, queues=("a", "b")) as worker:
        await worker.register_dags(dag("spread", *(task(t, queue=queues[t], **pool) for t in sorted(queues))))
        await _queued(server, admin, "spread")
        start = datetime(2026, 12, 6, tzinfo=UTC)
        async with server.runtime.sessions() as session:
            for n, task_id in enumerate(order):
                await session.execute(
                    update(TaskInstanceRecord)
                    .where(TaskInstanceRecord.task_id == task_id)
                    .values(queued_at=start + timedelta(seconds=n))
                )
            await session.commit()
        claimed = [
            [w["task_instance"]["task_id"] for w in await worker.claim(max_workloads=n)] for n in (2, 1, 1, 5)
        ]

    assert claimed == [["t3", "t0"], ["t4"], ["t1"], ["t5", "t2"]]


async def test__claim__never_more_than_free_capacity_or_max_workloads__one_after_another_or_at_once(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, capacity=3) as worker:
        await worker.register_dags(dag("wide", *(task(f"t{i}") for i in range(10))))
        await _queued(server, admin, "wide")
        first = await worker.claim(max_workloads=2)
        second = await worker.claim(max_workloads=5)
        full = await worker.claim(max_workloads=5)
        await worker.run(first[0])
        after_one_done = await worker.claim(max_workloads=5)
        for workload in (*first[1:], *second, *after_one_done):
            await worker.run(workload)
        # Each claim counts the worker's free slots under the worker's row lock, so claims that waited
        # for it count the workloads of the ones before them.
        at_once = await asyncio.gather(*(worker.claim(max_workloads=2) for _ in range(6)))

    assert [len(first), len(second), len(full), len(after_one_done)] == [2, 1, 0, 1]
    assert sum(len(c) for c in at_once) == 3


async def test__claim__bad_input__422(server: ServerHarness) -> None:
    async with fake_worker(server) as worker:
        for body in (
            {"max_workloads": 0},
            {"max_workloads": "3"},
            {"wait_seconds": "1"},
            {"wait_seconds": 61},
        ):
            response = await worker.http.post(f"/workers/{worker.id}/claims", json=body)
            assert response.status_code == 422, body


@contextlib.asynccontextmanager
async def _own_server(
    databases: DatabaseFactory, tmp_path: Path, **settings: Any
) -> AsyncIterator[ServerHarness]:
    """A server of the test's own, with these settings (a claim's longest wait, say), stopped at the end."""
    harness = ServerHarness(make_settings(await databases.create(), tmp_path / "data", **settings))
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def _waiting(
    harness: ServerHarness, claim: Awaitable[list[dict[str, Any]]]
) -> asyncio.Task[list[dict[str, Any]]]:
    """``claim`` under way, once it waits: the fast lane's look and the declared route's first are made."""
    with _OwnLooks(harness, enough=2) as looks:
        waiting = asyncio.ensure_future(claim)
        await asyncio.wait_for(looks.enough.wait(), 120)
    return waiting


async def test__claim__long_poll__returns_as_soon_as_work_is_queued(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # The claim may wait 60 s: returning long before that means it saw the work as it was queued,
    # however slow the machine is at queueing it.
    async with (
        _own_server(databases, tmp_path, claim_max_wait=60) as harness,
        harness.client(token=await new_admin_token(harness)) as admin,
        fake_worker(harness) as worker,
    ):
        await worker.register_dags(dag("later", task("work")))
        started = time.monotonic()
        waiting = asyncio.create_task(worker.claim(wait=60))
        await _queued(harness, admin, "later")
        claimed = await waiting
        elapsed = time.monotonic() - started
    assert [w["task_instance"]["task_id"] for w in claimed] == ["work"]
    assert elapsed < 50


async def test__claim__long_poll__capped_and_holds_no_connection_while_waiting(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # One pooled connection, a claim capped at 10 s of its 60: the heartbeat beside it only gets an
    # answer while the claim still waits if the claim holds no connection while it waits.
    async with (
        _own_server(
            databases, tmp_path, db_pool_size=1, db_pool_timeout=60.0, claim_max_wait=10.0
        ) as harness,
        fake_worker(harness) as worker,
    ):
        started = time.monotonic()
        waiting = asyncio.create_task(worker.claim(wait=60))
        await asyncio.sleep(0.2)
        beside = await worker.http.put(f"/workers/{worker.id}/heartbeat")
        assert not waiting.done()
        claimed = await waiting
        elapsed = time.monotonic() - started
    assert beside.status_code == 200
    assert claimed == []
    assert 9.5 <= elapsed < 60  # waited its cap, not the 60 s it asked for


class _OwnLooks:
    """The claims' own looks at the queue on a server's engine, through SQLAlchemy or on the driver (a
    direct statement's) — a statement that reads the claimable rows and counts the worker's slots: the
    look, or on PostgreSQL the claim the look is folded into — and an event set once ``enough`` of them
    were made."""

    def __init__(self, harness: ServerHarness, enough: int = 0) -> None:
        self.statements: list[str] = []
        self.enough = asyncio.Event()
        self._wanted = enough
        self._loop = asyncio.get_running_loop()
        self._engine = harness.runtime.engine.sync_engine
        self._driver_call = Direct.__dict__["_call"]

    def _count(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if CLAIMABLE in statement and "count(" in statement:
            self.statements.append(statement)
            if self._wanted and len(self.statements) >= self._wanted:
                self._loop.call_soon_threadsafe(self.enough.set)

    def __enter__(self) -> _OwnLooks:
        event.listen(self._engine, "before_cursor_execute", self._count)
        call = self._driver_call.__func__

        async def counted(conn: object, driver: object, method: str, *args: object) -> object:
            self._count(conn, None, str(args[0]))
            return await call(conn, driver, method, *args)

        Direct._call = staticmethod(counted)  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._count)
        Direct._call = self._driver_call  # type: ignore[method-assign]


async def test__claim__long_poll__idle_claims_look_once_each_and_share_the_watch(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # Each claim looks at the queue twice (the fast lane's look, then the declared route's first, which
    # waits); while it waits, only the process's watch looks, for every waiting claim at once. A claim
    # that looked again on its own every half second would look once more in its 3 s at least, however
    # slow the machine.
    async with _own_server(databases, tmp_path, claim_max_wait=3) as harness:
        names = [f"idle-{n}" for n in range(6)]
        tokens = [await new_worker_token(harness, name) for name in names]
        async with contextlib.AsyncExitStack() as stack:
            workers = [
                await stack.enter_async_context(fake_worker(harness, name, token=token))
                for name, token in zip(names, tokens, strict=True)
            ]
            with _OwnLooks(harness) as looks:
                claimed = await asyncio.gather(*(worker.claim(wait=60) for worker in workers))
    assert claimed == [[] for _ in workers]
    assert len(looks.statements) == 2 * len(workers)


async def test__claim__long_poll__sees_work_queued_by_another_process_without_a_wake_up(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # Another process queues the work (its wake-ups reach its own claims only, as on SQLite): the
    # waiting claim gets it through the watch's look, long before its 60 s.
    async with _own_server(databases, tmp_path, claim_max_wait=60) as harness:
        other = Runtime.create(harness.settings)
        try:
            async with (
                harness.client(token=await new_admin_token(harness)) as admin,
                fake_worker(harness) as worker,
            ):
                await worker.register_dags(dag("elsewhere", task("work")))
                response = await admin.post("/api/dags/elsewhere/dag-runs", json={"run_id": "run_0"})
                assert response.status_code == 201, response.text
                waiting = await _waiting(harness, worker.claim(wait=60))
                started = time.monotonic()
                report = await Scheduler(other).run_once()
                claimed = await waiting
                elapsed = time.monotonic() - started
        finally:
            await other.close()
    assert report.queued == 1
    assert [w["task_instance"]["task_id"] for w in claimed] == ["work"]
    assert elapsed < 50
    assert harness.runtime.claim_watch.looks >= 1


async def test__claim__long_poll__two_claims_of_one_worker_woken_together_keep_to_its_capacity(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # Both claims of a worker with one slot wait; one wake-up ends both waits at once. Each looks again
    # under the worker's row lock, as at its first look, so the second counts the first's workload.
    async with (
        _own_server(databases, tmp_path, claim_max_wait=3) as harness,
        harness.client(token=await new_admin_token(harness)) as admin,
        fake_worker(harness, capacity=1) as worker,
    ):
        await worker.register_dags(dag("pair", task("a"), task("b")))
        with _OwnLooks(harness, enough=4) as looks:  # the lane's and the route's first look of each
            waiting = [asyncio.create_task(worker.claim(max_workloads=1, wait=60)) for _ in range(2)]
            await asyncio.wait_for(looks.enough.wait(), 120)
            await _queued(harness, admin, "pair")  # the pass wakes the waiting claims
            claimed = await asyncio.gather(*waiting)
    assert sorted(len(c) for c in claimed) == [0, 1]


async def test__claim__long_poll__of_a_credential_revoked_while_it_waits__takes_nothing(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # The credential is revoked while its worker's claim waits; work queued then wakes the claim. It
    # must take nothing: what it took could not be started (its workload tokens answer 401
    # claim_revoked) and would be held from every other worker until the claim timeout.
    import uuid

    from baton_server.db.tables import WorkerRecord
    from baton_server.services.credentials import revoke_credential

    async with (
        _own_server(databases, tmp_path, claim_max_wait=60) as harness,
        harness.client(token=await new_admin_token(harness)) as admin,
        fake_worker(harness, "doomed") as doomed,
    ):
        await doomed.register_dags(dag("later", task("work")))
        waiting = await _waiting(harness, doomed.claim(wait=60))
        async with harness.runtime.sessions() as session:
            record = await session.get(WorkerRecord, uuid.UUID(doomed.id))
            assert record is not None
            await revoke_credential(session, record.credential_id)
        await _queued(harness, admin, "later")  # the pass wakes the waiting claim
        claimed = await asyncio.wait_for(waiting, 120)
        async with fake_worker(harness, "healthy") as healthy:
            again = await healthy.claim()
        workers = {w["name"]: w["state"] for w in (await admin.get("/api/workers")).json()["workers"]}
    assert claimed == []
    assert [w["task_instance"]["task_id"] for w in again] == ["work"]
    assert workers["doomed"] == "offline"


async def test__claim__long_poll__of_a_worker_registered_again_while_it_waits__keeps_to_its_new_queues(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # The worker restarts with other queues while a claim of its previous run still waits: work queued
    # in the queue it no longer serves is not handed to it (nor is the claim refused after its wait).
    async with (
        _own_server(databases, tmp_path, claim_max_wait=60) as harness,
        harness.client(token=await new_admin_token(harness)) as admin,
        fake_worker(harness, queues=("old", "kept")) as worker,
    ):
        await worker.register_dags(
            dag("moved", task("work", queue="old")), dag("stays", task("work", queue="kept"))
        )
        waiting = await _waiting(harness, worker.claim(wait=60, queues=["old", "kept"]))
        assert (await worker.register(queues=("kept", "new"))).status_code == 200
        await _queued(harness, admin, "moved")  # the pass wakes the waiting claim: nothing for it
        await _queued(harness, admin, "stays")  # and again: this one is its
        claimed = await asyncio.wait_for(waiting, 120)
    assert [w["task_instance"]["dag_id"] for w in claimed] == ["stays"]


async def test__claim__long_poll__keeps_to_a_limit_set_while_it_waits(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # No pool or DAG limits anything when the claim starts waiting; then a DAG capped at one active
    # task is registered and queued. The woken claim must count the cap, not take all three.
    async with (
        _own_server(databases, tmp_path, claim_max_wait=60) as harness,
        harness.client(token=await new_admin_token(harness)) as admin,
        fake_worker(harness, capacity=10) as worker,
    ):
        await worker.register_dags(dag("free", task("x")))
        waiting = await _waiting(harness, worker.claim(max_workloads=10, wait=60))
        await worker.register_dags(dag("capped", task("a"), task("b"), task("c"), max_active_tasks=1))
        response = await admin.post("/api/dags/capped/dag-runs", json={"run_id": "run_0"})
        assert response.status_code == 201, response.text
        await scheduler_pass(harness)  # the pass wakes the waiting claim
        claimed = await asyncio.wait_for(waiting, 120)
    assert [w["task_instance"]["dag_id"] for w in claimed] == ["capped"]


async def test__claim__four_concurrent_workers__each_workload_once(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    tasks_per_run, runs = 25, 4
    seen: list[str] = []

    async def drain(name: str, token: str) -> None:
        async with fake_worker(server, name, token=token, capacity=1000) as worker:
            while True:
                claimed = await worker.claim(max_workloads=7)
                if not claimed:
                    return
                seen.extend(w["task_instance"]["id"] for w in claimed)

    async with fake_worker(server, "registrar") as registrar:
        await registrar.register_dags(dag("fan", *(task(f"t{i}") for i in range(tasks_per_run))))
    await _queued(server, admin, "fan", runs=runs)
    tokens = [await new_worker_token(server, f"claimer-{i}") for i in range(4)]
    await asyncio.gather(*(drain(f"claimer-{i}", token) for i, token in enumerate(tokens)))

    assert len(seen) == tasks_per_run * runs
    assert Counter(seen).most_common(1)[0][1] == 1
