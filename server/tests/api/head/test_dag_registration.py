"""DAG registration over the Worker API: versions, idempotence, and descriptions refused with 422."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from baton_server.services import dags as dags_service

from tests.conftest import ServerHarness
from tests.orchestration import a_lock_is_waited_for, dag, diamond, new_worker_token, scheduler_pass, task


@pytest.fixture
async def worker_http(server: ServerHarness) -> Any:
    async with server.client(token=await new_worker_token(server)) as http:
        yield http


async def _register(http: httpx.AsyncClient, *dags: dict[str, Any]) -> httpx.Response:
    return await http.post("/workers/dags", json={"bundle_name": "etl-bundle", "dags": list(dags)})


async def test__register__new_dag__version_1_listed_for_admin(
    worker_http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    response = await _register(worker_http, diamond(retries=2), dag("single", task("only", queue="io")))
    assert response.status_code == 200, response.text
    registered = {d["dag_id"]: d for d in response.json()["dags"]}
    assert registered["diamond"]["version_number"] == 1
    assert registered["diamond"]["created_version"] is True

    listing = (await admin.get("/api/dags")).json()
    assert listing["total"] == 2
    assert [d["dag_id"] for d in listing["dags"]] == ["diamond", "single"]
    shown = (await admin.get("/api/dags/diamond")).json()
    assert shown["latest_version_id"] == registered["diamond"]["dag_version_id"]
    assert shown["bundle_name"] == "etl-bundle"
    tasks = {t["task_id"]: t for t in shown["tasks"]}
    assert tasks["d"]["upstream_task_ids"] == ["b", "c"]
    assert tasks["b"]["retries"] == 2
    assert tasks["a"]["trigger_rule"] == "all_success"
    assert tasks["a"]["entry_point"] == "tasks:a"


async def test__register__same_description_again__no_new_version(worker_http: httpx.AsyncClient) -> None:
    first = (await _register(worker_http, diamond())).json()["dags"][0]
    reordered = diamond()
    reordered["tasks"].reverse()
    reordered["tasks"][0]["retries"] = 0  # the default, spelled out
    again = (await _register(worker_http, reordered)).json()["dags"][0]
    assert again == {**first, "created_version": False}


async def test__register__changed_description__new_version(
    worker_http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    first = (await _register(worker_http, diamond())).json()["dags"][0]
    changed = (await _register(worker_http, diamond(retries=3))).json()["dags"][0]
    assert changed["version_number"] == 2
    assert changed["created_version"] is True
    assert changed["dag_version_id"] != first["dag_version_id"]
    shown = (await admin.get("/api/dags/diamond")).json()
    assert shown["latest_version_number"] == 2


@pytest.mark.parametrize(
    ("description", "reason", "named"),
    [
        (dag("cyclic", task("a", "c"), task("b", "a"), task("c", "b")), "dag_cycle", "a -> b -> c -> a"),
        (dag("selfish", task("a", "a")), "dag_cycle", "a -> a"),
        (dag("orphan", task("a"), task("b", "ghost")), "unknown_upstream_task", "'ghost'"),
        (dag("twins", task("a"), task("a")), "duplicate_task_id", "'a'"),
        (dag("doubled", task("a"), task("b", "a", "a")), "duplicate_upstream_task", "'b'"),
        (dag("badcron", task("a"), schedule={"cron": "61 * * * *"}), "invalid_schedule", "'61 * * * *'"),
        (dag("never", task("a"), schedule={"cron": "0 0 31 2 *"}), "invalid_schedule", "never fires"),
        # A year field: the past year answered 500; a current one stored a schedule whose end failed
        # every scheduler pass from then on, for every DAG.
        (dag("past", task("a"), schedule={"cron": "0 0 1 1 * 0 2001"}), "invalid_schedule", "years"),
        (dag("ending", task("a"), schedule={"cron": "* * * * * 0 2026-2030"}), "invalid_schedule", "years"),
        (
            dag("both", task("a"), schedule={"cron": "@daily", "interval_seconds": 60}),
            "invalid_schedule",
            "exactly one",
        ),
        (dag("neither", task("a"), schedule={}), "invalid_schedule", "exactly one"),
    ],
)
async def test__register__invalid_description__422_naming_the_problem(
    worker_http: httpx.AsyncClient, description: dict[str, Any], reason: str, named: str
) -> None:
    response = await _register(worker_http, description)
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == reason
    assert named in body["message"]
    assert description["dag_id"] in body["message"]


@pytest.mark.parametrize(
    ("schedule", "catchup"),
    [
        ({"interval_seconds": 60, "start_at": "0001-01-01T00:00:00Z"}, True),  # the tick before: year 0
        ({"cron": "0 0 * * *", "start_at": "0001-01-01T00:00:00Z"}, True),
        ({"cron": "0 0 * * *", "start_at": "9999-12-31T12:00:00Z"}, False),  # the first tick: year 10000
        ({"interval_seconds": 31622400, "start_at": "9999-12-31T12:00:00Z"}, False),
    ],
)
async def test__register__start_at_whose_ticks_leave_the_calendar__422_scheduler_unharmed(
    server: ServerHarness, worker_http: httpx.AsyncClient, schedule: dict[str, Any], catchup: bool
) -> None:
    # A catchup from 0001-01-01 was stored, and every scheduler pass failed on it from then on (no run
    # of any DAG scheduled or started); a cron's start_at late in 9999 answered 500.
    response = await _register(worker_http, dag("edge", task("a"), schedule=schedule, catchup=catchup))
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "invalid_schedule"
    assert "start_at" in response.json()["message"]
    await scheduler_pass(server)
    fits = {**schedule, "start_at": "0003-01-01T00:00:00Z"}  # a year and a day to spare
    fitting = await _register(worker_http, dag("edge", task("a"), schedule=fits, catchup=True))
    assert fitting.status_code == 200, fitting.text
    assert (await scheduler_pass(server)).runs_created >= 1


async def test__register__duplicate_dag_ids__422(worker_http: httpx.AsyncClient) -> None:
    response = await _register(worker_http, dag("same", task("a")), dag("same", task("b")))
    assert response.status_code == 422
    assert response.json()["reason"] == "duplicate_dag_id"


async def test__register__one_invalid_dag__nothing_stored(
    worker_http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    response = await _register(worker_http, dag("good", task("a")), dag("bad", task("a", "a")))
    assert response.status_code == 422
    assert (await admin.get("/api/dags/good")).status_code == 404


@pytest.mark.parametrize(
    "tweak",
    [
        {"retries": "1"},
        {"retries": 1.5},
        {"retries": True},
        {"retries": -1},
        {"runtime": "Cobol"},
        {"runtime": "c" * 21},
        {"runtime": "9lives"},
        {"trigger_rule": "one_success"},
        {"task_id": "has space"},
        {"entry_point": ""},
        {"execution_timeout_seconds": 0},
        {"color": "blue"},
    ],
)
async def test__register__malformed_task__422_validation_error(
    worker_http: httpx.AsyncClient, tweak: dict[str, Any]
) -> None:
    response = await _register(worker_http, dag("strict", {**task("a"), **tweak}))
    assert response.status_code == 422
    assert response.json()["reason"] == "validation_error"


async def test__register__task_without_runtime__422(worker_http: httpx.AsyncClient) -> None:
    bare = task("a")
    del bare["runtime"]
    response = await _register(worker_http, dag("bare", bare))
    assert response.status_code == 422
    assert "runtime" in response.json()["message"]


async def test__register__empty_dag__422(worker_http: httpx.AsyncClient) -> None:
    response = await _register(worker_http, dag("empty"))
    assert response.status_code == 422


@pytest.mark.parametrize("token", [None, "baton_worker_not-a-real-one"])
async def test__register__without_worker_credential__401(
    server: ServerHarness, token: str | None, admin_token: str
) -> None:
    async with server.client(token=token) as http:
        response = await _register(http, dag("x", task("a")))
    assert response.status_code == 401
    async with server.client(token=admin_token) as http:
        assert (await _register(http, dag("x", task("a")))).status_code == 401


async def test__pause__paused_dag_shown_paused(
    worker_http: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _register(worker_http, dag("pausable", task("a"), schedule={"interval_seconds": 3600}))
    response = await admin.patch("/api/dags/pausable", json={"is_paused": True})
    assert response.status_code == 200
    assert response.json()["is_paused"] is True
    again = await admin.patch("/api/dags/pausable", json={"is_paused": True})  # clients retry a PATCH
    assert (again.status_code, again.json()) == (200, response.json())
    assert (await admin.patch("/api/dags/pausable", json={"is_paused": "yes"})).status_code == 422
    assert (await admin.patch("/api/dags/nope", json={"is_paused": True})).status_code == 404
    listed = (await admin.get("/api/dags")).json()["dags"][0]
    assert listed["is_paused"] is True
    assert listed["schedule"] == {"cron": None, "interval_seconds": 3600, "start_at": None}


async def test__register__same_new_dag_from_four_workers_at_once__one_version(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    tokens = [await new_worker_token(server, f"w{i}") for i in range(4)]

    async def register(token: str) -> httpx.Response:
        async with server.client(token=token) as http:
            return await _register(http, diamond("raced"), dag(f"own_{token[-6:]}", task("a")))

    responses = await asyncio.gather(*(register(token) for token in tokens))
    assert [r.status_code for r in responses] == [200] * 4
    raced = [next(d for d in r.json()["dags"] if d["dag_id"] == "raced") for r in responses]
    assert {d["dag_version_id"] for d in raced} == {raced[0]["dag_version_id"]}
    assert sorted(d["created_version"] for d in raced) == [False, False, False, True]
    assert (await admin.get("/api/dags")).json()["total"] == 5


@pytest.mark.postgres_only
async def test__register__same_dags_in_opposite_orders_at_once__both_succeed(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each registration holds its DAGs' rows until it commits. Each goes on past its first DAG only once
    # the other has registered its own first, or waits for a lock: taken in the order of each payload,
    # each then waited for the row the other held (a deadlock: one answered 500).
    real = dags_service._register_one
    first_done: set[asyncio.Task[Any] | None] = set()

    async def paced(*args: Any) -> Any:
        registered = await real(*args)
        me = asyncio.current_task()
        if me not in first_done:
            first_done.add(me)
            deadline = asyncio.get_running_loop().time() + 120
            while len(first_done) < 2 and not await a_lock_is_waited_for(server):
                assert asyncio.get_running_loop().time() < deadline, "the other registration never came"
                await asyncio.sleep(0.05)
        return registered

    monkeypatch.setattr(dags_service, "_register_one", paced)
    ordered = [dag("one", task("a")), dag("two", task("a"))]

    async def register(name: str, dags: list[dict[str, Any]]) -> httpx.Response:
        async with server.client(token=await new_worker_token(server, name)) as http:
            return await _register(http, *dags)

    responses = await asyncio.wait_for(
        asyncio.gather(register("w1", ordered), register("w2", ordered[::-1])), 240
    )
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    # Each answers in the order it asked.
    assert [d["dag_id"] for d in responses[1].json()["dags"]] == ["two", "one"]
