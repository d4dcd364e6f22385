"""A running attempt outlives a server downtime longer than its execution token's life.

The server is stopped while a task runs, for longer than the attempt's token lives; the task ends while
no server answers; a server restarted on the same database is then told the attempt's success: the
worker renewed the expired token with its own credential (``POST /workers/{id}/task-tokens``).
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from baton import DAG, Client, Worker, task
from baton._generated.api.admin import get_dag_run, trigger_dag_run
from baton._generated.models import DagRun, DagRunDetail, TriggerDagRunPayload
from live_server import start_live_server

TOKEN_TTL = 30
"""Seconds an execution token lives (the least the server allows)."""
SETTINGS = {
    "BATON_EXECUTION_TOKEN_TTL": str(TOKEN_TTL),
    "BATON_TOKEN_REFRESH_BEFORE": "5",
    # Longer than the downtime: a restarted scheduler ends no attempt for its silence before it passes.
    "BATON_HEARTBEAT_TIMEOUT": "120",
}


def test__server_down_longer_than_the_token_lives__the_task_that_ended_meanwhile_is_recorded(
    tmp_path: Path,
) -> None:
    key = f"renewal_{uuid.uuid4().hex[:8]}"
    began, release = threading.Event(), threading.Event()

    @task
    def waits() -> None:
        began.set()
        assert release.wait(600), "never released"

    with DAG(f"{key}_dag", queue=key, execution_timeout=600) as defined:
        waits()

    with start_live_server(tmp_path, settings=SETTINGS) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        admin_token, worker_token = first.admin_token, first.worker_token
        worker = Worker(
            first.base_url,
            worker_token,
            dags=[defined],
            queues=[key],
            isolation="thread",
            heartbeat_interval=0.5,
        )
        worker.start()
        with Client(first.base_url, admin_token) as admin:
            run = trigger_dag_run.sync(defined.dag_id, client=admin.generated, body=TriggerDagRunPayload())
            assert isinstance(run, DagRun)
        assert began.wait(300), "the task never began"
    try:
        # The server is down: the task ends while no server answers, and its token expires.
        downtime_began = time.monotonic()
        time.sleep(3)
        release.set()
        time.sleep(TOKEN_TTL + 10 - (time.monotonic() - downtime_began))
        with start_live_server(tmp_path, settings=SETTINGS, port=port) as second:
            with Client(second.base_url, admin_token) as admin:
                deadline = time.monotonic() + 300
                while True:
                    detail = get_dag_run.sync(defined.dag_id, run.run_id, client=admin.generated)
                    assert isinstance(detail, DagRunDetail)
                    if detail.state in ("success", "failed"):
                        break
                    assert time.monotonic() < deadline, f"run still {detail.state} after 300 s"
                    time.sleep(0.5)
            states = {ti.task_id: ti.state for ti in detail.task_instances}
            assert states == {"waits": "success"}, (states, worker.results)
            assert worker.results == {"success": 1}
    finally:
        release.set()
        worker.stop(timeout=300)
