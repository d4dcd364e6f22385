"""A 2026-11-24 client neither sees nor sends pools and DAG limits; its DAGs get the defaults."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, dag, new_worker_token, task

VERSION = "2026-11-24"


async def test__old_client__registers_with_defaults_and_sees_no_new_fields(
    server: ServerHarness, admin: httpx.AsyncClient, admin_token: str
) -> None:
    async with server.client(version=VERSION, token=await new_worker_token(server, "old")) as http:
        worker = FakeWorker(http, "old")
        assert (await worker.register()).status_code == 200
        await worker.register_dags(dag("legacy", task("t")))
        refused = await http.post(
            "/workers/dags", json={"dags": [dag("limited", task("t", pool="db"), max_active_tasks=1)]}
        )
    assert refused.status_code == 422
    head = (await admin.get("/api/dags/legacy")).json()
    assert (head["max_active_runs"], head["max_active_tasks"]) == (None, None)
    assert (head["tasks"][0]["pool"], head["tasks"][0]["pool_slots"]) == ("default_pool", 1)
    async with server.client(version=VERSION, token=admin_token) as old_admin:
        old = (await old_admin.get("/api/dags/legacy")).json()
        assert "max_active_tasks" not in old
        assert "pool" not in old["tasks"][0]
        assert (await old_admin.get("/api/pools")).status_code == 404
