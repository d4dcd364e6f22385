"""A task's whole life through the client against a live server: start, heartbeat, variable, XCom, finish."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from baton import AsyncClient, Client, ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from baton.models import (
    ClaimWorkloadsPayload,
    ConnectionPutBody,
    LogBatch,
    LogLine,
    RegisterDagsPayload,
    RegisterWorkerPayload,
    TIHeartbeatPayload,
    TIRunPayload,
    TIStatePayload,
    TIStatePayloadState,
    TriggerDagRunPayload,
)
from live_server import LiveServer

HOST = "worker-1.test"


def _run(pid: int = 1, hostname: str = HOST) -> TIRunPayload:
    return TIRunPayload(hostname=hostname, pid=pid, unix_user="baton", start_date=datetime.now(UTC))


def _beat(pid: int = 1) -> TIHeartbeatPayload:
    return TIHeartbeatPayload(hostname=HOST, pid=pid)


def _done(state: TIStatePayloadState) -> TIStatePayload:
    return TIStatePayload(state=state, end_date=datetime.now(UTC))


def test__task_flow__start_heartbeat_variable_xcom_finish(live_server: LiveServer) -> None:
    queued = live_server.queue_run("extract", "load")
    extract, load = queued["task_instances"]
    dag_id, run_id = queued["dag_id"], queued["run_id"]
    extract_id = uuid.UUID(extract["id"])

    with Client(live_server.base_url, extract["workload_token"]) as client:
        context = client.start(extract_id, _run(os.getpid()))
        assert context.task_instance.id == extract_id
        assert (context.task_instance.dag_id, context.dag_run.run_id) == (dag_id, run_id)
        assert context.entry_point == "tasks:extract"
        assert client.token != extract["workload_token"], "run must hand out the execution token"

        execution_token = client.token
        client.heartbeat(extract_id, _beat(os.getpid()))
        assert client.token != execution_token, "the refreshed token must be swapped in"

        key = f"python-{uuid.uuid4().hex[:8]}"
        client.set_variable(key, {"rows": [1, 2, 3]}, description="client test")
        assert client.get_variable(key) == {"rows": [1, 2, 3]}

        conn_id = f"warehouse_{uuid.uuid4().hex[:8]}"
        with Client(live_server.base_url, live_server.admin_token) as admin:
            admin.set_connection(
                conn_id,
                ConnectionPutBody.from_dict(
                    {
                        "conn_type": "postgres",
                        "host": "db.test",
                        "port": 5432,
                        "password": "s3cret",
                        "allowed_dag_ids": [dag_id],
                    }
                ),
            )
        connection = client.get_connection(conn_id)
        assert (connection.host, connection.port, connection.password) == ("db.test", 5432, "s3cret")

        line = LogLine(timestamp=datetime.now(UTC), level="info", message="extracted 3 rows")
        assert client.upload_logs(extract_id, LogBatch(lines=[line])).accepted == 1

        client.push_xcom(dag_id, run_id, "extract", "return_value", {"path": "/data/x.csv", "rows": 3})
        assert client.pull_xcom(dag_id, run_id, "extract", "return_value") == {
            "path": "/data/x.csv",
            "rows": 3,
        }

        finished = client.finish(extract_id, _done("success"))
        assert (finished.state, finished.try_number) == ("success", 1)
        # Finishing again with the same state is harmless.
        assert client.finish(extract_id, _done("success")).state == "success"

    # Another task of the same run reads the XCom with its own token.
    with Client(live_server.base_url, load["workload_token"]) as other:
        other.start(uuid.UUID(load["id"]), _run(os.getpid()))
        assert other.pull_xcom(dag_id, run_id, "extract", "return_value")["rows"] == 3


def test__pydantic_models__validate_the_servers_run_context(live_server: LiveServer) -> None:
    from baton._generated import pydantic_models
    from baton._generated.api.task_instances import run_task_instance

    (ti,) = live_server.queue_run("only")["task_instances"]
    with Client(live_server.base_url, ti["workload_token"]) as client:
        response = run_task_instance.sync_detailed(uuid.UUID(ti["id"]), client=client.generated, body=_run())
    context = pydantic_models.TIRunContext.model_validate_json(response.content)
    assert str(context.task_instance.id) == ti["id"]
    assert context.dag_run.run_id.startswith("test__")


def test__heartbeat__wrong_pid__conflict_error(live_server: LiveServer) -> None:
    (ti,) = live_server.queue_run("only")["task_instances"]
    ti_id = uuid.UUID(ti["id"])
    with Client(live_server.base_url, ti["workload_token"]) as client:
        client.start(ti_id, _run(1234))
        with pytest.raises(ConflictError) as caught:
            client.heartbeat(ti_id, _beat(999))
    assert caught.value.status == 409
    assert caught.value.reason
    assert caught.value.request_id


def test__start_twice_from_another_host__conflict_error(live_server: LiveServer) -> None:
    (ti,) = live_server.queue_run("only")["task_instances"]
    ti_id = uuid.UUID(ti["id"])
    with Client(live_server.base_url, ti["workload_token"]) as first:
        first.start(ti_id, _run(1))
    with Client(live_server.base_url, ti["workload_token"]) as second, pytest.raises(ConflictError):
        second.start(ti_id, _run(2, "elsewhere.test"))


def test__missing_variable__not_found_error(live_server: LiveServer) -> None:
    (ti,) = live_server.queue_run("only")["task_instances"]
    with Client(live_server.base_url, ti["workload_token"]) as client:
        client.start(uuid.UUID(ti["id"]), _run())
        with pytest.raises(NotFoundError) as caught:
            client.get_variable(f"missing-{uuid.uuid4().hex}")
    assert caught.value.reason


def test__connection_of_another_dag__forbidden_error(live_server: LiveServer) -> None:
    conn_id = f"private_{uuid.uuid4().hex[:8]}"
    with Client(live_server.base_url, live_server.admin_token) as admin:
        admin.set_connection(
            conn_id, ConnectionPutBody.from_dict({"conn_type": "http", "allowed_dag_ids": ["some_other_dag"]})
        )
    (ti,) = live_server.queue_run("only")["task_instances"]
    with Client(live_server.base_url, ti["workload_token"]) as client:
        client.start(uuid.UUID(ti["id"]), _run())
        with pytest.raises(ForbiddenError):
            client.get_connection(conn_id)


def test__bad_token__unauthorized_error(live_server: LiveServer) -> None:
    with Client(live_server.base_url, "not-a-token") as client, pytest.raises(UnauthorizedError):
        client.get_variable("anything")


async def test__async_task_flow__start_heartbeat_variable_xcom_finish(live_server: LiveServer) -> None:
    queued = live_server.queue_run("extract")
    (ti,) = queued["task_instances"]
    ti_id = uuid.UUID(ti["id"])
    async with AsyncClient(live_server.base_url, ti["workload_token"]) as client:
        await client.start(ti_id, _run(os.getpid()))
        await client.heartbeat(ti_id, _beat(os.getpid()))
        key = f"async-{uuid.uuid4().hex[:8]}"
        await client.set_variable(key, [1, "two", None])
        assert await client.get_variable(key) == [1, "two", None]
        await client.push_xcom(queued["dag_id"], queued["run_id"], "extract", "k", 42)
        assert await client.pull_xcom(queued["dag_id"], queued["run_id"], "extract", "k") == 42
        assert (await client.finish(ti_id, _done("failed"))).state == "failed"


def _worker_payload(name: str) -> RegisterWorkerPayload:
    return RegisterWorkerPayload.from_dict(
        {"name": name, "queues": [f"q_{name}"], "capacity": 2, "runtime": "python"}
    )


def test__worker__register_heartbeat_and_claim_from_an_empty_queue(live_server: LiveServer) -> None:
    with Client(live_server.base_url, live_server.worker_token) as worker:
        registered = worker.register_worker(_worker_payload(f"w_{uuid.uuid4().hex[:8]}"))
        assert worker.heartbeat_worker(registered.id).id == registered.id
        claim = ClaimWorkloadsPayload.from_dict({"max_workloads": 1, "wait_seconds": 0})
        assert worker.claim_workloads(registered.id, claim).workloads == []


async def test__async_worker__register_dag_trigger_claim_logs_connection(live_server: LiveServer) -> None:
    suffix = uuid.uuid4().hex[:8]
    dag_id, queue, conn_id = f"async_{suffix}", f"q_async_{suffix}", f"conn_{suffix}"
    task = {"task_id": "t", "entry_point": "tasks:t", "runtime": "python", "queue": queue}
    async with (
        AsyncClient(live_server.base_url, live_server.worker_token) as worker,
        AsyncClient(live_server.base_url, live_server.admin_token) as admin,
    ):
        registered = await worker.register_worker(
            RegisterWorkerPayload.from_dict(
                {"name": f"w_{suffix}", "queues": [queue], "capacity": 2, "runtime": "python"}
            )
        )
        assert (await worker.heartbeat_worker(registered.id)).id == registered.id
        await worker.register_dags(
            RegisterDagsPayload.from_dict({"dags": [{"dag_id": dag_id, "tasks": [task]}]})
        )
        await admin.trigger_dag_run(dag_id, TriggerDagRunPayload.from_dict({"run_id": f"test__{suffix}"}))
        await admin.set_connection(
            conn_id,
            ConnectionPutBody.from_dict({"conn_type": "http", "host": "api.test", "allowed_dag_ids": None}),
        )
        claim = ClaimWorkloadsPayload.from_dict({"max_workloads": 1, "wait_seconds": 10})
        workloads = (await worker.claim_workloads(registered.id, claim)).workloads
    assert [w.task_instance.task_id for w in workloads] == ["t"]
    (workload,) = workloads
    async with AsyncClient(live_server.base_url, workload.token) as client:
        await client.start(workload.task_instance.id, _run())
        assert (await client.get_connection(conn_id)).host == "api.test"
        line = LogLine(timestamp=datetime.now(UTC), level="warning", message="async")
        assert (await client.upload_logs(workload.task_instance.id, LogBatch(lines=[line]))).accepted == 1
