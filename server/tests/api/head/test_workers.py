"""Workers over the Worker API: registration, heartbeat, ownership, revocation; the admin listing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from baton_server.scheduler import task_instances as scheduler_task_instances
from baton_server.services.credentials import authenticate, revoke_credential

from tests.conftest import ServerHarness
from tests.orchestration import (
    FakeWorker,
    a_lock_is_waited_for,
    by_task,
    dag,
    fake_worker,
    new_worker_token,
    scheduler_pass,
    task,
)


async def test__register_worker__listed_for_admin_with_its_load(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "alpha", queues=("default", "io"), capacity=4) as worker:
        await worker.register_dags(dag("pair", task("one"), task("two")))
        await admin.post("/api/dags/pair/dag-runs", json={})
        await scheduler_pass(server)
        await worker.claim(max_workloads=1)
        listing = (await admin.get("/api/workers")).json()

    assert listing["total"] == 1
    (shown,) = listing["workers"]
    assert shown["id"] == worker.id
    assert shown["name"] == "alpha"
    assert shown["queues"] == ["default", "io"]
    assert (shown["capacity"], shown["runtime"], shown["hostname"]) == (4, "python", "alpha.test")
    assert shown["state"] == "active"
    assert shown["active_task_instances"] == 1


async def test__heartbeat_worker__updates_last_heartbeat(server: ServerHarness) -> None:
    async with fake_worker(server) as worker:
        before = (await worker.register()).json()["last_heartbeat_at"]
        response = await worker.http.put(f"/workers/{worker.id}/heartbeat")
    assert response.status_code == 200
    assert response.json()["last_heartbeat_at"] >= before


async def test__worker_silent__offline_after_heartbeat_timeout(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server):
        later = datetime.now(UTC) + timedelta(seconds=server.settings.heartbeat_timeout + 1)
        report = await scheduler_pass(server, later)
    assert report.workers_offline == 1
    assert (await admin.get("/api/workers")).json()["workers"][0]["state"] == "offline"


async def test__another_credential__cannot_act_as_the_worker(server: ServerHarness) -> None:
    async with fake_worker(server, "owned") as owner, fake_worker(server, "intruder") as intruder:
        heartbeat = await intruder.http.put(f"/workers/{owner.id}/heartbeat")
        claim = await intruder.http.post(f"/workers/{owner.id}/claims", json={})
        taken = await FakeWorker(intruder.http, "owned").register()
    assert heartbeat.status_code == 403
    assert heartbeat.json()["reason"] == "worker_not_owned"
    assert claim.status_code == 403
    assert taken.status_code == 409
    assert taken.json()["reason"] == "worker_name_taken"


async def test__unknown_worker__404(server: ServerHarness) -> None:
    async with fake_worker(server) as worker:
        response = await worker.http.put("/workers/00000000-0000-7000-8000-000000000000/heartbeat")
        bad_id = await worker.http.put("/workers/not-a-uuid/heartbeat")
    assert response.status_code == 404
    assert response.json()["reason"] == "worker_not_found"
    assert bad_id.status_code == 422


async def test__revoked_credential__401_then_name_taken_over_by_new_credential(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    old_token = await new_worker_token(server, "rotating")
    async with fake_worker(server, "rotating", token=old_token) as worker:
        async with server.runtime.sessions() as session:
            credential = await authenticate(session, old_token, "worker")
            await revoke_credential(session, credential.id)
        refused = await worker.http.post(f"/workers/{worker.id}/claims", json={})
        async with fake_worker(server, "rotating") as replacement:
            pass
    assert refused.status_code == 401
    assert refused.json()["reason"] == "credential_revoked"
    # The name, as a new worker: what was handed to the old one names the old id (security suite).
    assert replacement.id != worker.id
    assert (await admin.get("/api/workers")).json()["total"] == 1


async def test__reregistering_worker__releases_what_it_claimed_but_never_started(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "restarting") as worker:
        await worker.register_dags(dag("one", task("only")))
        await admin.post("/api/dags/one/dag-runs", json={})
        await scheduler_pass(server)
        (before,) = await worker.claim()
        assert (await worker.register()).status_code == 200
        (after,) = await worker.claim()
    assert after["task_instance"]["id"] == before["task_instance"]["id"]


async def test__register_worker__bad_input__422(server: ServerHarness) -> None:
    async with server.client(token=await new_worker_token(server)) as http:
        for body in (
            {"name": "w", "queues": [], "capacity": 1, "runtime": "python"},
            {"name": "w", "queues": ["default"], "capacity": "4", "runtime": "python"},
            {"name": "w", "queues": ["default"], "capacity": 0, "runtime": "python"},
            {"name": "w", "queues": ["default"], "capacity": 1, "runtime": "Rust"},
            {"name": "w", "queues": ["default"], "capacity": 1, "runtime": "python", "zone": "eu"},
        ):
            response = await http.post("/workers/registrations", json=body)
            assert response.status_code == 422, body
            assert response.json()["reason"] == "validation_error"


@pytest.mark.postgres_only
async def test__silent_worker_claims_again_during_the_pass_that_gives_it_up__one_outcome_no_500(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker silent past both timeouts comes back with a claim (saying what it holds) while a pass
    gives it up. The pass took back its unstarted claim, then marked the worker offline; the claim had
    locked the worker's row (its sign of life), then waited to give back that same claim: a deadlock,
    which PostgreSQL broke by failing one side (the claim's 500, or the whole pass). Either way exactly
    one outcome holds after: the attempt given up stays given up, the old attempt's calls are refused."""
    real = scheduler_task_instances.fail_timed_out
    claim: list[asyncio.Future[httpx.Response]] = []
    paused = asyncio.Event()

    async def paced(*args: Any, **kwargs: Any) -> int:
        paused.set()  # the stale claim is taken back: its row stays locked until the pass commits
        deadline = asyncio.get_running_loop().time() + 120
        while not claim or not (claim[0].done() or await a_lock_is_waited_for(server)):
            assert asyncio.get_running_loop().time() < deadline, "the claim neither waited nor ended"
            await asyncio.sleep(0.05)
        return await real(*args, **kwargs)

    async with fake_worker(server, "returning") as worker:
        await worker.register_dags(dag("two", task("started"), task("unstarted")))
        assert (await admin.post("/api/dags/two/dag-runs", json={})).status_code == 201
        await scheduler_pass(server)
        workloads = by_task(await worker.claim())
        assert (await worker.start(workloads["started"])).status_code == 200
        silence = max(server.settings.heartbeat_timeout, server.settings.claim_timeout) + 1
        later = datetime.now(UTC) + timedelta(seconds=silence)
        monkeypatch.setattr(scheduler_task_instances, "fail_timed_out", paced)
        passing = asyncio.ensure_future(scheduler_pass(server, later))
        await asyncio.wait_for(paused.wait(), 120)
        held = [workloads["started"]["task_instance"]["id"]]
        claim.append(
            asyncio.ensure_future(
                worker.http.post(
                    f"/workers/{worker.id}/claims",
                    json={"max_workloads": 2, "held_task_instance_ids": held},
                )
            )
        )
        claimed = await asyncio.wait_for(claim[0], 120)
        report = await asyncio.wait_for(passing, 120)
        heartbeat = await worker.heartbeat_task(workloads["started"])
        finished = await worker.finish(workloads["started"], "success")
    assert claimed.status_code == 200, claimed.text
    assert report.leader
    assert (report.claims_released, report.attempts_timed_out, report.workers_offline) == (1, 1, 1)
    assert (heartbeat.status_code, heartbeat.json()["reason"]) == (409, "task_instance_not_running")
    assert (finished.status_code, finished.json()["reason"]) == (409, "illegal_state_transition")
    states = {}
    for task_id, workload in workloads.items():
        shown = (await admin.get(f"/api/task-instances/{workload['task_instance']['id']}")).json()
        states[task_id] = (shown["state"], shown["try_number"])
    assert states == {"started": ("failed", 1), "unstarted": ("queued", 1)}


