"""Operator controls over the admin API: clear, mark, cancel, delete — and their audit trail."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from baton_server.services.controls import hold_scheduler

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, by_task, dag, fake_worker, run_to_the_end, scheduler_pass, task


async def _run(admin: httpx.AsyncClient, dag_id: str, run_id: str) -> dict[str, Any]:
    response = await admin.get(f"/api/dags/{dag_id}/dag-runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _states(run: dict[str, Any]) -> dict[str, tuple[str | None, int]]:
    return {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in run["task_instances"]}


async def _trigger(server: ServerHarness, admin: httpx.AsyncClient, dag_id: str, run_id: str) -> None:
    response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": run_id})
    assert response.status_code == 201, response.text
    await scheduler_pass(server)


async def _audit(admin: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    response = await admin.get("/api/audit-events", params=params)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["audit_events"]
    return events


async def test__clear__with_downstream__runs_them_again_with_a_new_try_and_reopens_the_run(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a"), task("c", "b"), task("x")))
        await _trigger(server, admin, "etl", "r1")
        await run_to_the_end(server, worker)
        run = await _run(admin, "etl", "r1")
        assert run["state"] == "success"
        ids = {ti["task_id"]: ti["id"] for ti in run["task_instances"]}

        response = await admin.post(
            f"/api/task-instances/{ids['b']}/clear", json={"include_downstream": True}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["dag_id"], body["run_id"]) == ("etl", "r1")
        assert sorted(ti["task_id"] for ti in body["task_instances"]) == ["b", "c"]
        assert all(ti["state"] is None for ti in body["task_instances"])
        run = await _run(admin, "etl", "r1")
        assert run["state"] == "running"
        assert _states(run) == {"a": ("success", 1), "b": (None, 1), "c": (None, 1), "x": ("success", 1)}

        await scheduler_pass(server)
        workloads = by_task(await worker.claim())
        assert set(workloads) == {"b"}
        assert workloads["b"]["task_instance"]["try_number"] == 2
        await worker.run(workloads["b"])
        await scheduler_pass(server)
        await run_to_the_end(server, worker)
    run = await _run(admin, "etl", "r1")
    assert run["state"] == "success", _states(run)
    assert _states(run) == {
        "a": ("success", 1),
        "b": ("success", 2),
        "c": ("success", 2),
        "x": ("success", 1),
    }
    [event] = await _audit(admin)
    assert event["action"] == "clear_task_instance"
    assert event["credential_name"] == "tests"
    assert event["credential_id"]
    assert (event["dag_id"], event["run_id"], event["task_instance_id"]) == ("etl", "r1", ids["b"])
    assert event["details"] == {"include_downstream": True, "cleared": ["b", "c"]}


async def test__clear__a_failed_task_gets_its_retries_again(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a", retries=1, retry_delay_seconds=0)))
        await _trigger(server, admin, "etl", "r1")
        for _ in range(2):
            [workload] = await worker.claim()
            await worker.run(workload, "up_for_retry")
            await scheduler_pass(server)
        run = await _run(admin, "etl", "r1")
        assert (run["state"], _states(run)) == ("failed", {"a": ("failed", 2)})
        ti_id = run["task_instances"][0]["id"]

        cleared = await admin.post(f"/api/task-instances/{ti_id}/clear", json={})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["task_instances"][0]["max_tries"] == 4
        await scheduler_pass(server)
        [workload] = await worker.claim()
        await worker.run(workload, "up_for_retry")
        detail = (await admin.get(f"/api/task-instances/{ti_id}")).json()
        assert (detail["state"], detail["try_number"]) == ("up_for_retry", 3)


async def test__clear__a_running_attempt_is_told_to_stop_at_its_next_heartbeat(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a")))
        await _trigger(server, admin, "etl", "r1")
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        ti_id = workload["task_instance"]["id"]
        assert (await admin.post(f"/api/task-instances/{ti_id}/clear", json={})).status_code == 200
        beat = await worker.heartbeat_task(workload)
        assert beat.status_code == 409, beat.text
        assert beat.json()["reason"] == "task_instance_not_running"
        late = await worker.finish(workload, "success")
        assert late.status_code == 409, late.text


async def test__mark_task_instance__a_running_one_failed__stops_it_and_its_downstream_fails(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a")))
        await _trigger(server, admin, "etl", "r1")
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        ti_id = workload["task_instance"]["id"]
        marked = await admin.post(f"/api/task-instances/{ti_id}/mark", json={"state": "failed"})
        assert marked.status_code == 200, marked.text
        assert marked.json()["state"] == "failed"
        beat = await worker.heartbeat_task(workload)
        assert (beat.status_code, beat.json()["reason"]) == (409, "task_instance_not_running")
    await scheduler_pass(server)
    run = await _run(admin, "etl", "r1")
    assert run["state"] == "failed"
    assert _states(run) == {"a": ("failed", 1), "b": ("upstream_failed", 0)}
    [event] = await _audit(admin, action="mark_task_instance")
    assert event["details"] == {"state": "failed", "previous_state": "running"}


async def test__mark_task_instance__success_in_a_failed_run__lets_the_run_carry_on(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a")))
        await _trigger(server, admin, "etl", "r1")
        [workload] = await worker.claim()
        await worker.run(workload, "failed")
        await scheduler_pass(server)
        assert (await _run(admin, "etl", "r1"))["state"] == "failed"
        # b is upstream_failed: marking a success sends it back to waiting, and it runs.
        a_id = workload["task_instance"]["id"]
        assert (
            await admin.post(f"/api/task-instances/{a_id}/mark", json={"state": "success"})
        ).status_code == 200
        await run_to_the_end(server, worker)
    run = await _run(admin, "etl", "r1")
    assert run["state"] == "success"
    assert _states(run) == {"a": ("success", 1), "b": ("success", 1)}


async def test__mark_task_instance__success_of_a_failed_task__runs_its_downstream_that_it_failed(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        spec = dag("etl", task("a"), task("b", "a"), task("c", "b"), task("d", "a", trigger_rule="all_done"))
        await worker.register_dags(spec)
        await _trigger(server, admin, "etl", "r1")
        [workload] = await worker.claim()
        await worker.run(workload, "failed")
        await scheduler_pass(server)
        [cleanup] = await worker.claim()
        await worker.run(cleanup, "failed")
        await scheduler_pass(server)
        run = await _run(admin, "etl", "r1")
        assert (run["state"], _states(run)) == (
            "failed",
            {
                "a": ("failed", 1),
                "b": ("upstream_failed", 0),
                "c": ("upstream_failed", 0),
                "d": ("failed", 1),
            },
        )

        # As if a had succeeded: what it failed waits again, and runs.
        a_id = workload["task_instance"]["id"]
        marked = await admin.post(f"/api/task-instances/{a_id}/mark", json={"state": "success"})
        assert marked.status_code == 200, marked.text
        run = await _run(admin, "etl", "r1")
        assert (run["state"], _states(run)) == (
            "running",
            {"a": ("success", 1), "b": (None, 0), "c": (None, 0), "d": (None, 1)},
        )
        await run_to_the_end(server, worker)
    run = await _run(admin, "etl", "r1")
    assert (run["state"], _states(run)) == (
        "success",
        {"a": ("success", 1), "b": ("success", 1), "c": ("success", 1), "d": ("success", 2)},
    )
    [event] = await _audit(admin, action="mark_task_instance")
    assert event["details"] == {"state": "success", "previous_state": "failed", "cleared": ["b", "c", "d"]}


async def _second_run_takes_the_one_slot(
    server: ServerHarness, admin: httpx.AsyncClient, worker: FakeWorker
) -> tuple[dict[str, Any], str]:
    """A DAG of max_active_runs=1 whose run r1 ended and whose r2 runs: r2's claimed workload, and the id
    of r1's task instance."""
    await worker.register_dags(dag("etl", task("a"), max_active_runs=1))
    await _trigger(server, admin, "etl", "r1")
    await run_to_the_end(server, worker)
    await _trigger(server, admin, "etl", "r2")
    [second] = await worker.claim()
    first: str = (await _run(admin, "etl", "r1"))["task_instances"][0]["id"]
    return second, first


