"""Data lifecycle: late log lines are kept and marked; old finished runs are cleaned (command, schedule)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.scheduler import Scheduler
from baton_server.services.retention import clean, parse_duration

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.orchestration import FakeWorker, dag, fake_worker, scheduler_pass, task


async def _log(worker: FakeWorker, workload: dict[str, Any], message: str) -> httpx.Response:
    ti_id = workload["task_instance"]["id"]
    return await worker.http.post(
        f"/execution/task-instances/{ti_id}/logs",
        json={"lines": [{"timestamp": datetime.now(UTC).isoformat(), "level": "info", "message": message}]},
        headers={"Authorization": f"Bearer {worker.execution_tokens[ti_id]}"},
    )


async def test__late_logs__lines_after_a_heartbeat_timeout_are_kept_and_marked_late(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a", retries=1)))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        assert (await _log(worker, workload, "on time")).status_code == 200
        # The heartbeats stop: a pass far enough ahead times the attempt out and queues a retry.
        later = datetime.now(UTC) + timedelta(seconds=server.settings.heartbeat_timeout * 2)
        assert (await scheduler_pass(server, later)).attempts_timed_out == 1
        beat = await worker.heartbeat_task(workload)
        assert (beat.status_code, beat.json()["reason"]) == (409, "task_instance_not_running")
        late = await _log(worker, workload, "after the timeout")
        assert late.status_code == 200, late.text
        assert late.json() == {"accepted": 1}
        # Still refused for everything else: the attempt is over.
        ti_id = workload["task_instance"]["id"]
        token = {"Authorization": f"Bearer {worker.execution_tokens[ti_id]}"}
        refused = await worker.http.get("/execution/variables/x", headers=token)
        assert (refused.status_code, refused.json()["reason"]) == (401, "task_attempt_finished")
    page = (await admin.get(f"/api/task-instances/{ti_id}/logs", params={"try_number": 1})).json()
    assert [(line["message"], line["late"]) for line in page["lines"]] == [
        ("on time", False),
        ("after the timeout", True),
    ]


async def test__late_logs__not_shown_to_older_versions(server: ServerHarness, admin_token: str) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a")))
        async with server.client(token=admin_token) as admin:
            assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        assert (await _log(worker, workload, "hello")).status_code == 200
    ti_id = workload["task_instance"]["id"]
    async with server.client(version="2026-11-24", token=admin_token) as old:
        [line] = (await old.get(f"/api/task-instances/{ti_id}/logs")).json()["lines"]
    assert "late" not in line
    assert line["message"] == "hello"


async def _finished_run(
    server: ServerHarness, admin: httpx.AsyncClient, worker: FakeWorker, run_id: str
) -> str:
    assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": run_id})).status_code == 201
    await scheduler_pass(server)
    [workload] = await worker.claim()
    assert (await worker.start(workload)).status_code == 200
    assert (await _log(worker, workload, "line")).status_code == 200
    ti_id = workload["task_instance"]["id"]
    pushed = await worker.http.put(
        f"/execution/xcoms/etl/{run_id}/a/return_value",
        json={"value": 1},
        headers={"Authorization": f"Bearer {worker.execution_tokens[ti_id]}"},
    )
    assert pushed.status_code == 200, pushed.text
    assert (await worker.finish(workload, "success")).status_code == 200
    await scheduler_pass(server)
    return str(ti_id)


async def test__clean__deletes_old_finished_runs_with_their_data_and_keeps_the_rest(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a")))
        old_ti = await _finished_run(server, admin, worker, "old")
        cutoff = datetime.now(UTC) + timedelta(seconds=1)
        # Finished after the cutoff, and still running: both kept.
        later = datetime.now(UTC) + timedelta(minutes=5)
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "running"})).status_code == 201
        await scheduler_pass(server)
        assert (await admin.post("/api/dags/etl/dag-runs/running/cancel")).status_code == 200
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "busy"})).status_code == 201
        await scheduler_pass(server)
    report = await clean(server.runtime.sessions, cutoff)
    assert (report.dag_runs, report.task_instances, report.task_logs, report.xcoms) == (2, 2, 1, 1)
    remaining = {r["run_id"] for r in (await admin.get("/api/dag-runs")).json()["dag_runs"]}
    assert remaining == {"busy"}
    assert (await admin.get(f"/api/task-instances/{old_ti}")).status_code == 404
    # Nothing finished before a cutoff long ago.
    assert (await clean(server.runtime.sessions, later - timedelta(days=365))).dag_runs == 0


async def test__scheduled_clean__runs_with_the_retention_setting(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    settings = make_settings(await databases.create(), tmp_path / "data", retention="1s")
    server = ServerHarness(settings)
    await server.start()
    try:
        async with fake_worker(server) as worker:
            await worker.register_dags(dag("etl", task("a")))
            from tests.orchestration import new_admin_token

            async with server.client(token=await new_admin_token(server)) as admin:
                await _finished_run(server, admin, worker, "r1")
                scheduler = Scheduler(server.runtime)
                report = await scheduler.clean_if_due(datetime.now(UTC) + timedelta(minutes=1))
                assert report is not None
                assert report.dag_runs == 1
                # Not again before the clean interval.
                assert await scheduler.clean_if_due(datetime.now(UTC) + timedelta(minutes=1)) is None
                assert (await admin.get("/api/dag-runs")).json()["total"] == 0
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("15m", 900), ("12h", 43200), ("30d", 2592000), ("2w", 1209600), ("5s", 5)],
)
def test__parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test__parse_duration__refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test__parse_duration__refuses_a_bare_number() -> None:
    # Read as seconds, a `BATON_RETENTION=30` meant as days deleted almost every finished run each hour.
    with pytest.raises(ValueError, match="'30' has no unit: say 30d for days"):
        parse_duration("30")


def test__parse_duration__refuses_what_reaches_before_the_calendar() -> None:
    # A cutoff that far back was an OverflowError in every clean (and a traceback from `db clean`).
    assert parse_duration("36500d") == timedelta(days=36500)
    for text in ("36501d", "99999999999d", "9" * 400 + "s"):
        with pytest.raises(ValueError, match="is longer than 36500 days"):
            parse_duration(text)


def test__db_clean_command__deletes_and_reports(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env["BATON_DATA_DIR"] = str(tmp_path / "data")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "baton_server.cli", "db", "clean", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    done = run("--older-than", "30d", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["dag_runs"] == 0
    bad = run("--older-than", "soon")
    assert bad.returncode == 2
    assert "--older-than" in bad.stderr
    # A bare number, meant as days, is not taken for seconds (every run finished over 30 s ago).
    bare = run("--older-than", "30")
    assert bare.returncode == 2, bare.stdout
    assert "--older-than: '30' has no unit: say 30d for days" in bare.stderr
    assert bare.stdout == ""
