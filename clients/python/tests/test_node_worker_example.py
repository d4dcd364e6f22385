"""examples/node-worker/worker.mjs, written from docs/new-language-sdk.md alone, runs a DAG end to end."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer

WORKER = Path(__file__).resolve().parents[3] / "examples" / "node-worker" / "worker.mjs"


def test__node_worker__runs_both_tasks_with_variables_xcoms_and_logs(live_server: LiveServer) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is required to run examples/node-worker")
    suffix = uuid.uuid4().hex[:8]
    env = {
        "PATH": "/usr/bin:/bin",
        "BATON_URL": live_server.base_url,
        "BATON_WORKER_TOKEN": live_server.worker_token,
        "BATON_WORKER_NAME": f"node_{suffix}",
        "BATON_QUEUE": f"node_{suffix}",
        "BATON_MAX_TASKS": "2",
    }
    admin = httpx.Client(
        base_url=live_server.base_url,
        headers={"Authorization": f"Bearer {live_server.admin_token}"},
        timeout=30,
    )
    process = subprocess.Popen(
        [node, str(WORKER)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert admin.put("/api/variables/node_greeting", json={"value": "hej"}).status_code == 200
        deadline = time.monotonic() + 120
        while admin.get("/api/dags/node_example").status_code != 200:  # the worker registers its DAG
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "the Node worker registered no DAG within 120 s"
            time.sleep(0.5)
        run_id = f"run_{suffix}"
        assert admin.post("/api/dags/node_example/dag-runs", json={"run_id": run_id}).status_code == 201
        output, _ = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    run = admin.get(f"/api/dags/node_example/dag-runs/{run_id}").json()
    assert run["state"] == "success", output
    assert {(ti["task_id"], ti["runtime"], ti["state"]) for ti in run["task_instances"]} == {
        ("greet", "node", "success"),
        ("shout", "node", "success"),
    }
    shout = next(ti for ti in run["task_instances"] if ti["task_id"] == "shout")
    logs = admin.get(f"/api/task-instances/{shout['id']}/logs").json()["lines"]
    assert ("info", 'upstream said "hej from node"', {"logger": "task"}) in [
        (line["level"], line["message"], line["fields"]) for line in logs
    ]
    admin.close()
