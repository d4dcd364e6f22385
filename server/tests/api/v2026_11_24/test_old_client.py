"""A 2026-11-24 client: no log batch ids and no held list in claims; it sees the old behaviour."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import ServerHarness
from tests.factories import started
from tests.orchestration import dag, fake_worker, new_worker_token, scheduler_pass, task

VERSION = "2026-11-24"


async def test__logs__batch_id__not_part_of_this_version(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    line = {"timestamp": "2026-12-02T12:00:00+00:00", "level": "info", "message": "m"}
    url = f"/execution/task-instances/{extract.id}/logs"
    headers = {**extract.headers(), "Baton-API-Version": VERSION}
    plain = await client.post(url, json={"lines": [line]}, headers=headers)
    with_id = await client.post(url, json={"lines": [line], "batch_id": str(uuid.uuid4())}, headers=headers)
    assert plain.status_code == 200
    assert plain.json() == {"accepted": 1}
    assert with_id.status_code == 422


async def test__claim__without_held_list__releases_nothing(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    token = await new_worker_token(server, "old")
    async with fake_worker(server, name="old", token=token) as worker:
        worker.http.headers["Baton-API-Version"] = VERSION
        await worker.register_dags(dag("etl", task("a"), task("b")))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})).status_code == 201
        await scheduler_pass(server)
        first = await worker.claim(max_workloads=1)
        second = await worker.claim(max_workloads=2)
        refused = await worker.http.post(
            f"/workers/{worker.id}/claims", json={"max_workloads": 1, "held_task_instance_ids": []}
        )
    assert len(first) == 1
    assert len(second) == 1  # the first claim stays the worker's until the claim timeout, as before
    assert refused.status_code == 422
