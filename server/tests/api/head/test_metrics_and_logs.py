"""Prometheus metrics at /metrics, and server logs as JSON lines with the request id."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import httpx
from baton_server.logging_config import JsonFormatter
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.orchestration import dag, fake_worker, scheduler_pass, task


async def _samples(client: httpx.AsyncClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test__metrics__requests_heartbeats_claims_queues_scheduler_and_pool(
    server: ServerHarness, admin: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    before = await _samples(client)
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a", queue="etl_q"), task("b", queue="etl_q"), task("c")))
        assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        [workload] = await worker.claim(max_workloads=1, queues=["default"])
        assert (await worker.start(workload)).status_code == 200
        assert (await worker.heartbeat_task(workload)).status_code == 204
        assert (await admin.get("/api/dags")).status_code == 200
        assert (await admin.get("/api/dags/nope")).status_code == 404
    after = await _samples(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    version = "2026-12-02"
    assert grew("baton_http_requests_total", operation="list_dags", version=version, status="200") == 1
    assert grew("baton_http_requests_total", operation="get_dag", version=version, status="404") == 1
    assert grew("baton_http_request_duration_seconds_count", operation="list_dags", version=version) == 1
    assert grew("baton_heartbeats_total", kind="task", status="204") == 1
    assert grew("baton_claimed_workloads_total", queue="default") == 1
    assert grew("baton_scheduler_pass_duration_seconds_count") >= 1
    assert _value(after, "baton_queued_task_instances", queue="etl_q") == 2
    assert _value(after, "baton_running_task_instances", queue="default") == 1
    assert ("baton_db_pool_checked_out", frozenset()) in after


async def test__metrics__a_token_when_configured(databases: DatabaseFactory, tmp_path: Path) -> None:
    settings = make_settings(await databases.create(), tmp_path / "data", metrics_token="m" * 24)
    server = ServerHarness(settings)
    await server.start()
    try:
        async with server.client() as anonymous:
            assert (await anonymous.get("/metrics")).status_code == 401
        async with server.client(token="m" * 24) as scraper:
            response = await scraper.get("/metrics")
            assert response.status_code == 200
            assert "baton_http_requests_total" in response.text
    finally:
        await server.stop()


async def test__json_logs__a_control_logs_one_line_with_the_request_id(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a")))
    assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r1"})).status_code == 201
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("baton_server.audit")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        response = await admin.post("/api/dags/etl/dag-runs/r1/cancel")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 200, response.text
    [line] = stream.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert (entry["level"], entry["logger"]) == ("info", "baton_server.audit")
    assert entry["message"].startswith("control cancel_dag_run on etl/r1 by tests")
    assert entry["time"].endswith("+00:00")
