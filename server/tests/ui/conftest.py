"""Fixtures of the web UI tests: an HTTP client speaking to the app in-process, logged in or not."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from baton_server.db.types import utcnow

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, by_task, dag, fake_worker, run_to_the_end, scheduler_pass, task

_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF_RE.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Operator:
    """A browser-like client with a UI session, and the CSRF token of that session."""

    http: httpx.AsyncClient
    csrf: str

    async def post(self, path: str, **fields: str) -> httpx.Response:
        """Submit a form as the page would (with the session's CSRF token)."""
        return await self.http.post(path, data={"csrf_token": self.csrf, **fields})


def ui_client(server: ServerHarness, base_url: str = "http://baton.test") -> httpx.AsyncClient:
    """A client without the API's reason check: the UI answers HTML, not the API's error bodies."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server.app), base_url=base_url)


@pytest.fixture
async def ui(server: ServerHarness) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no session."""
    async with ui_client(server) as http:
        yield http


async def log_in(http: httpx.AsyncClient, token: str) -> Operator:
    """Log in through the login form; the session's operator."""
    response = await http.post("/ui/login", data={"token": token})
    assert response.status_code == 303, response.text
    page = await http.get("/ui/")
    assert page.status_code == 200, page.text
    return Operator(http, csrf_of(page.text))


@pytest.fixture
async def operator(server: ServerHarness, admin_token: str) -> AsyncIterator[Operator]:
    """A client logged in with an admin token named ``tests``."""
    async with ui_client(server) as http:
        yield await log_in(http, admin_token)


async def finished_run(
    server: ServerHarness, admin: httpx.AsyncClient, dag_id: str = "etl"
) -> dict[str, Any]:
    """A DAG ``a -> b -> c`` whose run ``r1`` ran to success; the run as the admin API shows it."""
    async with fake_worker(server) as worker:
        await worker.register_dags(dag(dag_id, task("a"), task("b", "a"), task("c", "b")))
        response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": "r1"})
        assert response.status_code == 201, response.text
        await scheduler_pass(server)
        await run_to_the_end(server, worker)
    return await run_of(admin, dag_id, "r1")


async def run_of(admin: httpx.AsyncClient, dag_id: str, run_id: str) -> dict[str, Any]:
    """A run with its task instances keyed by task id under ``tasks``."""
    response = await admin.get(f"/api/dags/{dag_id}/dag-runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body["tasks"] = {ti["task_id"]: ti for ti in body["task_instances"]}
    return body


async def audit_events(admin: httpx.AsyncClient, action: str) -> list[dict[str, Any]]:
    """The audit events of one control, newest first."""
    response = await admin.get("/api/audit-events", params={"action": action})
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["audit_events"]
    return events


async def started_attempt(
    server: ServerHarness, admin: httpx.AsyncClient, worker: FakeWorker, dag_id: str
) -> dict[str, Any]:
    """A DAG of one task ``say`` whose run ``r1`` the worker has started; the workload."""
    await worker.register_dags(dag(dag_id, task("say")))
    response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": "r1"})
    assert response.status_code == 201, response.text
    await scheduler_pass(server)
    workload = by_task(await worker.claim())["say"]
    assert (await worker.start(workload)).status_code == 200
    return workload


async def ship_log(worker: FakeWorker, task_instance_id: str, message: str) -> None:
    """Upload one log line of the started attempt, with its execution token."""
    line = {"timestamp": utcnow().isoformat(), "level": "info", "message": message}
    response = await worker.http.post(
        f"/execution/task-instances/{task_instance_id}/logs",
        json={"lines": [line]},
        headers={"Authorization": f"Bearer {worker.execution_tokens[task_instance_id]}"},
    )
    assert response.status_code == 200, response.text