async def test__clear__a_finished_run_while_max_active_runs_run__waits_queued_for_a_slot(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        second, first = await _second_run_takes_the_one_slot(server, admin, worker)
        assert second["task_instance"]["run_id"] == "r2"
        assert (await worker.start(second)).status_code == 200

        # r2 takes the one slot: r1, cleared, waits for it instead of running beside r2.
        assert (await admin.post(f"/api/task-instances/{first}/clear", json={})).status_code == 200
        assert (await _run(admin, "etl", "r1"))["state"] == "queued"
        await scheduler_pass(server)
        assert await worker.claim() == []
        assert (await _run(admin, "etl", "r1"))["state"] == "queued"

        assert (await worker.finish(second, "success")).status_code == 200
        await run_to_the_end(server, worker)
    run = await _run(admin, "etl", "r1")
    assert (run["state"], _states(run)) == ("success", {"a": ("success", 2)})


async def test__mark_task_instance__in_a_finished_run_while_max_active_runs_run__reopens_it_queued(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        second, first = await _second_run_takes_the_one_slot(server, admin, worker)

        marked = await admin.post(f"/api/task-instances/{first}/mark", json={"state": "failed"})
        assert marked.status_code == 200, marked.text
        assert (await _run(admin, "etl", "r1"))["state"] == "queued"
        await scheduler_pass(server)
        assert (await _run(admin, "etl", "r1"))["state"] == "queued"
        await worker.run(second)
        await scheduler_pass(server)
        await scheduler_pass(server)
    assert [(await _run(admin, "etl", r))["state"] for r in ("r1", "r2")] == ["failed", "success"]


async def test__mark_dag_run__success__ends_every_unfinished_task_instance(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a")))
        await _trigger(server, admin, "etl", "r1")
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        marked = await admin.post("/api/dags/etl/dag-runs/r1/mark", json={"state": "success"})
        assert marked.status_code == 200, marked.text
        assert marked.json()["state"] == "success"
        assert _states(marked.json()) == {"a": ("success", 1), "b": ("success", 0)}
        beat = await worker.heartbeat_task(workload)
        assert (beat.status_code, beat.json()["reason"]) == (409, "task_instance_not_running")
    await scheduler_pass(server)
    assert (await _run(admin, "etl", "r1"))["state"] == "success"
    [event] = await _audit(admin, dag_id="etl")
    assert event["action"] == "mark_dag_run"
    assert event["details"] == {
        "state": "success",
        "previous_state": "running",
        "task_instances": {"success": 2},
    }


async def test__cancel__running_attempt_gets_409_at_its_next_heartbeat_and_the_rest_is_skipped(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a"), task("c")))
        await _trigger(server, admin, "etl", "r1")
        workloads = by_task(await worker.claim())
        assert (await worker.start(workloads["a"])).status_code == 200
        assert (await worker.heartbeat_task(workloads["a"])).status_code == 204

        cancelled = await admin.post("/api/dags/etl/dag-runs/r1/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "failed"
        assert _states(cancelled.json()) == {"a": ("failed", 1), "b": ("skipped", 0), "c": ("failed", 1)}

        beat = await worker.heartbeat_task(workloads["a"])
        assert beat.status_code == 409, beat.text
        assert beat.json()["reason"] == "task_instance_not_running"
        # The claimed but unstarted workload cannot start any more.
        refused = await worker.start(workloads["c"])
        assert refused.status_code == 409, refused.text
        # The stopped task's own report of its end changes nothing.
        assert (await worker.finish(workloads["a"], "failed")).status_code == 200
    await scheduler_pass(server)
    assert (await _run(admin, "etl", "r1"))["state"] == "failed"
    again = await admin.post("/api/dags/etl/dag-runs/r1/cancel")
    assert (again.status_code, again.json()["reason"]) == (409, "dag_run_not_running")
    [event] = await _audit(admin, action="cancel_dag_run")
    assert event["details"] == {"previous_state": "running", "task_instances": {"failed": 2, "skipped": 1}}


async def test__cancel__a_queued_run_never_starts(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a")))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r1"})).status_code == 201
        cancelled = await admin.post("/api/dags/etl/dag-runs/r1/cancel")
        assert cancelled.status_code == 200, cancelled.text
        await scheduler_pass(server)
        assert await worker.claim() == []
    run = await _run(admin, "etl", "r1")
    assert (run["state"], run["task_instances"]) == ("failed", [])


async def test__delete_dag__needs_the_id_repeated_then_removes_runs_logs_and_xcoms(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a"), task("b", "a")), dag("keep", task("a")))
        await _trigger(server, admin, "etl", "r1")
        await _trigger(server, admin, "keep", "r1")
        etl_a = next(w for w in await worker.claim() if w["task_instance"]["dag_id"] == "etl")
        assert (await worker.start(etl_a)).status_code == 200
        token = {"Authorization": f"Bearer {worker.execution_tokens[etl_a['task_instance']['id']]}"}
        ti_id = etl_a["task_instance"]["id"]
        logged = await worker.http.post(
            f"/execution/task-instances/{ti_id}/logs",
            json={"lines": [{"timestamp": "2026-01-01T00:00:00Z", "level": "info", "message": "hi"}]},
            headers=token,
        )
        assert logged.status_code in (200, 204), logged.text
        pushed = await worker.http.put(
            "/execution/xcoms/etl/r1/a/return_value", json={"value": 42}, headers=token
        )
        assert pushed.status_code in (200, 201, 204), pushed.text

        unconfirmed = await admin.delete("/api/dags/etl", params={"confirm": "keep"})
        assert (unconfirmed.status_code, unconfirmed.json()["reason"]) == (422, "delete_not_confirmed")
        missing = await admin.delete("/api/dags/nope", params={"confirm": "other"})
        assert (missing.status_code, missing.json()["reason"]) == (404, "dag_not_found")

        deleted = await admin.delete("/api/dags/etl", params={"confirm": "etl"})
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {
            "dag_id": "etl",
            "dag_runs": 1,
            "task_instances": 2,
            "task_logs": 1,
            "xcoms": 1,
            "dag_versions": 1,
        }
        beat = await worker.heartbeat_task(etl_a)
        assert (beat.status_code, beat.json()["reason"]) == (404, "task_instance_not_found")
    assert (await admin.get("/api/dags/etl")).status_code == 404
    assert (await admin.get("/api/dags/keep")).status_code == 200
    runs = (await admin.get("/api/dag-runs")).json()
    assert [(r["dag_id"], r["run_id"]) for r in runs["dag_runs"]] == [("keep", "r1")]
    [event] = await _audit(admin, action="delete_dag")
    assert (event["dag_id"], event["details"]["dag_runs"]) == ("etl", 1)


async def test__controls__not_found_and_bad_input(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    missing = "01a20f4b-6333-7b30-bb1d-44b40537ec2f"
    for path, body in (
        (f"/api/task-instances/{missing}/clear", {}),
        (f"/api/task-instances/{missing}/mark", {"state": "success"}),
    ):
        response = await admin.post(path, json=body)
        assert (response.status_code, response.json()["reason"]) == (404, "task_instance_not_found")
    for path in ("/api/dags/x/dag-runs/r/mark", "/api/dags/x/dag-runs/r/cancel"):
        response = await admin.post(path, json={"state": "failed"} if path.endswith("mark") else None)
        assert (response.status_code, response.json()["reason"]) == (404, "dag_run_not_found")
    bad = await admin.post(f"/api/task-instances/{missing}/mark", json={"state": "running"})
    assert (bad.status_code, bad.json()["reason"]) == (422, "validation_error")
    assert await _audit(admin) == []


async def test__controls__need_an_admin_token(server: ServerHarness, client: httpx.AsyncClient) -> None:
    response = await client.post("/api/dags/x/dag-runs/r/cancel")
    assert (response.status_code, response.json()["reason"]) == (401, "token_missing")
    response = await client.get("/api/audit-events")
    assert response.status_code == 401


async def test__controls__do_not_exist_in_older_versions(server: ServerHarness, admin_token: str) -> None:
    async with server.client(version="2026-11-24", token=admin_token) as old:
        response = await old.get("/api/audit-events")
        assert response.status_code == 404


@pytest.mark.postgres_only
async def test__controls__hold_the_scheduler_pass_off_until_they_commit(server: ServerHarness) -> None:
    async with server.runtime.sessions() as session:
        await hold_scheduler(session)
        assert (await scheduler_pass(server)).leader is False
        await session.commit()
    assert (await scheduler_pass(server)).leader is True
