"""Workers over the Worker API: registration, heartbeat, ownership, revocation; the admin listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from baton_server.services.credentials import authenticate, revoke_credential

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, dag, fake_worker, new_worker_token, scheduler_pass, task


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
