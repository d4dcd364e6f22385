"""Helpers for the per-version tests: act as a client generated for an older API version."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.factories import attempt_of, make_dag_run


async def start_attempt(
    server: ServerHarness, client: httpx.AsyncClient, payload: dict[str, object]
) -> tuple[httpx.Response, str]:
    """Queue a fresh task instance and call ``run`` with ``payload``; the response and execution token."""
    ti = (await make_dag_run(server.runtime))["extract"]
    attempt = attempt_of(server.runtime, ti)
    response = await client.patch(
        f"/execution/task-instances/{ti.id}/run",
        json=payload,
        headers={"Authorization": f"Bearer {attempt.workload_token}"},
    )
    return response, response.headers.get("Refreshed-API-Token", "")
