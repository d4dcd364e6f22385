"""Pools and a DAG's max_active_runs / max_active_tasks, held by the claim path and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from baton_server.scheduler import runs as runs_module
from baton_server.services import workloads
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import ServerHarness
from tests.orchestration import a_lock_is_waited_for, dag, fake_worker, new_worker_token, scheduler_pass, task


async def _trigger(server: ServerHarness, admin: httpx.AsyncClient, dag_id: str, runs: int = 1) -> None:
    for index in range(runs):
        response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": f"run_{index}"})
        assert response.status_code == 201, response.text
    await scheduler_pass(server)


async def test__pools__default_pool_exists_unlimited_and_stays(admin: httpx.AsyncClient) -> None:
    listed = (await admin.get("/api/pools")).json()["pools"]
    assert [(p["name"], p["slots"], p["used_slots"]) for p in listed] == [("default_pool", None, 0)]
    refused = await admin.delete("/api/pools/default_pool")
    assert refused.status_code == 409
    assert refused.json()["reason"] == "default_pool_not_deletable"
    missing = await admin.get("/api/pools/nope")
    assert (missing.status_code, missing.json()["reason"]) == (404, "pool_not_found")


async def test__pool__slots_cap_what_is_claimed_until_one_finishes(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    put = await admin.put("/api/pools/db", json={"slots": 3, "description": "the warehouse"})
    assert put.status_code == 200, put.text
    assert (put.json()["slots"], put.json()["used_slots"]) == (3, 0)
    description = dag(
        "loads",
        task("small_a", pool="db"),
        task("small_b", pool="db"),
        task("big", pool="db", pool_slots=2),
        task("free"),
    )
    async with fake_worker(server) as worker:
        await worker.register_dags(description)
        await _trigger(server, admin, "loads", runs=2)
        first = await worker.claim()
        pooled = [w for w in first if w["task_instance"]["task_id"] != "free"]
        free = [w for w in first if w["task_instance"]["task_id"] == "free"]
        assert len(free) == 2  # the unpooled tasks are not held up by the full pool
        used = sum(2 if w["task_instance"]["task_id"] == "big" else 1 for w in pooled)
        assert used <= 3
        assert (await admin.get("/api/pools/db")).json()["used_slots"] == used
        for workload in pooled:
            await worker.run(workload)
        second = await worker.claim()
        assert second, "slots freed by finished tasks are claimed again"
        assert (await admin.get("/api/pools/db")).json()["used_slots"] <= 3
    detail = (await admin.get("/api/dags/loads")).json()
    assert {t["task_id"]: (t["pool"], t["pool_slots"]) for t in detail["tasks"]}["big"] == ("db", 2)


@pytest.mark.parametrize("control", ["clear", "mark"])
async def test__running_attempt_cleared_or_marked__keeps_its_pool_slot_until_its_worker_no_longer_holds_it(
    server: ServerHarness, admin: httpx.AsyncClient, control: str
) -> None:
    """A control stops a running attempt only at its next heartbeat (and its worker's stop grace): until
    its worker no longer lists it among what it holds, its process may run. It used to free its pool's
    slot at once, and another task was claimed into it beside the old process."""
    assert (await admin.put("/api/pools/db", json={"slots": 1})).status_code == 200
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("loads", task("first", pool="db"), task("second", pool="db")))
        await _trigger(server, admin, "loads")
        (running,) = await worker.claim()
        assert (await worker.start(running)).status_code == 200
        ti_id = running["task_instance"]["id"]
        body = {"include_downstream": False} if control == "clear" else {"state": "success"}
        assert (await admin.post(f"/api/task-instances/{ti_id}/{control}", json=body)).status_code == 200
        await scheduler_pass(server)
        assert (await admin.get("/api/pools/db")).json()["used_slots"] == 1
        assert await worker.claim(held_task_instance_ids=[ti_id]) == []  # it still runs
        stopped = await worker.heartbeat_task(running)
        assert (stopped.status_code, stopped.json()["reason"]) == (409, "task_instance_not_running")
        assert await worker.claim(held_task_instance_ids=[ti_id]) == []  # stopping, not gone yet
        claimed = await worker.claim(held_task_instance_ids=[])  # its process is over
        await scheduler_pass(server)
        claimed += await worker.claim(held_task_instance_ids=[w["task_instance"]["id"] for w in claimed])
        assert len(claimed) == 1
        assert (await admin.get("/api/pools/db")).json()["used_slots"] == 1
    shown = (await admin.get(f"/api/task-instances/{ti_id}")).json()
    if control == "clear":  # its new try waited for the old one to be gone, then for the slot
        assert (shown["state"], shown["try_number"]) == ("queued", 2)
    else:
        assert shown["state"] == "success"
        assert claimed[0]["task_instance"]["id"] != ti_id  # the other task, in the slot freed


async def test__running_attempt_marked__its_slot_is_freed_once_its_heartbeat_deadline_passes(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    """A worker that never claims again (gone, or of an API version that does not say what it holds) frees
    a stopped attempt's slot by its heartbeat deadline, as the pass would take a silent attempt for dead."""
    assert (await admin.put("/api/pools/db", json={"slots": 1})).status_code == 200
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("loads", task("first", pool="db")))
        await _trigger(server, admin, "loads")
        (running,) = await worker.claim()
        assert (await worker.start(running)).status_code == 200
        ti_id = running["task_instance"]["id"]
        marked = await admin.post(f"/api/task-instances/{ti_id}/mark", json={"state": "failed"})
        assert marked.status_code == 200
        assert (await scheduler_pass(server)).stopped_attempts_released == 0
        assert (await admin.get("/api/pools/db")).json()["used_slots"] == 1
        later = datetime.now(UTC) + timedelta(seconds=server.settings.heartbeat_timeout + 1)
        assert (await scheduler_pass(server, later)).stopped_attempts_released == 1
        assert (await admin.get("/api/pools/db")).json()["used_slots"] == 0


