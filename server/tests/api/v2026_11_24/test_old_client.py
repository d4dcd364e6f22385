"""A 2026-11-24 client against today's server.

In 2026-11-24 a runtime was one of python, go and java: such a client still validates and sees
only those (its listings leave out workers, tasks and task instances of other runtimes), the run
context said `execution_timeout` (a number), a DAG read back reused the request models, a log batch
had no `batch_id` and a claim no list of the workloads the worker holds.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ServerHarness
from tests.factories import started
from tests.orchestration import FakeWorker, dag, fake_worker, new_worker_token, scheduler_pass, task

VERSION = "2026-11-24"


@pytest.fixture
async def old_admin(server: ServerHarness, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client(version=VERSION, token=admin_token) as http:
        yield http


async def _old_worker(server: ServerHarness, name: str) -> tuple[httpx.AsyncClient, FakeWorker]:
    http = server.client(version=VERSION, token=await new_worker_token(server, name))
    return http, FakeWorker(http, name)


async def test__register_worker__runtime_outside_the_old_enum__422(server: ServerHarness) -> None:
    http, worker = await _old_worker(server, "old")
    async with http:
        assert (await worker.register(runtime="zig")).status_code == 422
        registered = await worker.register(runtime="java")
    assert registered.status_code == 200
    assert registered.json()["runtime"] == "java"


async def test__register_dags__task_runtime_outside_the_old_enum__422(server: ServerHarness) -> None:
    http, worker = await _old_worker(server, "old")
    async with http:
        assert (await worker.register()).status_code == 200
        response = await http.post("/workers/dags", json={"dags": [dag("d", task("t", runtime="zig"))]})
    assert response.status_code == 422
    assert "runtime" in response.json()["message"]


async def test__listings__leave_out_what_the_old_enum_cannot_say(
    server: ServerHarness, admin: httpx.AsyncClient, old_admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "zig-worker", runtime="zig") as zig, fake_worker(server, "py-worker"):
        await zig.register_dags(dag("mixed", task("build", runtime="zig"), task("report", "build")))
    assert (await admin.post("/api/dags/mixed/dag-runs", json={"run_id": "r1"})).status_code == 201
    await scheduler_pass(server)

    workers = (await old_admin.get("/api/workers")).json()
    assert [w["name"] for w in workers["workers"]] == ["py-worker"]
    assert workers["total"] == 1
    assert (await admin.get("/api/workers")).json()["total"] == 2

    shown = (await old_admin.get("/api/dags/mixed")).json()
    assert [t["task_id"] for t in shown["tasks"]] == ["report"]
    assert shown["tasks"][0]["upstream_task_ids"] == ["build"]  # still what it waits for
    run = (await old_admin.get("/api/dags/mixed/dag-runs/r1")).json()
    assert [ti["task_id"] for ti in run["task_instances"]] == ["report"]
    paused = await old_admin.patch("/api/dags/mixed", json={"is_paused": True})
    assert [t["task_id"] for t in paused.json()["tasks"]] == ["report"]


async def test__worker_listing__paged__every_worker_it_can_say_once_with_one_total(
    server: ServerHarness, admin: httpx.AsyncClient, old_admin: httpx.AsyncClient
) -> None:
    # By name: a zig worker first. Left out of each page after the query, it made the first page of one
    # empty (an old client stopped there, listing no worker) and the total differ from page to page.
    async with (
        fake_worker(server, "a-zig", runtime="zig"),
        fake_worker(server, "b-py"),
        fake_worker(server, "c-zig", runtime="zig"),
        fake_worker(server, "d-go", runtime="go"),
    ):
        pass
    pages: list[list[str]] = []
    totals: set[int] = set()
    for offset in range(4):
        page = (await old_admin.get(f"/api/workers?limit=1&offset={offset}")).json()
        pages.append([w["name"] for w in page["workers"]])
        totals.add(page["total"])
    assert pages == [["b-py"], ["d-go"], [], []]
    assert totals == {2}
    assert (await admin.get("/api/workers?limit=1&offset=3")).json()["workers"][0]["name"] == "d-go"


async def test__worker_of_another_runtime__calling_the_old_version__409_and_nothing_claimed(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "zig-worker", runtime="zig") as zig:
        await zig.register_dags(dag("zig_only", task("build", runtime="zig")))
        assert (await admin.post("/api/dags/zig_only/dag-runs", json={})).status_code == 201
        await scheduler_pass(server)
        for method, path in (("POST", f"/workers/{zig.id}/claims"), ("PUT", f"/workers/{zig.id}/heartbeat")):
            response = await zig.http.request(
                method, path, json={} if method == "POST" else None, headers={"Baton-API-Version": VERSION}
            )
            assert response.status_code == 409, response.text
            assert response.json()["reason"] == "runtime_not_in_api_version"
            assert "2026-12-02" in response.json()["message"]
        (workload,) = await zig.claim()  # the refused claim took nothing
    assert workload["task_instance"]["task_id"] == "build"


async def test__old_worker__claims_and_runs_with_execution_timeout_as_a_number(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    http, worker = await _old_worker(server, "old-go")
    async with http:
        assert (await worker.register(runtime="go")).status_code == 200
        await worker.register_dags(dag("go_dag", task("t", runtime="go", execution_timeout_seconds=30)))
        assert (await admin.post("/api/dags/go_dag/dag-runs", json={})).status_code == 201
        await scheduler_pass(server)
        (workload,) = await worker.claim()
        assert workload["runtime"] == "go"
        started = await worker.start(workload)
        assert started.status_code == 200, started.text
        context = started.json()
        assert context["execution_timeout"] == 30.0
        assert isinstance(context["execution_timeout"], float)
        assert "execution_timeout_seconds" not in context
        assert (context["dag_run"]["state"], context["dag_run"]["run_type"]) == ("running", "manual")
        heartbeat = await http.put(f"/workers/{worker.id}/heartbeat")
        assert heartbeat.status_code == 200
        assert heartbeat.json()["runtime"] == "go"
        assert (await worker.finish(workload, "success")).status_code == 200


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
