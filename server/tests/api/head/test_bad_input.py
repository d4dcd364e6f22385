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