async def test__max_active_tasks__caps_a_dags_claimed_and_running_tasks(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag("wide", *(task(f"t{i}") for i in range(6)), max_active_tasks=2), dag("other", task("x"))
        )
        await _trigger(server, admin, "wide")
        await _trigger(server, admin, "other")
        claimed = await worker.claim()
        wide = [w for w in claimed if w["task_instance"]["dag_id"] == "wide"]
        assert len(wide) == 2
        assert [w["task_instance"]["dag_id"] for w in claimed].count("other") == 1
        await worker.run(wide[0])
        again = await worker.claim()
        assert len(again) == 1
    assert (await admin.get("/api/dags/wide")).json()["max_active_tasks"] == 2


async def test__full_pool_or_dag__first_in_the_queue__does_not_hold_up_the_work_behind_it(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    """A claim of one workload, while the first ones queued are of a full pool or a full DAG, takes the
    first one of neither (a claim that read only the first candidates would come back empty)."""
    assert (await admin.put("/api/pools/db", json={"slots": 1})).status_code == 200
    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag("pooled", task("p0", pool="db"), task("p1", pool="db"), task("p2", pool="db")),
            dag("narrow", task("n0"), task("n1"), task("n2"), max_active_tasks=1),
            dag("later", task("l0"), task("l1")),
        )
        for dag_id in ("pooled", "narrow", "later"):
            await _trigger(server, admin, dag_id)
        taken = [w["task_instance"]["dag_id"] for _ in range(4) for w in await worker.claim(max_workloads=1)]
    assert taken == ["pooled", "narrow", "later", "later"]


def test__several_candidates_under_limits__each_takes_what_is_left_in_claim_order() -> None:
    """As one conditional UPDATE each would: a candidate that needs more slots than are left is passed
    over, and one behind it that fits is taken; a DAG's room counts task instances."""
    room = {("pool", "db"): 3, ("dag", "wide"): 2}
    ids = [uuid.uuid4() for _ in range(6)]
    candidates = [
        (ids[0], "db", 2, "etl", 3, None),
        (ids[1], "db", 2, "etl", 3, None),  # 1 slot left
        (ids[2], "db", 1, "etl", 3, None),
        (ids[3], "default_pool", 5, "wide", None, 2),  # a pool with no limit
        (ids[4], "db", 1, "wide", 3, 2),  # db is full
        (ids[5], "other", 1, "wide", None, 2),
    ]
    assert workloads._fitting(candidates, room) == [ids[0], ids[2], ids[3], ids[5]]
    assert room == {("pool", "db"): 3, ("dag", "wide"): 2}  # what is left is the function's own


async def test__max_active_runs__keeps_further_runs_queued(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("serial", task("only"), max_active_runs=1))
        await _trigger(server, admin, "serial", runs=3)
        runs = (await admin.get("/api/dag-runs", params={"dag_id": "serial"})).json()["dag_runs"]
        assert sorted(r["state"] for r in runs) == ["queued", "queued", "running"]
        (workload,) = await worker.claim()
        await worker.run(workload)
        await scheduler_pass(server)
        await scheduler_pass(server)
        runs = (await admin.get("/api/dag-runs", params={"dag_id": "serial"})).json()["dag_runs"]
        assert sorted(r["state"] for r in runs) == ["queued", "running", "success"]


