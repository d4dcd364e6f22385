"""Malformed JSON, wrong types, unknown fields and oversized bodies: a 4xx, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ServerHarness
from tests.factories import started


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("PUT", "heartbeat", b"{not json"),
        ("PUT", "heartbeat", b'{"hostname": "h", "pid": "4242"}'),
        ("PUT", "heartbeat", b'{"hostname": "h", "pid": 4242.5}'),
        ("PUT", "heartbeat", b'{"hostname": "h", "pid": true}'),
        ("PUT", "heartbeat", b'{"hostname": "h", "pid": -1}'),
        ("PUT", "heartbeat", b'{"hostname": "", "pid": 1}'),
        ("PUT", "heartbeat", b'{"hostname": "h", "pid": 1, "unknown": 1}'),
        ("PUT", "heartbeat", b"[]"),
        ("PUT", "heartbeat", b"null"),
        ("PUT", "heartbeat", b""),
        ("PATCH", "state", b'{"state": "success"}'),
        ("PATCH", "state", b'{"state": "success", "end_date": "yesterday"}'),
        ("PATCH", "state", b'{"state": "success", "end_date": "2026-11-24T12:00:00"}'),
        ("PATCH", "state", b'{"state": 1, "end_date": "2026-11-24T12:00:00Z"}'),
        ("PATCH", "run", b'{"hostname": "h", "pid": 1, "unix_user": "u"}'),
        # A number is no date-time, though lax parsing would take it as seconds since 1970.
        ("PATCH", "state", b'{"state": "success", "end_date": 0}'),
        ("PATCH", "run", b'{"hostname": "h", "pid": 1, "unix_user": "u", "start_date": 0}'),
        ("POST", "logs", b'{"lines": [{"timestamp": 0, "level": "info", "message": ""}]}'),
        ("POST", "logs", b'{"lines": "many"}'),
        ("POST", "logs", b'{"lines": [{"level": "info"}]}'),
    ],
)
async def test__bad_body__422_not_500(
    server: ServerHarness, client: httpx.AsyncClient, method: str, path: str, content: bytes
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    token = attempt.workload_token if path == "run" else attempt.execution_token
    response = await client.request(
        method,
        f"/execution/task-instances/{attempt.id}/{path}",
        content=content,
        headers={"Authorization": f"Bearer {token}", "content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert set(response.json()) == {"reason", "message"}


async def test__oversized_body_without_content_length__413(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]

    async def chunks():  # type: ignore[no-untyped-def]
        yield b'{"value": "'
        for _ in range(5):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    response = await client.put("/execution/variables/big", content=chunks(), headers=attempt.headers())
    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"


async def test__bad_task_instance_id_in_path__422(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put(
        "/execution/task-instances/not-a-uuid/heartbeat",
        json={"hostname": "h", "pid": 1},
        headers=attempt.headers(),
    )
    assert response.status_code == 422


async def test__wrong_method__405_error_body(server: ServerHarness, client: httpx.AsyncClient) -> None:
    response = await client.post("/execution/variables/x")
    assert response.status_code == 405
    assert response.json()["reason"] == "method_not_allowed"


async def test__wrong_method__405__allow_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    # Starlette names only the first matching route's methods; the path answers three.
    response = await client.options("/execution/variables/x")
    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, PUT"


async def test__integral_float_pid__accepted_as_an_integer(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    # JSON Schema's "integer" includes 4242.0: clients that keep numbers as doubles send it.
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": "worker-1.example", "pid": 4242.0},
        headers=attempt.headers(),
    )
    assert response.status_code == 204, response.text


@pytest.mark.parametrize("capacity", [4.0, 4])
async def test__worker_registration__integral_float__accepted(server: ServerHarness, capacity: float) -> None:
    from tests.orchestration import new_worker_token

    async with server.client(token=await new_worker_token(server)) as worker:
        response = await worker.post(
            "/workers/registrations",
            json={"name": "w", "queues": ["default"], "capacity": capacity, "runtime": "python"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["capacity"] == 4


@pytest.mark.parametrize(
    "query",
    ["offset=65955082196896296448372026450951274496", "offset=9223372036854775808", "limit=1001"],
)
@pytest.mark.parametrize(
    "path", ["/api/connections", "/api/variables", "/api/dags", "/api/dag-runs", "/api/workers"]
)
async def test__admin_list__number_past_the_database_range__422_not_500(
    admin: httpx.AsyncClient, path: str, query: str
) -> None:
    response = await admin.get(f"{path}?{query}")
    assert response.status_code == 422, response.text
