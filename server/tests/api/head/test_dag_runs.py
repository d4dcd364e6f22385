"""DAG runs over the admin API: triggering, listing, and the runs the scheduler makes from schedules."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from baton_server.api.schemas.common import ID_PATTERN
from baton_server.scheduler import Scheduler
from baton_server.scheduler.task_instances import BATCH

from tests.conftest import ServerHarness
from tests.orchestration import dag, fake_worker, scheduler_pass, task


async def _register(server: ServerHarness, *dags: dict[str, Any]) -> None:
    async with fake_worker(server, f"registrar-{secrets.token_hex(3)}") as worker:
        await worker.register_dags(*dags)


async def _runs(admin: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await admin.get("/api/dag-runs", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test__trigger__queued_run_with_conf_then_started_by_the_scheduler(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    await _register(server, dag("etl", task("a"), task("b", "a")))
    logical = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    response = await admin.post(
        "/api/dags/etl/dag-runs",
        json={
            "run_id": "nightly_1",
            "conf": {"date": "2026-01-02", "nested": {"n": [1, 2]}},
            "logical_date": logical.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert (run["run_id"], run["run_type"], run["state"]) == ("nightly_1", "manual", "queued")
    assert datetime.fromisoformat(run["logical_date"]) == logical
    assert run["start_date"] is None

    report = await scheduler_pass(server)
    detail = (await admin.get("/api/dags/etl/dag-runs/nightly_1")).json()
    assert report.runs_started == 1
    assert detail["state"] == "running"
    assert detail["conf"] == {"date": "2026-01-02", "nested": {"n": [1, 2]}}
    states = {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in detail["task_instances"]}
    assert states == {"a": ("queued", 1), "b": (None, 0)}


async def test__conf_numbers__read_back_as_the_values_sent(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # PostgreSQL's JSONB keeps a number as a decimal and writes it back without an exponent: 1e308 came
    # back as an integer of 309 digits, which no client holds (and the input contract refuses).
    sent = {
        "huge": 1e308,
        "tiny": 5e-324,
        "big": -1.5e300,
        "max_int": 2**63 - 1,
        "min_int": -(2**63),
        "x": 0.1,
    }
    await _register(server, dag("numbers", task("a")))
    raw = json.dumps({"run_id": "n1", "conf": sent})
    response = await admin.post(
        "/api/dags/numbers/dag-runs", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    confs = [response.json()["conf"], (await admin.get("/api/dags/numbers/dag-runs/n1")).json()["conf"]]
    async with fake_worker(server) as worker:  # and as the task's context has it (the start's own read)
        await scheduler_pass(server)
        (workload,) = await worker.claim()
        started = await worker.start(workload)
        assert started.status_code == 200, started.text
        confs.append(started.json()["dag_run"]["conf"])
    for conf in confs:
        assert conf == sent
        assert {k: type(v) for k, v in conf.items()} == {k: type(v) for k, v in sent.items()}


async def test__trigger__default_run_id_and_logical_date(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    await _register(server, dag("etl", task("a")))
    before = datetime.now(UTC)
    run = (await admin.post("/api/dags/etl/dag-runs", json={})).json()
    assert run["run_id"].startswith("manual__")
    # An identifier like any other: the XCom routes take it in their path.
    assert re.fullmatch(ID_PATTERN, run["run_id"]), run["run_id"]
    assert datetime.fromisoformat(run["logical_date"]) >= before
    assert run["conf"] == {}


@pytest.mark.parametrize(
    ("path", "body", "status", "reason"),
    [
        ("/api/dags/missing/dag-runs", {}, 404, "dag_not_found"),
        ("/api/dags/etl/dag-runs", {"conf": [1, 2]}, 422, "validation_error"),
        ("/api/dags/etl/dag-runs", {"conf": "x"}, 422, "validation_error"),
        ("/api/dags/etl/dag-runs", {"run_id": "has space"}, 422, "validation_error"),
        ("/api/dags/etl/dag-runs", {"logical_date": "2026-01-01T00:00:00"}, 422, "validation_error"),
        ("/api/dags/etl/dag-runs", {"unknown": 1}, 422, "validation_error"),
    ],
)
async def test__trigger__bad_request__clear_error(
    server: ServerHarness, admin: httpx.AsyncClient, path: str, body: dict[str, Any], status: int, reason: str
) -> None:
    await _register(server, dag("etl", task("a")))
    response = await admin.post(path, json=body)
    assert response.status_code == status
    assert response.json()["reason"] == reason


async def test__trigger__same_run_id_twice__409(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    await _register(server, dag("etl", task("a")))
    assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})).status_code == 201
    again = await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r"})
    assert again.status_code == 409
    assert again.json()["reason"] == "dag_run_exists"


async def test__trigger__needs_an_admin_token(server: ServerHarness) -> None:
    async with server.client() as anonymous:
        response = await anonymous.post("/api/dags/etl/dag-runs", json={})
    assert response.status_code == 401


async def test__list_runs__filters_and_pages(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    await _register(server, dag("one", task("a")), dag("two", task("a")))
    for dag_id, run_id in [("one", "r1"), ("one", "r2"), ("two", "r3")]:
        await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": run_id})
    await scheduler_pass(server)
    await admin.post("/api/dags/one/dag-runs", json={"run_id": "r4"})

    everything = await _runs(admin)
    assert everything["total"] == 4
    assert [r["run_id"] for r in everything["dag_runs"]] == ["r4", "r3", "r2", "r1"]
    only_one = await _runs(admin, dag_id="one")
    assert [r["run_id"] for r in only_one["dag_runs"]] == ["r4", "r2", "r1"]
    queued = await _runs(admin, state="queued")
    assert [r["run_id"] for r in queued["dag_runs"]] == ["r4"]
    page = await _runs(admin, limit=2, offset=1)
    assert (page["total"], [r["run_id"] for r in page["dag_runs"]]) == (4, ["r3", "r2"])
    assert (await admin.get("/api/dag-runs", params={"state": "sleeping"})).status_code == 422
    assert (await admin.get("/api/dags/one/dag-runs/nope")).status_code == 404


async def test__interval_schedule__one_run_per_due_tick_without_catch_up(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    await _register(
        server, dag("hourly", task("a"), schedule={"interval_seconds": 3600, "start_at": start.isoformat()})
    )
    shown = (await admin.get("/api/dags/hourly")).json()
    assert datetime.fromisoformat(shown["next_run_at"]) == start

    early = await scheduler_pass(server, start - timedelta(seconds=1))
    first = await scheduler_pass(server, start + timedelta(seconds=1))
    again = await scheduler_pass(server, start + timedelta(seconds=2))
    after_downtime = await scheduler_pass(server, start + timedelta(hours=10, minutes=30))

    assert [early.runs_created, first.runs_created, again.runs_created, after_downtime.runs_created] == [
        0,
        1,
        0,
        1,
    ]
    runs = (await _runs(admin, dag_id="hourly"))["dag_runs"]
    ticks = sorted(datetime.fromisoformat(r["logical_date"]) for r in runs)
    assert ticks == [start, start + timedelta(hours=10)]
    assert all(r["run_type"] == "scheduled" and r["run_id"].startswith("scheduled__") for r in runs)
    latest = max(runs, key=lambda r: r["logical_date"])
    assert datetime.fromisoformat(latest["data_interval_start"]) == start + timedelta(hours=9)
    shown = (await admin.get("/api/dags/hourly")).json()
    assert datetime.fromisoformat(shown["next_run_at"]) == start + timedelta(hours=11)


async def test__cron_schedule__runs_at_the_tick(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    await _register(server, dag("daily", task("a"), schedule={"cron": "30 6 * * *"}))
    tick = datetime.fromisoformat((await admin.get("/api/dags/daily")).json()["next_run_at"])
    assert (tick.hour, tick.minute, tick.second) == (6, 30, 0)
    assert (await scheduler_pass(server, tick - timedelta(seconds=1))).runs_created == 0
    assert (await scheduler_pass(server, tick)).runs_created == 1
    (run,) = (await _runs(admin, dag_id="daily"))["dag_runs"]
    assert datetime.fromisoformat(run["logical_date"]) == tick
    assert datetime.fromisoformat(run["data_interval_start"]) == tick - timedelta(days=1)


async def test__paused_dag__no_scheduled_runs_until_unpaused(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    await _register(server, dag("paused", task("a"), schedule={"interval_seconds": 60}))
    await admin.patch("/api/dags/paused", json={"is_paused": True})
    later = datetime.now(UTC) + timedelta(hours=1)
    assert (await scheduler_pass(server, later)).runs_created == 0
    manual = await admin.post("/api/dags/paused/dag-runs", json={})
    assert manual.status_code == 201
    await admin.patch("/api/dags/paused", json={"is_paused": False})
    assert (await scheduler_pass(server, later)).runs_created == 1


async def test__schedule_removed__no_more_runs(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    await _register(server, dag("dropped", task("a"), schedule={"interval_seconds": 60}))
    await _register(server, dag("dropped", task("a")))
    assert (await admin.get("/api/dags/dropped")).json()["next_run_at"] is None
    assert (await scheduler_pass(server, datetime.now(UTC) + timedelta(hours=1))).runs_created == 0


async def test__more_running_runs_than_one_pass_takes__every_run_gets_its_turn(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    await _register(server, dag("busy", task("first"), task("second", "first")))
    for index in range(BATCH + 1):
        assert (await admin.post("/api/dags/busy/dag-runs", json={"run_id": f"r{index}"})).status_code == 201
    scheduler = Scheduler(server.runtime)
    queued = [(await scheduler.run_once()).queued for _ in range(3)]
    assert sum(queued) == BATCH + 1  # every run's first task, though no run finishes
