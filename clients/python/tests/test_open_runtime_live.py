"""A worker of a runtime Baton has no SDK for, through the generated client, against a live server.

It registers, claims and runs its tasks on API version 2026-12-02; a Go worker on the same queue
claims none of them; a Python worker of an older version still sees the closed enum and works.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx
from baton import API_VERSION, Client
from baton._generated.api.admin import get_dag_run
from baton._generated.models import (
    ClaimWorkloadsPayload,
    DagRunDetail,
    RegisterDagsPayload,
    RegisterWorkerPayload,
    TIHeartbeatPayload,
    TIRunPayload,
    TIStatePayload,
    TriggerDagRunPayload,
)
from live_server import LiveServer

MADE_UP = "zigzag-7"


def _claim_until(client: Client, worker_id: uuid.UUID, count: int) -> list[object]:
    claimed: list[object] = []
    deadline = time.monotonic() + 120
    while len(claimed) < count and time.monotonic() < deadline:
        body = ClaimWorkloadsPayload.from_dict({"max_workloads": count, "wait_seconds": 2})
        claimed += client.claim_workloads(worker_id, body).workloads
    return claimed


def test__made_up_runtime__registers_claims_and_runs_and_go_worker_claims_none(
    live_server: LiveServer,
) -> None:
    assert API_VERSION >= "2026-12-02"
    suffix = uuid.uuid4().hex[:8]
    queue, dag_id = f"q_{suffix}", f"polyglot_{suffix}"
    with (
        Client(live_server.base_url, live_server.worker_token) as worker,
        Client(live_server.base_url, live_server.admin_token) as admin,
    ):
        made_up = worker.register_worker(
            RegisterWorkerPayload.from_dict(
                {"name": f"zz_{suffix}", "queues": [queue], "capacity": 4, "runtime": MADE_UP}
            )
        )
        go = worker.register_worker(
            RegisterWorkerPayload.from_dict(
                {"name": f"go_{suffix}", "queues": [queue], "capacity": 4, "runtime": "go"}
            )
        )
        assert made_up.runtime == MADE_UP
        tasks = [
            {"task_id": "mix", "entry_point": "zz:mix", "runtime": MADE_UP, "queue": queue},
            {"task_id": "bake", "entry_point": "zz:bake", "runtime": MADE_UP, "queue": queue},
        ]
        worker.register_dags(RegisterDagsPayload.from_dict({"dags": [{"dag_id": dag_id, "tasks": tasks}]}))
        admin.trigger_dag_run(dag_id, TriggerDagRunPayload.from_dict({"run_id": "r1"}))

        workloads = _claim_until(worker, made_up.id, 2)
        assert sorted(w.task_instance.task_id for w in workloads) == ["bake", "mix"]  # type: ignore[attr-defined]
        assert {w.runtime for w in workloads} == {MADE_UP}  # type: ignore[attr-defined]
        nothing = worker.claim_workloads(go.id, ClaimWorkloadsPayload.from_dict({"max_workloads": 4}))
        assert nothing.workloads == []

        for workload in workloads:
            ti_id = workload.task_instance.id  # type: ignore[attr-defined]
            with Client(live_server.base_url, workload.token) as task:  # type: ignore[attr-defined]
                run = TIRunPayload.from_dict(
                    {
                        "hostname": "zz.test",
                        "pid": 4242,
                        "unix_user": "baton",
                        "start_date": datetime.now(UTC).isoformat(),
                    }
                )
                context = task.start(ti_id, run)
                assert context.entry_point.startswith("zz:")  # type: ignore[union-attr]
                task.heartbeat(ti_id, TIHeartbeatPayload(hostname="zz.test", pid=4242))
                ended = TIStatePayload.from_dict(
                    {"state": "success", "end_date": datetime.now(UTC).isoformat()}
                )
                assert task.finish(ti_id, ended).state == "success"

        shown = get_dag_run.sync(dag_id, "r1", client=admin.generated)
        assert isinstance(shown, DagRunDetail)
        assert {(ti.task_id, ti.runtime, ti.state) for ti in shown.task_instances} == {
            ("mix", MADE_UP, "success"),
            ("bake", MADE_UP, "success"),
        }
        # A client of 2026-11-24 still validates the closed enum, and does not see the made-up runtime.
        old = {"Authorization": f"Bearer {live_server.worker_token}", "Baton-API-Version": "2026-11-24"}
        with httpx.Client(base_url=live_server.base_url, headers=old, timeout=30) as http:
            refused = http.post(
                "/workers/registrations",
                json={"name": f"old_{suffix}", "queues": [queue], "capacity": 1, "runtime": MADE_UP},
            )
            assert refused.status_code == 422
            heartbeat = http.put(f"/workers/{made_up.id}/heartbeat")
            assert (heartbeat.status_code, heartbeat.json()["reason"]) == (409, "runtime_not_in_api_version")