async def test__max_active_runs__lowered_by_a_new_version__holds_for_runs_queued_before(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("serial", task("only")))
        for index in range(3):
            response = await admin.post("/api/dags/serial/dag-runs", json={"run_id": f"run_{index}"})
            assert response.status_code == 201, response.text
        # The runs are queued, of the first version; the DAG now allows one run at a time.
        await worker.register_dags(dag("serial", task("only"), max_active_runs=1))
        await scheduler_pass(server)
        runs = (await admin.get("/api/dag-runs", params={"dag_id": "serial"})).json()["dag_runs"]
        assert sorted(r["state"] for r in runs) == ["queued", "queued", "running"]


@pytest.mark.parametrize("tasks_pool", ["default_pool", "db"])
async def test__limits__concurrent_claims_each_take_a_different_workload(
    server: ServerHarness, admin: httpx.AsyncClient, tasks_pool: str
) -> None:
    """With a pool limited (the tasks' own, with room for all, or another), claims sent together each
    come back with a workload while there are as many queued: none reaches for one another claim took
    and comes back empty."""
    claimers = 8
    assert (await admin.put("/api/pools/db", json={"slots": claimers})).status_code == 200
    async with fake_worker(server, "registrar") as registrar:
        await registrar.register_dags(dag("wide", *(task(f"t{i}", pool=tasks_pool) for i in range(claimers))))
    await _trigger(server, admin, "wide")
    tokens = [await new_worker_token(server, f"claimer-{i}") for i in range(claimers)]
    async with contextlib.AsyncExitStack() as stack:
        registered = [
            await stack.enter_async_context(fake_worker(server, f"claimer-{i}", token=token))
            for i, token in enumerate(tokens)
        ]
        claimed = await asyncio.gather(*(worker.claim(max_workloads=1) for worker in registered))
    assert [len(workloads) for workloads in claimed] == [1] * claimers
    assert len({workloads[0]["task_instance"]["id"] for workloads in claimed}) == claimers


@pytest.mark.postgres_only
@pytest.mark.parametrize(("max_workloads", "slots"), [(1, 0), (3, 1)])
async def test__limit_lowered_while_a_claim_waits_for_its_row__the_claim_counts_against_the_new_one(
    server: ServerHarness, admin: httpx.AsyncClient, max_workloads: int, slots: int
) -> None:
    """A claim reads its candidates with their pools' and DAGs' limits, then locks those rows to count.
    A limit lowered and committed while the claim waits for the row is the one it counts against: it
    used to count against the one it had read, and took more than the pool's new slots."""
    assert (await admin.put("/api/pools/db", json={"slots": 5})).status_code == 200
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("loads", *(task(f"t{i}", pool="db") for i in range(3))))
        await _trigger(server, admin, "loads")
        engine = create_async_engine(server.settings.database_url)
        try:
            async with engine.connect() as held:
                await held.begin()
                await held.execute(
                    text("UPDATE pools SET slots = :slots WHERE name = 'db'"), {"slots": slots}
                )
                mine = (await held.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                claim = asyncio.ensure_future(worker.claim(max_workloads=max_workloads))
                deadline = asyncio.get_running_loop().time() + 120
                while not (
                    await held.execute(
                        text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))"),
                        {"pid": mine},
                    )
                ).scalar_one():
                    assert not claim.done(), f"the claim did not wait for the pool's row: {claim.result()}"
                    assert asyncio.get_running_loop().time() < deadline, "the claim never waited"
                    await asyncio.sleep(0.05)
                await held.commit()
        finally:
            await engine.dispose()
        claimed = await asyncio.wait_for(claim, 120)
    assert len(claimed) == slots
    assert (await admin.get("/api/pools/db")).json()["used_slots"] == slots


