"""Runtimes are open identifiers (2026-12-02): a worker claims only its own runtime's tasks."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerHarness
from tests.orchestration import dag, fake_worker, scheduler_pass, task


async def test__made_up_runtime__its_worker_claims_only_its_tasks_and_others_none_of_them(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with (
        fake_worker(server, "zig-worker", runtime="zig") as zig,
        fake_worker(server, "go-worker", runtime="go") as go,
    ):
        await zig.register_dags(
            dag(
                "mixed",
                task("build", runtime="zig"),
                task("ship", "build", runtime="go"),
                task("lint", runtime="zig"),
            )
        )
        assert (await admin.post("/api/dags/mixed/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        assert await go.claim() == []  # the go task waits for `build`; the zig tasks are not a Go worker's
        claimed = await zig.claim()
        assert sorted(w["task_instance"]["task_id"] for w in claimed) == ["build", "lint"]
        assert {w["runtime"] for w in claimed} == {"zig"}
        for workload in claimed:
            await zig.run(workload)
        await scheduler_pass(server)
        assert await zig.claim() == []
        (ship,) = await go.claim()
        assert (ship["task_instance"]["task_id"], ship["runtime"]) == ("ship", "go")

    shown = (await admin.get("/api/dags/mixed/dag-runs/r1")).json()
    assert {ti["task_id"]: ti["runtime"] for ti in shown["task_instances"]} == {
        "build": "zig",
        "ship": "go",
        "lint": "zig",
    }
    workers = (await admin.get("/api/workers")).json()
    assert {w["name"]: w["runtime"] for w in workers["workers"]} == {"zig-worker": "zig", "go-worker": "go"}


@pytest.mark.parametrize("runtime", ["Zig", "9lives", "zig lang", "z" * 21, ""])
async def test__register_worker__runtime_not_an_identifier__422(server: ServerHarness, runtime: str) -> None:
    async with fake_worker(server, "w") as worker:
        response = await worker.register(runtime=runtime)
    assert response.status_code == 422
    assert response.json()["reason"] == "validation_error"
    assert "runtime" in response.json()["message"]


async def test__dag_read_back__every_task_setting_present_with_defaults(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(
            {
                **dag("plain", {"task_id": "t", "entry_point": "tasks:t", "runtime": "python"}),
                "schedule": {"cron": "0 6 * * *"},
            }
        )
    shown = (await admin.get("/api/dags/plain")).json()
    assert shown["tasks"] == [
        {
            "task_id": "t",
            "entry_point": "tasks:t",
            "runtime": "python",
            "upstream_task_ids": [],
            "queue": "default",
            "retries": 0,
            "retry_delay_seconds": 300,
            "execution_timeout_seconds": None,
            "trigger_rule": "all_success",
            "pool": "default_pool",
            "pool_slots": 1,
        }
    ]
    assert shown["schedule"] == {"cron": "0 6 * * *", "interval_seconds": None, "start_at": None}