@pytest.mark.postgres_only
async def test__attempt_heartbeats_between_the_passs_read_and_its_write__stays_running(
    server: ServerHarness, admin: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass reads the attempts whose heartbeat stopped, then ends each only if its last heartbeat is
    still the one it read: a heartbeat that lands in between keeps the attempt (the heartbeat's 204
    stands), and the old attempt finishes as usual; nothing goes back or counts twice."""
    real = scheduler_task_instances.load_version_or_none
    read = asyncio.Event()
    go_on = asyncio.Event()

    async def paced(*args: Any, **kwargs: Any) -> Any:
        read.set()  # between the pass's read of the stale attempts and its conditional write
        await asyncio.wait_for(go_on.wait(), 120)
        return await real(*args, **kwargs)

    async with fake_worker(server, "late") as worker:
        await worker.register_dags(dag("one", task("only")))
        assert (await admin.post("/api/dags/one/dag-runs", json={})).status_code == 201
        await scheduler_pass(server)
        (workload,) = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        later = datetime.now(UTC) + timedelta(seconds=server.settings.heartbeat_timeout + 1)
        monkeypatch.setattr(scheduler_task_instances, "load_version_or_none", paced)
        passing = asyncio.ensure_future(scheduler_pass(server, later))
        await asyncio.wait_for(read.wait(), 120)
        heartbeat = await worker.heartbeat_task(workload)
        go_on.set()
        report = await asyncio.wait_for(passing, 120)
        monkeypatch.undo()
        finished = await worker.finish(workload, "success")
    assert heartbeat.status_code == 204, heartbeat.text
    assert report.attempts_timed_out == 0
    assert finished.status_code == 200, finished.text
    shown = (await admin.get(f"/api/task-instances/{workload['task_instance']['id']}")).json()
    assert (shown["state"], shown["try_number"]) == ("success", 1)