@pytest.mark.postgres_only
async def test__pass_starting_runs_of_limited_dags__while_a_claim_counts_them__both_go_through(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass locks the rows of the DAGs whose max_active_runs it counts; a claim those of the DAGs whose
    max_active_tasks it counts, in id order. The pass took them run by run in the queue's order (``b``'s
    before ``a``'s): paused there, a claim of both DAGs' tasks took ``a``'s row and waited for ``b``'s,
    and the pass then waited for ``a``'s (a deadlock: the claim answered 500)."""
    limits = {"max_active_tasks": 9, "max_active_runs": 1}
    real = runs_module.load_version_or_none
    looked_up = 0
    claim: list[asyncio.Future[httpx.Response]] = []

    async def paced(reader: Any, version_id: uuid.UUID) -> Any:
        nonlocal looked_up
        looked_up += 1
        if looked_up == 2:  # the second queued run's version: the first's DAG row was locked here
            deadline = asyncio.get_running_loop().time() + 120
            while not claim or not (claim[0].done() or await a_lock_is_waited_for(server)):
                assert asyncio.get_running_loop().time() < deadline, "the claim neither waited nor ended"
                await asyncio.sleep(0.05)
        return await real(reader, version_id)

    async with fake_worker(server) as worker:
        await worker.register_dags(dag("a", task("t"), **limits), dag("b", task("t"), **limits))
        for dag_id in ("a", "b"):
            assert (
                await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": "first"})
            ).status_code == 201
        await scheduler_pass(server)  # both first runs running, their tasks queued
        for dag_id in ("b", "a"):  # queued behind them, b's first
            assert (
                await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": "next"})
            ).status_code == 201
        monkeypatch.setattr(runs_module, "load_version_or_none", paced)
        passing = asyncio.ensure_future(scheduler_pass(server))
        while looked_up < 2:
            assert not passing.done(), passing.result()
            await asyncio.sleep(0.01)
        claim.append(
            asyncio.ensure_future(worker.http.post(f"/workers/{worker.id}/claims", json={"max_workloads": 2}))
        )
        claimed = await asyncio.wait_for(claim[0], 120)
        report = await asyncio.wait_for(passing, 120)
    assert claimed.status_code == 200, claimed.text
    assert len(claimed.json()["workloads"]) == 2
    assert report.leader
    assert report.runs_started == 0  # each DAG's first run still runs


@pytest.mark.postgres_only
async def test__pass_making_a_scheduled_run_then_starting_runs__while_a_claim_counts_both__both_go_through(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass writes the row of a DAG due a scheduled run (``b``), then locks the limited DAGs of its
    queued runs (``a``); a claim of both DAGs' tasks locks their rows in id order. Each step of the pass
    was in id order, the two together not: paused between them, the claim took ``a``'s row and waited
    for ``b``'s, and the pass then waited for ``a``'s (a deadlock: one side failed, the claim's a 500)."""
    limits = {"max_active_tasks": 9, "max_active_runs": 1}
    hourly = {"interval_seconds": 3600, "start_at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat()}
    real = runs_module.start_queued_runs
    claim: list[asyncio.Future[httpx.Response]] = []
    paused = asyncio.Event()

    async def paced(session: Any, now: datetime, **held: Any) -> int:
        paused.set()  # the due DAG's run is made: its row stays locked until the pass commits
        deadline = asyncio.get_running_loop().time() + 120
        while not claim or not (claim[0].done() or await a_lock_is_waited_for(server)):
            assert asyncio.get_running_loop().time() < deadline, "the claim neither waited nor ended"
            await asyncio.sleep(0.05)
        return await real(session, now, **held)

    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag("a", task("t"), **limits), dag("b", task("t"), schedule=hourly, **limits)
        )
        assert (await admin.post("/api/dags/a/dag-runs", json={"run_id": "first"})).status_code == 201
        assert (await admin.post("/api/dags/b/dag-runs", json={"run_id": "first"})).status_code == 201
        async with server.runtime.sessions() as session:  # b's tick waits for the pass under test
            await session.execute(text("UPDATE dags SET next_run_at = NULL WHERE dag_id = 'b'"))
            await session.commit()
        await scheduler_pass(server)  # both first runs running, their tasks queued
        async with server.runtime.sessions() as session:
            await session.execute(
                text("UPDATE dags SET next_run_at = :at WHERE dag_id = 'b'"), {"at": datetime.now(UTC)}
            )
            await session.commit()
        assert (await admin.post("/api/dags/a/dag-runs", json={"run_id": "next"})).status_code == 201
        monkeypatch.setattr(runs_module, "start_queued_runs", paced)
        passing = asyncio.ensure_future(scheduler_pass(server))
        await asyncio.wait_for(paused.wait(), 120)
        claim.append(
            asyncio.ensure_future(worker.http.post(f"/workers/{worker.id}/claims", json={"max_workloads": 2}))
        )
        claimed = await asyncio.wait_for(claim[0], 120)
        report = await asyncio.wait_for(passing, 120)
    assert claimed.status_code == 200, claimed.text
    assert len(claimed.json()["workloads"]) == 2
    assert report.leader
    assert report.runs_created == 1
    assert report.runs_started == 0  # each DAG's first run still runs
