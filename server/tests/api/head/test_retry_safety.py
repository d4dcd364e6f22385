"""Requests a worker sends again after losing an answer: log batches store once, lost claims come back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import started
from tests.orchestration import dag, fake_worker, new_admin_token, scheduler_pass, task


def _lines(prefix: str, count: int) -> list[dict[str, object]]:
    return [
        {"timestamp": f"2026-12-02T12:00:00.{i:03d}000+00:00", "level": "info", "message": f"{prefix} {i}"}
        for i in range(count)
    ]


async def _messages(admin: httpx.AsyncClient, ti_id: uuid.UUID) -> list[str]:
    page = await admin.get(f"/api/task-instances/{ti_id}/logs", params={"limit": 1000})
    assert page.status_code == 200, page.text
    return [line["message"] for line in page.json()["lines"]]


async def test__logs__same_batch_id_sent_three_times__stored_once(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    url = f"/execution/task-instances/{extract.id}/logs"
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    for body in (
        {"lines": _lines("a", 3), "batch_id": first},
        {"lines": _lines("a", 3), "batch_id": first},  # the answer to the first was lost
        {"lines": _lines("b", 2), "batch_id": second},
        {"lines": _lines("a", 3), "batch_id": first},  # a late duplicate
    ):
        response = await client.post(url, json=body, headers=extract.headers())
        assert response.status_code == 200, response.text
        assert response.json() == {"accepted": len(body["lines"])}  # type: ignore[arg-type]
    assert await _messages(admin, extract.id) == ["a 0", "a 1", "a 2", "b 0", "b 1"]


async def test__logs__without_batch_id__each_upload_stored(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    url = f"/execution/task-instances/{extract.id}/logs"
    for _ in range(2):
        response = await client.post(url, json={"lines": _lines("x", 1)}, headers=extract.headers())
        assert response.status_code == 200
    assert await _messages(admin, extract.id) == ["x 0", "x 0"]


async def test__logs__batch_id_not_a_uuid__422(server: ServerHarness, client: httpx.AsyncClient) -> None:
    extract = (await started(server.runtime, client))["extract"]
    response = await client.post(
        f"/execution/task-instances/{extract.id}/logs",
        json={"lines": _lines("x", 1), "batch_id": "batch-1"},
        headers=extract.headers(),
    )
    assert response.status_code == 422


async def test__claim__lost_answer__next_claim_listing_what_it_holds_gets_it_back(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, capacity=4) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b"), task("c")))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})).status_code == 201
        await scheduler_pass(server)
        held = await worker.claim(max_workloads=1)
        lost = await worker.claim(max_workloads=2)  # committed by the server, never seen by the worker
        assert len(held) == 1
        assert len(lost) == 2
        held_ids = [held[0]["task_instance"]["id"]]
        again = await worker.claim(max_workloads=3, held_task_instance_ids=held_ids)
        started_one = await worker.start(again[0])
        nothing_more = await worker.claim(max_workloads=3, held_task_instance_ids=held_ids)
    ids = lambda workloads: sorted(w["task_instance"]["id"] for w in workloads)  # noqa: E731
    assert ids(again) == ids(lost)
    assert started_one.status_code == 200
    # Listing only the first: the started one stays its own, the unstarted one comes back again.
    assert ids(nothing_more) == ids(again[1:])


async def test__claim__another_workers_claims__untouched(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, name="w1") as one, fake_worker(server, name="w2") as two:
        await one.register_dags(dag("etl", task("a"), task("b")))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})).status_code == 201
        await scheduler_pass(server)
        taken_by_one = await one.claim(max_workloads=2)
        taken_by_two = await two.claim(max_workloads=2, held_task_instance_ids=[])
    assert len(taken_by_one) == 2
    assert taken_by_two == []


async def test__claim__worker_goes_silent__its_unstarted_claims_released_once_it_is_offline(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # A worker frozen while its long-poll claim was served never sees the workloads it was handed.
    harness = ServerHarness(
        make_settings(await databases.create(), tmp_path / "data", heartbeat_timeout=10, claim_timeout=3600)
    )
    await harness.start()
    try:
        async with (
            harness.client(token=await new_admin_token(harness)) as admin,
            fake_worker(harness, name="frozen") as frozen,
            fake_worker(harness, name="alive") as alive,
        ):
            await frozen.register_dags(dag("etl", task("a")))
            assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})).status_code == 201
            await scheduler_pass(harness)
            (handed,) = await frozen.claim()
            soon = datetime.now(UTC)
            before = await scheduler_pass(harness, soon + timedelta(seconds=5))
            after = await scheduler_pass(harness, soon + timedelta(seconds=15))
            (found,) = await alive.claim()
    finally:
        await harness.stop()
    assert (before.claims_released, after.workers_offline, after.claims_released) == (0, 2, 1)
    assert found["task_instance"]["id"] == handed["task_instance"]["id"]
