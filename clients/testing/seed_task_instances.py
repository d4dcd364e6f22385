"""Test scaffolding for the clients' live-server tests: queue task instances and print their workload tokens.

Until the Worker API can hand out workloads, a client test has no API through which to get a
queued task instance and its workload token. This script writes a DAG, one version, one run and a
queued task instance per task straight into the database of a server started with the same
``BATON_*`` environment (data folder, so the same SQLite file and signing key), then prints

    {"dag_id": ..., "run_id": ..., "task_instances": [{"id", "task_id", "try_number", "workload_token"}]}

Usage: ``python clients/testing/seed_task_instances.py [--dag-id D] [--tasks a,b,c]``.
Everything the tests check still goes through the HTTP API.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from baton_server.config import load_settings
from baton_server.db.tables import DagRecord, DagRunRecord, DagVersionRecord, TaskInstanceRecord
from baton_server.runtime import Runtime
from sqlalchemy import func, select


async def seed(dag_id: str, run_id: str, task_ids: Sequence[str], max_tries: int) -> dict[str, Any]:
    """Write one queued DAG run and return its task instances with workload tokens."""
    runtime = Runtime.create(load_settings())
    description = {
        "dag_id": dag_id,
        "tasks": [{"task_id": t, "entry_point": f"tasks:{t}", "execution_timeout": 60} for t in task_ids],
    }
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()
    try:
        async with runtime.sessions() as session:
            if await session.get(DagRecord, dag_id) is None:
                session.add(DagRecord(dag_id=dag_id))
                await session.flush()
            latest = await session.scalar(
                select(func.max(DagVersionRecord.version_number)).where(DagVersionRecord.dag_id == dag_id)
            )
            version = DagVersionRecord(
                dag_id=dag_id,
                version_number=(latest or 0) + 1,
                description_hash=digest,
                description=description,
            )
            session.add(version)
            await session.flush()
            run = DagRunRecord(
                dag_id=dag_id,
                run_id=run_id,
                dag_version_id=version.id,
                state="running",
                logical_date=datetime.now(UTC),
                conf={},
            )
            session.add(run)
            await session.flush()
            records = [
                TaskInstanceRecord(
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
            ]
            session.add_all(records)
            await session.commit()
            return {
                "dag_id": dag_id,
                "run_id": run_id,
                "task_instances": [
                    {
                        "id": str(ti.id),
                        "task_id": ti.task_id,
                        "try_number": ti.try_number,
                        "workload_token": runtime.tokens.issue(ti.id, ti.try_number, "workload"),
                    }
                    for ti in records
                ],
            }
    finally:
        await runtime.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: seed one run and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dag-id", default="client_tests")
    parser.add_argument("--run-id", default=None, help="default: a fresh unique id")
    parser.add_argument("--tasks", default="extract,load", help="comma-separated task ids")
    parser.add_argument("--max-tries", type=int, default=1)
    args = parser.parse_args(argv)
    run_id = args.run_id or f"test__{uuid.uuid4().hex[:12]}"
    tasks = [t for t in args.tasks.split(",") if t]
    print(json.dumps(asyncio.run(seed(args.dag_id, run_id, tasks, args.max_tries))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
