"""Catchup of missed schedule ticks, and backfills over a date range with a cap on active runs."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.db.tables import BackfillRecord, DagRecord, DagVersionRecord
from baton_server.errors import ConflictError
from baton_server.runtime import Runtime
from baton_server.scheduler.runs import CATCHUP_ACTIVE_RUNS, create_scheduled_runs
from baton_server.services import backfills
from baton_server.services.backfills import ReprocessBehavior
from sqlalchemy import update

from tests.conftest import ServerHarness, make_settings
from tests.orchestration import dag, fake_worker, scheduler_pass, task

HOUR = 3600
FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
"""A start_at for backfilled DAGs: its grid of ticks reaches back into the past; none fires in a test."""


async def _register(server: ServerHarness, *dags: dict[str, Any]) -> None:
    async with fake_worker(server, f"registrar-{secrets.token_hex(3)}") as worker:
        await worker.register_dags(*dags)


async def _runs(admin: httpx.AsyncClient, dag_id: str) -> list[dict[str, Any]]:
    response = await admin.get("/api/dag-runs", params={"dag_id": dag_id, "limit": 1000})
    assert response.status_code == 200, response.text
    runs: list[dict[str, Any]] = response.json()["dag_runs"]
    return runs


def _hourly(dag_id: str, start: datetime, **fields: Any) -> dict[str, Any]:
    schedule = {"interval_seconds": HOUR, "start_at": start.isoformat()}
    return dag(dag_id, task("a"), schedule=schedule, **fields)


async def test__catchup_on__start_in_the_past__one_run_per_missed_tick(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    await _register(server, _hourly("caught", start, catchup=True))
    shown = (await admin.get("/api/dags/caught")).json()
    assert shown["catchup"] is True
    assert datetime.fromisoformat(shown["next_run_at"]) == start

    now = start + timedelta(hours=5, minutes=30)
    assert (await scheduler_pass(server, now)).runs_created == 6  # start, +1h ... +5h
    assert (await scheduler_pass(server, now)).runs_created == 0
    runs = await _runs(admin, "caught")
    ticks = sorted(datetime.fromisoformat(r["logical_date"]) for r in runs)
    assert ticks == [start + timedelta(hours=h) for h in range(6)]
    shown = (await admin.get("/api/dags/caught")).json()
    assert datetime.fromisoformat(shown["next_run_at"]) == start + timedelta(hours=6)


async def test__catchup_off__start_in_the_past__only_future_ticks(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = (datetime.now(UTC) - timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    await _register(server, _hourly("latest_only", start))
    shown = (await admin.get("/api/dags/latest_only")).json()
    assert shown["catchup"] is False
    assert datetime.fromisoformat(shown["next_run_at"]) > start + timedelta(hours=4)


async def test__catchup__downtime_and_pause__missed_ticks_run_or_not(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    await _register(server, _hourly("with_catchup", start, catchup=True), _hourly("without", start))
    assert (await scheduler_pass(server, start + timedelta(seconds=1))).runs_created == 2
    for dag_id in ("with_catchup", "without"):
        assert (await admin.patch(f"/api/dags/{dag_id}", json={"is_paused": True})).status_code == 200
    assert (await scheduler_pass(server, start + timedelta(hours=3, seconds=1))).runs_created == 0
    for dag_id in ("with_catchup", "without"):
        assert (await admin.patch(f"/api/dags/{dag_id}", json={"is_paused": False})).status_code == 200
    # Paused through three ticks, then the scheduler is down three more hours.
    await scheduler_pass(server, start + timedelta(hours=6, minutes=1))
    caught = sorted(datetime.fromisoformat(r["logical_date"]) for r in await _runs(admin, "with_catchup"))
    assert caught == [start + timedelta(hours=h) for h in range(7)]
    latest = sorted(datetime.fromisoformat(r["logical_date"]) for r in await _runs(admin, "without"))
    assert latest == [start, start + timedelta(hours=6)]


async def test__catchup__max_active_runs_bounds_what_is_made_until_runs_finish(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    async with fake_worker(server) as worker:
        await worker.register_dags(_hourly("bounded", start, catchup=True, max_active_runs=2))
        later = start + timedelta(hours=4, seconds=1)  # five ticks are due
        made = (await scheduler_pass(server, later)).runs_created
        assert made == 2
        for _ in range(10):
            runs = await _runs(admin, "bounded")
            active = [r for r in runs if r["state"] in ("queued", "running")]
            assert len(active) <= 2
            if len(runs) == 5 and not active:
                break
            for workload in await worker.claim():
                await worker.run(workload)
            await scheduler_pass(server, later)
    runs = await _runs(admin, "bounded")
    assert sorted(datetime.fromisoformat(r["logical_date"]) for r in runs) == [
        start + timedelta(hours=h) for h in range(5)
    ]
    assert {r["state"] for r in runs} == {"success"}


async def test__catchup__without_max_active_runs__keeps_sixteen_active_not_every_missed_tick(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # 100 ticks missed: all 100 runs were made in one pass (200 a pass, without end for a start
    # years back); now 16 at most are queued or running, and the next are made as those end.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    later = start + timedelta(hours=99, seconds=1)
    async with fake_worker(server) as worker:
        await worker.register_dags(_hourly("unbounded", start, catchup=True))
        assert (await scheduler_pass(server, later)).runs_created == CATCHUP_ACTIVE_RUNS == 16
        assert (await scheduler_pass(server, later)).runs_created == 0
        for workload in (await worker.claim(max_workloads=3))[:3]:
            await worker.run(workload)
        assert (await scheduler_pass(server, later)).runs_created == 3
    runs = await _runs(admin, "unbounded")
    assert sorted(datetime.fromisoformat(r["logical_date"]) for r in runs) == [
        start + timedelta(hours=h) for h in range(19)
    ]
    assert len([r for r in runs if r["state"] in ("queued", "running")]) == 16


async def _backfill(admin: httpx.AsyncClient, dag_id: str, **body: Any) -> httpx.Response:
    return await admin.post(f"/api/dags/{dag_id}/backfills", json=body)


async def test__backfill__makes_one_run_per_interval_never_more_than_the_cap_active(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with fake_worker(server) as worker:
        await worker.register_dags(_hourly("filled", FUTURE))
        created = await _backfill(
            admin,
            "filled",
            from_date=start.isoformat(),
            to_date=(start + timedelta(hours=6)).isoformat(),
            max_active_runs=2,
        )
        assert created.status_code == 201, created.text
        backfill = created.json()
        assert (backfill["state"], backfill["total_intervals"], backfill["runs_created"]) == ("running", 7, 0)
        url = f"/api/dags/filled/backfills/{backfill['id']}"
        for _ in range(30):
            await scheduler_pass(server)
            progress = (await admin.get(url)).json()
            assert progress["queued_runs"] + progress["running_runs"] <= 2
            runs = await _runs(admin, "filled")
            assert len([r for r in runs if r["state"] in ("queued", "running")]) <= 2
            if progress["state"] == "completed":
                break
            for workload in await worker.claim():
                await worker.run(workload)
    assert progress["state"] == "completed", progress
    counts = (progress["runs_created"], progress["successful_runs"], progress["next_logical_date"])
    assert counts == (7, 7, None)
    runs = await _runs(admin, "filled")
    assert sorted(datetime.fromisoformat(r["logical_date"]) for r in runs) == [
        start + timedelta(hours=h) for h in range(7)
    ]
    assert all(r["run_id"].startswith("backfill__") and r["run_type"] == "scheduled" for r in runs)
    listed = (await admin.get("/api/dags/filled/backfills")).json()["backfills"]
    assert [b["id"] for b in listed] == [backfill["id"]]


async def test__backfill__reprocess_behavior_decides_which_intervals_run_again(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with fake_worker(server) as worker:
        await worker.register_dags(_hourly("again", FUTURE))
        first = await _backfill(
            admin, "again", from_date=start.isoformat(), to_date=(start + timedelta(hours=2)).isoformat()
        )
        assert first.status_code == 201, first.text
        await scheduler_pass(server)
        states = iter(["success", "failed", "success"])
        for workload in sorted(await worker.claim(), key=lambda w: w["task_instance"]["run_id"]):
            await worker.run(workload, next(states))
        await scheduler_pass(server)
        await scheduler_pass(server)
        results = {}
        for behavior in ("none", "failed", "completed"):
            response = await _backfill(
                admin,
                "again",
                from_date=start.isoformat(),
                to_date=(start + timedelta(hours=2)).isoformat(),
                reprocess_behavior=behavior,
            )
            assert response.status_code == 201, (behavior, response.text)
            await scheduler_pass(server)
            await scheduler_pass(server)
            url = f"/api/dags/again/backfills/{response.json()['id']}"
            results[behavior] = (await admin.get(url)).json()["runs_created"]
            for workload in await worker.claim():
                await worker.run(workload)
            await scheduler_pass(server)
            await scheduler_pass(server)
            assert (await admin.get(url)).json()["state"] == "completed"
        assert results == {"none": 0, "failed": 1, "completed": 3}


async def test__backfill__bad_input__4xx_with_reasons(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    await _register(server, _hourly("scheduled", FUTURE), dag("unscheduled", task("a")))
    day = {"from_date": start.isoformat(), "to_date": (start + timedelta(days=1)).isoformat()}
    cases = [
        ("nope", day, 404, "dag_not_found"),
        ("unscheduled", day, 422, "dag_not_scheduled"),
        (
            "scheduled",
            {"from_date": day["to_date"], "to_date": day["from_date"]},
            422,
            "invalid_backfill_range",
        ),
        (
            "scheduled",
            {"from_date": start.isoformat(), "to_date": (start + timedelta(days=365)).isoformat()},
            422,
            "too_many_backfill_intervals",
        ),
        (
            "scheduled",
            {
                "from_date": (start + timedelta(minutes=1)).isoformat(),
                "to_date": (start + timedelta(minutes=2)).isoformat(),
            },
            422,
            "empty_backfill_range",
        ),
    ]
    for dag_id, body, status, reason in cases:
        response = await _backfill(admin, dag_id, **body)
        assert (response.status_code, response.json().get("reason")) == (status, reason), (dag_id, body)
    assert (await _backfill(admin, "scheduled", **day, max_active_runs=0)).status_code == 422
    naive = await _backfill(admin, "scheduled", from_date="2026-01-01T00:00:00", to_date=day["to_date"])
    assert naive.status_code == 422
    assert (await _backfill(admin, "scheduled", **day)).status_code == 201
    again = await _backfill(admin, "scheduled", **day)
    assert (again.status_code, again.json()["reason"]) == (409, "backfill_already_running")
    missing = await admin.get(f"/api/dags/scheduled/backfills/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    assert (missing.status_code, missing.json()["reason"]) == (404, "backfill_not_found")
    assert (await admin.get("/api/dags/scheduled/backfills/not-a-uuid")).status_code == 422
    # Deleting the DAG deletes its backfills; registered again, it has none.
    deleted = await admin.delete("/api/dags/scheduled", params={"confirm": "scheduled"})
    assert deleted.status_code == 200, deleted.text
    await _register(server, _hourly("scheduled", FUTURE))
    assert (await admin.get("/api/dags/scheduled/backfills")).json()["backfills"] == []


@pytest.mark.parametrize(
    ("schedule", "from_date", "to_date"),
    [
        ({"interval_seconds": HOUR}, "0001-01-01T00:00:00Z", "0001-01-01T05:00:00Z"),  # year 0 before
        ({"interval_seconds": HOUR}, "9999-12-31T20:00:00Z", "9999-12-31T23:59:59Z"),  # 10000 after
        ({"cron": "0 0 * * *"}, "0001-01-01T00:00:00Z", "0001-01-05T00:00:00Z"),
        ({"cron": "0 0 * * *"}, "9999-12-25T00:00:00Z", "9999-12-31T23:59:59Z"),
    ],
)
async def test__backfill__range_at_the_calendars_ends__422_scheduler_unharmed(
    server: ServerHarness, admin: httpx.AsyncClient, schedule: dict[str, Any], from_date: str, to_date: str
) -> None:
    # An interval DAG's backfill from 0001-01-01 was stored, and every scheduler pass failed on it from
    # then on (its first run's data interval starts in year 0); the others answered 500.
    await _register(server, dag("edges", task("a"), schedule=schedule))
    response = await _backfill(admin, "edges", from_date=from_date, to_date=to_date)
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "validation_error"
    assert "calendar" in response.json()["message"]
    assert (await admin.get("/api/dags/edges/backfills")).json()["backfills"] == []
    await scheduler_pass(server)
    fits = await _backfill(admin, "edges", from_date="0002-01-01T00:00:00Z", to_date="0002-01-05T00:00:00Z")
    assert fits.status_code == 201, fits.text
    assert (await scheduler_pass(server)).backfill_runs_created >= 1


async def _store_as_an_older_release_did(
    server: ServerHarness, dag_id: str, due: datetime, **description: Any
) -> None:
    """Give DAG ``dag_id`` a latest version with ``description``'s fields, written to the database as a
    release before registration refused such schedules did, its next tick ``due``."""
    async with server.runtime.sessions() as session:
        record = await session.get(DagRecord, dag_id)
        assert record is not None
        assert record.latest_version_id is not None
        latest = await session.get(DagVersionRecord, record.latest_version_id)
        assert latest is not None
        version = DagVersionRecord(
            dag_id=dag_id,
            version_number=latest.version_number + 1,
            description_hash=secrets.token_hex(32),
            description={**latest.description, **description},
            bundle_name=latest.bundle_name,
        )
        session.add(version)
        await session.flush()
        record.latest_version_id = version.id
        record.next_run_at = due
        await session.commit()


@pytest.mark.parametrize(
    ("schedule", "catchup", "due"),
    [
        # A year field, past its last year: no next tick.
        ({"cron": "* * * * * 0 2001"}, False, datetime(2001, 12, 31, 23, 59, tzinfo=UTC)),
        # A catchup from year 1: its first run's data interval starts before it.
        ({"interval_seconds": HOUR, "start_at": "0001-01-01T00:00:00Z"}, True, datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
async def test__a_stored_schedule_with_no_tick_to_compute__stops_its_dag_alone(
    server: ServerHarness, admin: httpx.AsyncClient, schedule: dict[str, Any], catchup: bool, due: datetime
) -> None:
    # Registration refuses such schedules now; one stored before it did failed every scheduler pass, so
    # no run of any DAG was made, started or resolved again.
    now = datetime.now(UTC)
    await _register(server, _hourly("healthy", now - timedelta(hours=2)), _hourly("broken", FUTURE))
    await _store_as_an_older_release_did(server, "broken", due, schedule=schedule, catchup=catchup)

    report = await scheduler_pass(server, now + timedelta(hours=1))  # the healthy DAG's next tick is due

    assert report.runs_created == 1  # the healthy DAG's
    assert [r["dag_id"] for r in await _runs(admin, "healthy")] == ["healthy"]
    broken = (await admin.get("/api/dags/broken")).json()
    assert (broken["next_run_at"], await _runs(admin, "broken")) == (None, [])
    assert (await scheduler_pass(server, now + timedelta(hours=2))).runs_created == 1


async def test__a_stored_backfill_with_no_tick_to_compute__skips_its_rest_alone(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # Creating such a backfill is refused now; one stored before was failed every scheduler pass.
    await _register(server, _hourly("old", FUTURE), _hourly("fine", FUTURE))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for dag_id in ("old", "fine"):
        made = await _backfill(
            admin, dag_id, from_date=start.isoformat(), to_date=(start + timedelta(hours=2)).isoformat()
        )
        assert made.status_code == 201, made.text
    async with server.runtime.sessions() as session:  # as a release before the refusal stored it
        edge = datetime(1, 1, 1, tzinfo=UTC)
        await session.execute(
            update(BackfillRecord)
            .where(BackfillRecord.dag_id == "old")
            .values(from_date=edge, next_logical_date=edge)
        )
        await session.commit()

    report = await scheduler_pass(server)

    assert report.backfill_runs_created == 3  # the fine one's
    await scheduler_pass(server)  # a backfill with nothing left to do completes at the next pass
    assert await _runs(admin, "old") == []
    (old,) = (await admin.get("/api/dags/old/backfills")).json()["backfills"]
    assert (old["state"], old["runs_created"], old["intervals_skipped"]) == ("completed", 0, 3)


@pytest.mark.postgres_only
async def test__two_replicas__one_backfill_one_run_per_tick_and_never_over_the_cap(
    server: ServerHarness, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    # The services are driven directly, without the scheduler's leader lock, so that both replicas
    # really advance the backfill and make catchup runs at once: only the conditional writes hold.
    first = server.runtime
    second = Runtime.create(
        make_settings(first.settings.effective_database_url, tmp_path, signing_key=first.settings.signing_key)
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    window = {"from_date": start, "to_date": start + timedelta(hours=29)}

    async def create(runtime: Runtime) -> str:
        async with runtime.sessions() as session:
            try:
                await backfills.create_backfill(
                    session, "shared", **window, max_active_runs=3, reprocess_behavior=ReprocessBehavior.NONE
                )
            except ConflictError as exc:
                return exc.reason
            return "created"

    async def advance(runtime: Runtime) -> None:
        async with runtime.sessions() as session:
            await backfills.advance_backfills(session, datetime.now(UTC))
            await session.commit()

    async def catch_up(runtime: Runtime, now: datetime) -> None:
        async with runtime.sessions() as session:
            await create_scheduled_runs(session, now)
            await session.commit()

    try:
        async with fake_worker(server) as worker:
            await worker.register_dags(_hourly("shared", FUTURE))
            outcomes = await asyncio.gather(*(create(r) for r in (first, second, first, second)))
            assert sorted(outcomes) == ["backfill_already_running"] * 3 + ["created"]
            for _ in range(60):
                await asyncio.gather(*(advance(r) for r in (first, second, first, second)))
                await scheduler_pass(server)  # starts and queues what the replicas made
                runs = await _runs(admin, "shared")
                assert len([r for r in runs if r["state"] in ("queued", "running")]) <= 3
                if len(runs) == 30 and all(r["state"] == "success" for r in runs):
                    break
                for workload in await worker.claim():
                    await worker.run(workload)
            await worker.register_dags(_hourly("caught_twice", start + timedelta(days=1), catchup=True))
            later = start + timedelta(days=1, hours=9, minutes=1)
            await asyncio.gather(*(catch_up(r, later) for r in (first, second, first, second)))
    finally:
        await second.close()
    ticks = [datetime.fromisoformat(r["logical_date"]) for r in await _runs(admin, "shared")]
    assert sorted(ticks) == [start + timedelta(hours=h) for h in range(30)]
    caught = [datetime.fromisoformat(r["logical_date"]) for r in await _runs(admin, "caught_twice")]
    assert sorted(caught) == [start + timedelta(days=1, hours=h) for h in range(10)]
