"""Test data: DAGs, runs and task instances written straight into the test database.

Setting up state through the database is test scaffolding; everything under test goes through
the HTTP API.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from baton_server.db.tables import DagRecord, DagRunRecord, DagVersionRecord, TaskInstanceRecord
from baton_server.runtime import Runtime
from baton_server.services.dag_specs import DagSpec, TaskSpec
from sqlalchemy import func, select

RUN_PAYLOAD = {
    "hostname": "worker-1.example",
    "pid": 4242,
    "unix_user": "baton",
    "start_date": "2026-11-24T12:00:00+00:00",
}


@dataclass
class Attempt:
    """A queued task instance and its workload token (and, once started, its execution token)."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    task_id: str
    dag_run_id: uuid.UUID
    workload_token: str
    execution_token: str = ""

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.execution_token}"}


async def make_dag_run(
    runtime: Runtime,
    *,
    dag_id: str = "etl",
    run_id: str = "manual__1",
    task_ids: tuple[str, ...] = ("extract", "transform", "load"),
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    max_tries: int = 2,
    description: dict[str, Any] | None = None,
) -> dict[str, TaskInstanceRecord]:
    """A DAG (created when missing), one version, one run, and a queued task instance per task (try 1)."""
    # The stored form a registration writes (independent tasks), so that the server reads the version
    # back as it reads a registered one (a run advances when an attempt of it ends).
    description = (
        description
        or DagSpec(
            dag_id,
            tuple(
                TaskSpec(t, f"tasks:{t}", execution_timeout_seconds=60, retries=max_tries - 1)
                for t in task_ids
            ),
        ).to_document()
    )
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()
    async with runtime.sessions() as session:
        if await session.get(DagRecord, dag_id) is None:
            session.add(DagRecord(dag_id=dag_id))
            await session.flush()
        latest = await session.scalar(
            select(func.max(DagVersionRecord.version_number)).where(DagVersionRecord.dag_id == dag_id)
        )
        version = DagVersionRecord(
            dag_id=dag_id, version_number=(latest or 0) + 1, description_hash=digest, description=description
        )
        session.add(version)
        await session.flush()
        run = DagRunRecord(
            dag_id=dag_id,
            run_id=run_id,
            dag_version_id=version.id,
            state="running",
            logical_date=logical_date or datetime(2026, 11, 24, tzinfo=UTC),
            conf=conf or {},
        )
        session.add(run)
        await session.flush()
        tis = {
            t: TaskInstanceRecord(
                dag_run_id=run.id,
                dag_id=dag_id,
                run_id=run_id,
                task_id=t,
                dag_version_id=version.id,
                state="queued",
                try_number=1,
                max_tries=max_tries,
            )
            for t in task_ids
        }
        session.add_all(tis.values())
        await session.commit()
        return tis


def attempt_of(runtime: Runtime, ti: TaskInstanceRecord) -> Attempt:
    """The workload token of a queued task instance's current try."""
    return Attempt(
        id=ti.id,
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        task_id=ti.task_id,
        dag_run_id=ti.dag_run_id,
        workload_token=runtime.tokens.issue(ti.id, ti.try_number, "workload"),
    )


async def start(client: httpx.AsyncClient, attempt: Attempt, **overrides: Any) -> httpx.Response:
    """Call ``run`` with the workload token; on success keep the execution token."""
    response = await client.patch(
        f"/execution/task-instances/{attempt.id}/run",
        json={**RUN_PAYLOAD, **overrides},
        headers={"Authorization": f"Bearer {attempt.workload_token}"},
    )
    if response.status_code == 200:
        attempt.execution_token = response.headers["Refreshed-API-Token"]
    return response


async def started(runtime: Runtime, client: httpx.AsyncClient, **run_kwargs: Any) -> dict[str, Attempt]:
    """A DAG run whose task instances have all been started; keyed by task id."""
    tis = await make_dag_run(runtime, **run_kwargs)
    attempts = {task_id: attempt_of(runtime, ti) for task_id, ti in tis.items()}
    for attempt in attempts.values():
        response = await start(client, attempt)
        assert response.status_code == 200, response.text
    return attempts
