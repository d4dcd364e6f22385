"""A running attempt's heartbeat floor: indexed for the scheduler, moved only once it lags, so that most
heartbeats change no indexed column (on PostgreSQL, an update in place); the scheduler still finds every
attempt whose heartbeat stopped, whatever its floor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from baton_server.db.tables import TaskInstanceRecord
from baton_server.scheduler.task_instances import fail_timed_out
from baton_server.services import task_instances
from baton_server.services.task_instances import heartbeat_floor_cutoff
from sqlalchemy import select, text, update

from tests.conftest import ServerHarness
from tests.factories import make_dag_run

TIMEOUT = 300.0
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
LAG = START - heartbeat_floor_cutoff(START, TIMEOUT)


async def _running(server: ServerHarness, *task_ids: str) -> dict[str, uuid.UUID]:
    """Running attempts of one run (host-1, pid 7, try 1), as a start leaves them, floor and all."""
    tis = await make_dag_run(server.runtime, task_ids=task_ids)
    async with server.runtime.sessions() as session:
        await session.execute(
            update(TaskInstanceRecord)
            .where(TaskInstanceRecord.id.in_([ti.id for ti in tis.values()]))
            .values(
                state="running",
                hostname="host-1",
                pid=7,
                start_date=START,
                last_heartbeat_at=START,
                heartbeat_floor=START,
            )
        )
        await session.commit()
    return {name: ti.id for name, ti in tis.items()}


def _beat(ti_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "b_id": ti_id,
        "b_try": 1,
        "b_host": "host-1",
        "b_pid": 7,
        "b_now": at,
        "b_stale": heartbeat_floor_cutoff(at, TIMEOUT),
    }


async def _stamps(server: ServerHarness, ti_id: uuid.UUID) -> tuple[datetime | None, datetime | None]:
    async with server.runtime.sessions() as session:
        row = (
            await session.execute(
                select(TaskInstanceRecord.last_heartbeat_at, TaskInstanceRecord.heartbeat_floor).where(
                    TaskInstanceRecord.id == ti_id
                )
            )
        ).one()
    return row.last_heartbeat_at, row.heartbeat_floor


def test__floor_lag__a_quarter_of_the_timeout__at_most_a_minute() -> None:
    assert START - heartbeat_floor_cutoff(START, 120) == timedelta(seconds=30)
    assert START - heartbeat_floor_cutoff(START, 300) == timedelta(seconds=60)
    assert START - heartbeat_floor_cutoff(START, 86400) == timedelta(seconds=60)


async def test__heartbeat__moves_the_floor_only_once_it_lags(
    server: ServerHarness,
) -> None:
    (ti_id,) = (await _running(server, "work")).values()
    statement = task_instances._HEARTBEAT
    within, past = START + LAG - timedelta(seconds=1), START + LAG + timedelta(seconds=1)
    async with server.runtime.autocommit.connect() as conn:
        assert await statement.rowcount(conn, _beat(ti_id, within)) == 1
        after_within = await _stamps(server, ti_id)
        assert await statement.rowcount(conn, _beat(ti_id, past)) == 1
        after_past = await _stamps(server, ti_id)
        # Running since before the floor came (migration 0013): the next heartbeat sets it.
        await conn.execute(
            update(TaskInstanceRecord).where(TaskInstanceRecord.id == ti_id).values(heartbeat_floor=None)
        )
        await conn.commit()
        assert await statement.rowcount(conn, _beat(ti_id, past + timedelta(seconds=5))) == 1
        after_unset = await _stamps(server, ti_id)
    assert after_within == (within, START)
    assert after_past == (past, past)
    assert after_unset == (past + timedelta(seconds=5), past + timedelta(seconds=5))


async def test__heartbeat__moves_back_a_floor_after_it(server: ServerHarness) -> None:
    # A replica whose clock runs ahead set the floor; a heartbeat served by one behind it would leave the
    # floor after the last heartbeat, and the scheduler would find the attempt stopped that much later.
    (ti_id,) = (await _running(server, "work")).values()
    ahead = START + LAG + timedelta(seconds=3)
    behind = START + LAG + timedelta(seconds=1)
    async with server.runtime.autocommit.connect() as conn:
        assert await task_instances._HEARTBEAT.rowcount(conn, _beat(ti_id, ahead)) == 1
        assert await _stamps(server, ti_id) == (ahead, ahead)
        assert await task_instances._HEARTBEAT.rowcount(conn, _beat(ti_id, behind)) == 1
        assert await _stamps(server, ti_id) == (behind, behind)
        # The next heartbeat of the clock ahead leaves it: the floor is behind it, within its lag.
        later = ahead + timedelta(seconds=5)
        assert await task_instances._HEARTBEAT.rowcount(conn, _beat(ti_id, later)) == 1
    assert await _stamps(server, ti_id) == (later, behind)


async def test__heartbeat_within_the_floors_lag__updates_the_row_in_place_on_postgresql(
    server: ServerHarness,
) -> None:
    if server.runtime.engine.dialect.name != "postgresql":
        pytest.skip("an update in place (HOT) is PostgreSQL's")
    (ti_id,) = (await _running(server, "work")).values()
    statement = task_instances._HEARTBEAT.statement
    counts = text(
        "SELECT pg_stat_get_xact_tuples_updated(c.oid), pg_stat_get_xact_tuples_hot_updated(c.oid) "
        "FROM pg_class c WHERE c.oid = to_regclass('task_instances')"
    )
    async with server.runtime.engine.connect() as conn:
        # The backend's counts not yet sent to the statistics, read within one transaction (nothing is
        # sent while it is open): they may hold an earlier transaction's of this pooled connection, so
        # what this one's statements did is the difference from the first read.
        first = (await conn.execute(counts)).one()
        for second in range(1, 6):
            assert (
                await conn.execute(statement, _beat(ti_id, START + timedelta(seconds=second)))
            ).rowcount == 1
        within = tuple(n - m for n, m in zip((await conn.execute(counts)).one(), first, strict=True))
        await conn.execute(statement, _beat(ti_id, START + LAG + timedelta(seconds=1)))
        moved = tuple(n - m for n, m in zip((await conn.execute(counts)).one(), first, strict=True))
        await conn.rollback()
    assert within == (5, 5), "no heartbeat within the lag changes an indexed column"
    assert moved == (6, 5), "the heartbeat that moves the floor changes the index"


async def test__scheduler__finds_stopped_heartbeats_by_the_last_one__whatever_the_floor(
    server: ServerHarness,
) -> None:
    ids = await _running(
        server, "lagging_floor_alive", "lagging_floor_stopped", "unset_floor_stopped", "alive"
    )
    now = START + timedelta(seconds=TIMEOUT + 60)
    recent = now - timedelta(seconds=5)
    stamps: dict[str, dict[str, Any]] = {
        # A floor that lags (as it may, by up to a minute) but a heartbeat just now.
        "lagging_floor_alive": {"last_heartbeat_at": recent, "heartbeat_floor": START},
        "lagging_floor_stopped": {
            "last_heartbeat_at": START + timedelta(seconds=30),
            "heartbeat_floor": START,
        },
        # Running since before migration 0013, its heartbeat stopped before any moved its floor.
        "unset_floor_stopped": {"last_heartbeat_at": START, "heartbeat_floor": None},
        "alive": {"last_heartbeat_at": recent, "heartbeat_floor": recent},
    }
    async with server.runtime.sessions() as session:
        for name, values in stamps.items():
            await session.execute(
                update(TaskInstanceRecord).where(TaskInstanceRecord.id == ids[name]).values(**values)
            )
        await session.commit()
    async with server.runtime.sessions() as session:
        ended = await fail_timed_out(session, now, TIMEOUT)
        await session.commit()
        states = dict(
            (
                await session.execute(
                    select(TaskInstanceRecord.task_id, TaskInstanceRecord.state).where(
                        TaskInstanceRecord.id.in_(ids.values())
                    )
                )
            ).all()
        )
    assert ended == 2
    assert states == {
        "lagging_floor_alive": "running",
        "lagging_floor_stopped": "up_for_retry",
        "unset_floor_stopped": "up_for_retry",
        "alive": "running",
    }
