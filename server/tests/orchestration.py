"""Test helpers for orchestration: DAG descriptions, and a worker that speaks the real HTTP APIs.

``FakeWorker`` does what a worker does — register, register DAGs, claim workloads — and plays
its tasks by hand through the Task Execution API (``run``, ``heartbeat``, ``state``), so that a
test decides when each task starts and how it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from baton_server.scheduler import PassReport, Scheduler
from baton_server.services.credentials import issue_credential
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import ServerHarness


def task(task_id: str, *upstream: str, **fields: Any) -> dict[str, Any]:
    """A task description with an entry point named after the task."""
    return {
        "task_id": task_id,
        "entry_point": f"tasks:{task_id}",
        "runtime": "python",
        "upstream_task_ids": list(upstream),
        **fields,
    }


def dag(dag_id: str, *tasks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A DAG description."""
    return {"dag_id": dag_id, "tasks": list(tasks), **fields}


def diamond(dag_id: str = "diamond", **b_fields: Any) -> dict[str, Any]:
    """a → (b, c) → d."""
    return dag(dag_id, task("a"), task("b", "a", **b_fields), task("c", "a"), task("d", "b", "c"))


async def new_worker_token(server: ServerHarness, name: str = "worker", dags: list[str] | None = None) -> str:
    """A fresh worker credential's token (for the DAG id patterns ``dags``; None: every DAG)."""
    async with server.runtime.sessions() as session:
        return (await issue_credential(session, "worker", name, dag_patterns=dags)).token


async def new_admin_token(server: ServerHarness, name: str = "tests") -> str:
    """A fresh admin token, for a harness of the test's own."""
    async with server.runtime.sessions() as session:
        return (await issue_credential(session, "admin", name)).token


UP_LONG_SINCE = datetime(2000, 1, 1, tzinfo=UTC)
"""When the tests' schedulers began: long enough ago to have heard every heartbeat there was."""


async def scheduler_pass(server: ServerHarness, now: datetime | None = None) -> PassReport:
    """Drive one scheduler pass explicitly, by a scheduler up for long (see :class:`Scheduler`)."""
    return await Scheduler(server.runtime, since=UP_LONG_SINCE).run_once(now)


def iso(moment: datetime) -> str:
    """An ISO timestamp with its zone."""
    return moment.astimezone(UTC).isoformat()


class FakeWorker:
    """A worker process, as seen by the server: registration, claims, and its tasks' API calls."""

    def __init__(self, http: httpx.AsyncClient, name: str) -> None:
        self.http = http
        self.name = name
        self.id = ""
        self._next_pid = 1000
        self.pids: dict[str, int] = {}
        self.execution_tokens: dict[str, str] = {}

    async def register(
        self, queues: tuple[str, ...] = ("default",), capacity: int = 32, runtime: str = "python"
    ) -> httpx.Response:
        """Register this worker; keeps its id."""
        response = await self.http.post(
            "/workers/registrations",
            json={
                "name": self.name,
                "queues": list(queues),
                "capacity": capacity,
                "runtime": runtime,
                "hostname": f"{self.name}.test",
            },
        )
        if response.status_code == 200:
            self.id = response.json()["id"]
        return response

    async def register_dags(self, *dags: dict[str, Any], bundle_name: str = "bundle") -> dict[str, Any]:
        """Register DAG descriptions; asserts success."""
        response = await self.http.post(
            "/workers/dags", json={"bundle_name": bundle_name, "dags": list(dags)}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def claim(self, max_workloads: int = 32, wait: float = 0.0, **fields: Any) -> list[dict[str, Any]]:
        """Claim workloads; asserts success."""
        response = await self.http.post(
            f"/workers/{self.id}/claims",
            json={"max_workloads": max_workloads, "wait_seconds": wait, **fields},
        )
        assert response.status_code == 200, response.text
        workloads: list[dict[str, Any]] = response.json()["workloads"]
        return workloads

    async def start(self, workload: dict[str, Any], start_date: datetime | None = None) -> httpx.Response:
        """Start the workload's attempt (``run`` with the workload token); keeps the execution token."""
        self._next_pid += 1
        ti = workload["task_instance"]
        self.pids[ti["id"]] = self._next_pid
        response = await self.http.patch(
            f"/execution/task-instances/{ti['id']}/run",
            json={
                "hostname": f"{self.name}.test",
                "pid": self._next_pid,
                "unix_user": "baton",
                "start_date": iso(start_date or datetime.now(UTC)),
            },
            headers={"Authorization": f"Bearer {workload['token']}"},
        )
        if response.status_code == 200:
            self.execution_tokens[ti["id"]] = response.headers["Refreshed-API-Token"]
        return response

    async def finish(self, workload: dict[str, Any], state: str) -> httpx.Response:
        """Report the attempt's end with its execution token."""
        ti_id = workload["task_instance"]["id"]
        return await self.http.patch(
            f"/execution/task-instances/{ti_id}/state",
            json={"state": state, "end_date": iso(datetime.now(UTC))},
            headers={"Authorization": f"Bearer {self.execution_tokens[ti_id]}"},
        )

    async def run(self, workload: dict[str, Any], state: str = "success") -> None:
        """Start and finish an attempt; asserts both calls succeed."""
        started = await self.start(workload)
        assert started.status_code == 200, started.text
        finished = await self.finish(workload, state)
        assert finished.status_code == 200, finished.text

    async def heartbeat_task(self, workload: dict[str, Any], token: str | None = None) -> httpx.Response:
        """Heartbeat a started attempt from the process that started it."""
        ti_id = workload["task_instance"]["id"]
        return await self.http.put(
            f"/execution/task-instances/{ti_id}/heartbeat",
            json={"hostname": f"{self.name}.test", "pid": self.pids.get(ti_id, 1)},
            headers={"Authorization": f"Bearer {token or self.execution_tokens[ti_id]}"},
        )


@asynccontextmanager
async def fake_worker(
    server: ServerHarness, name: str = "worker-1", token: str | None = None, **registration: Any
) -> AsyncIterator[FakeWorker]:
    """A registered FakeWorker with its own worker credential (unless one is given)."""
    token = token or await new_worker_token(server, name)
    async with server.client(token=token) as http:
        worker = FakeWorker(http, name)
        response = await worker.register(**registration)
        assert response.status_code == 200, response.text
        yield worker


async def run_to_the_end(server: ServerHarness, worker: FakeWorker, state: str = "success") -> None:
    """Run every workload the scheduler queues until nothing is left to claim."""
    while True:
        workloads = await worker.claim()
        if not workloads:
            await scheduler_pass(server)
            workloads = await worker.claim()
            if not workloads:
                return
        for workload in workloads:
            await worker.run(workload, state)
        await scheduler_pass(server)


def by_task(workloads: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Workloads keyed by task id."""
    return {w["task_instance"]["task_id"]: w for w in workloads}


async def a_lock_is_waited_for(server: ServerHarness) -> bool:
    """Whether a backend of the server's PostgreSQL database waits for a lock (a race reached it)."""
    engine = create_async_engine(server.settings.database_url)
    try:
        async with engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            return bool(waiting)
    finally:
        await engine.dispose()
