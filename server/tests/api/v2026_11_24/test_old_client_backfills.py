"""A 2026-11-24 client neither sends nor sees a DAG's catchup, and has no backfill operations."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, dag, new_worker_token, task

VERSION = "2026-11-24"


async def test__old_client__no_catchup_field_and_no_backfills(
    server: ServerHarness, admin: httpx.AsyncClient, admin_token: str
) -> None:
    schedule = {"interval_seconds": 3600}
    async with server.client(version=VERSION, token=await new_worker_token(server, "old")) as http:
        worker = FakeWorker(http, "old")
        assert (await worker.register()).status_code == 200
        await worker.register_dags(dag("legacy", task("t"), schedule=schedule))
        refused = await http.post(
            "/workers/dags", json={"dags": [dag("caught", task("t"), schedule=schedule, catchup=True)]}
        )
    assert refused.status_code == 422
    assert (await admin.get("/api/dags/legacy")).json()["catchup"] is False
    async with server.client(version=VERSION, token=admin_token) as old_admin:
        assert "catchup" not in (await old_admin.get("/api/dags/legacy")).json()
        body = {"from_date": "2026-01-01T00:00:00Z", "to_date": "2026-01-02T00:00:00Z"}
        assert (await old_admin.post("/api/dags/legacy/backfills", json=body)).status_code == 404
        assert (await old_admin.get("/api/dags/legacy/backfills")).status_code == 404
