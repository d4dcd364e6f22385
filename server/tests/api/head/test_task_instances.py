"""run, heartbeat and state of the current API, with each of their error paths."""

from __future__ import annotations

import uuid

import httpx
import pytest
from baton_server.db.tables import TaskInstanceRecord
from sqlalchemy import delete

from tests.conftest import ServerHarness
from tests.factories import RUN_PAYLOAD, attempt_of, make_dag_run, start, started

END = "2026-11-24T12:05:00+00:00"


async def test__run__queued__returns_context_and_execution_token(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    tis = await make_dag_run(server.runtime, conf={"x": 1})
    attempt = attempt_of(server.runtime, tis["extract"])
    response = await start(client, attempt)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["task_instance"] == {
        "id": str(attempt.id),
        "dag_id": "etl",
        "run_id": "manual__1",
        "task_id": "extract",
        "map_index": -1,
        "try_number": 1,
    }
    assert body["max_tries"] == 2
    assert body["dag_version_id"] == str(tis["extract"].dag_version_id)
    assert body["dag_run"]["conf"] == {"x": 1}
    assert body["dag_run"]["logical_date"].startswith("2026-11-24T00:00:00")
    assert body["entry_point"] == "tasks:extract"
    assert body["execution_timeout_seconds"] == 60
    assert attempt.execution_token
    assert attempt.execution_token != attempt.workload_token


async def test__run__same_process_again__replays(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = attempt_of(server.runtime, (await make_dag_run(server.runtime))["extract"])
    assert (await start(client, attempt)).status_code == 200
    again = await start(client, attempt)
    assert again.status_code == 200
    assert again.json()["task_instance"]["try_number"] == 1


async def test__run__already_running_elsewhere__returns_409(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = attempt_of(server.runtime, (await make_dag_run(server.runtime))["extract"])
    assert (await start(client, attempt)).status_code == 200
    other = await start(client, attempt, pid=1)
    assert other.status_code == 409
    assert other.json()["reason"] == "already_running"


async def test__run__finished__returns_409(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempts = await started(server.runtime, client)
    attempt = attempts["extract"]
    finish = await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "success", "end_date": END},
        headers=attempt.headers(),
    )
    assert finish.status_code == 200
    again = await start(client, attempt)
    assert again.status_code == 409
    assert again.json()["reason"] == "not_startable"
    assert "success" in again.json()["message"]


async def test__run__execution_token__returns_403(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.patch(
        f"/execution/task-instances/{attempt.id}/run", json=RUN_PAYLOAD, headers=attempt.headers()
    )
    assert response.status_code == 403
    assert response.json()["reason"] == "workload_token_required"


async def test__run__task_instance_gone__returns_404(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    ghost = uuid.uuid4()
    token = server.runtime.tokens.issue(ghost, 1, "workload")
    response = await client.patch(
        f"/execution/task-instances/{ghost}/run",
        json=RUN_PAYLOAD,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert response.json()["reason"] == "task_instance_not_found"


async def test__run__stale_try__returns_409(server: ServerHarness, client: httpx.AsyncClient) -> None:
    ti = (await make_dag_run(server.runtime))["extract"]
    stale = server.runtime.tokens.issue(ti.id, 0, "workload")
    response = await client.patch(
        f"/execution/task-instances/{ti.id}/run",
        json=RUN_PAYLOAD,
        headers={"Authorization": f"Bearer {stale}"},
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "stale_attempt"


async def test__heartbeat__running__204(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers=attempt.headers(),
    )
    assert response.status_code == 204
    async with server.runtime.sessions() as session:
        ti = await session.get(TaskInstanceRecord, attempt.id)
        assert ti is not None
        assert ti.last_heartbeat_at is not None


@pytest.mark.parametrize(("hostname", "pid"), [("worker-1.example", 1), ("elsewhere", 4242)])
async def test__heartbeat__wrong_host_or_pid__returns_409(
    server: ServerHarness, client: httpx.AsyncClient, hostname: str, pid: int
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": hostname, "pid": pid},
        headers=attempt.headers(),
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "attempt_mismatch"


async def test__heartbeat__after_finish__returns_409_without_refresh(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "failed", "end_date": END},
        headers=attempt.headers(),
    )
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers=attempt.headers(),
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "task_instance_not_running"
    assert "Refreshed-API-Token" not in response.headers


async def test__heartbeat__task_instance_gone__returns_404(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    async with server.runtime.sessions() as session:
        await session.execute(delete(TaskInstanceRecord).where(TaskInstanceRecord.id == attempt.id))
        await session.commit()
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers=attempt.headers(),
    )
    assert response.status_code == 404


async def test__heartbeat__workload_token__returns_403(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers={"Authorization": f"Bearer {attempt.workload_token}"},
    )
    assert response.status_code == 403
    assert response.json()["reason"] == "execution_token_required"


async def test__state__success_then_same_again__idempotent(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    url = f"/execution/task-instances/{attempt.id}/state"
    first = await client.patch(url, json={"state": "success", "end_date": END}, headers=attempt.headers())
    second = await client.patch(url, json={"state": "success", "end_date": END}, headers=attempt.headers())
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {"state": "success", "try_number": 1}


async def test__state__different_state_after_finish__409_names_current(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    url = f"/execution/task-instances/{attempt.id}/state"
    await client.patch(url, json={"state": "success", "end_date": END}, headers=attempt.headers())
    response = await client.patch(url, json={"state": "failed", "end_date": END}, headers=attempt.headers())
    assert response.status_code == 409
    assert response.json()["reason"] == "illegal_state_transition"
    assert "success" in response.json()["message"]


@pytest.mark.parametrize("target", ["queued", "scheduled", "running", "upstream_failed", "bogus"])
async def test__state__non_terminal_target__422_and_unchanged(
    server: ServerHarness, client: httpx.AsyncClient, target: str
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": target, "end_date": END},
        headers=attempt.headers(),
    )
    assert response.status_code == 422
    async with server.runtime.sessions() as session:
        ti = await session.get(TaskInstanceRecord, attempt.id)
        assert ti is not None
        assert ti.state == "running"


async def test__state__up_for_retry_with_tries_left__kept(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client, max_tries=2))["extract"]
    response = await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "up_for_retry", "end_date": END},
        headers=attempt.headers(),
    )
    assert response.json() == {"state": "up_for_retry", "try_number": 1}


async def test__state__up_for_retry_on_last_try__becomes_failed(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client, max_tries=1))["extract"]
    response = await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "up_for_retry", "end_date": END},
        headers=attempt.headers(),
    )
    assert response.status_code == 200
    assert response.json() == {"state": "failed", "try_number": 1}


async def test__task_state_counts__counts_the_run(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempts = await started(server.runtime, client)
    first = attempts["extract"]
    await client.patch(
        f"/execution/task-instances/{first.id}/state",
        json={"state": "success", "end_date": END},
        headers=first.headers(),
    )
    load = attempts["load"]
    response = await client.get(
        f"/execution/task-instances/{load.id}/task-state-counts", headers=load.headers()
    )
    assert response.status_code == 200
    assert response.json() == {"counts": {"success": 1, "running": 2}, "total": 3}


async def test__previous_successful_run__finds_earlier_run(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    from datetime import UTC, datetime

    earlier = await started(
        server.runtime, client, run_id="r1", logical_date=datetime(2026, 11, 1, tzinfo=UTC)
    )
    e = earlier["extract"]
    await client.patch(
        f"/execution/task-instances/{e.id}/state",
        json={"state": "success", "end_date": END},
        headers=e.headers(),
    )
    later = await started(server.runtime, client, run_id="r2", logical_date=datetime(2026, 11, 2, tzinfo=UTC))
    l_ = later["extract"]
    response = await client.get(
        f"/execution/task-instances/{l_.id}/previous-successful-run", headers=l_.headers()
    )
    assert response.status_code == 200
    assert response.json()["previous"]["run_id"] == "r1"
    first = await client.get(
        f"/execution/task-instances/{later['load'].id}/previous-successful-run",
        headers=later["load"].headers(),
    )
    assert first.json() == {"previous": None}
