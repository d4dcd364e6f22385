"""A claim's look at the queue and its claim read a few pages, however many attempts its worker ran
before, however many task instances were queued and taken before the claimable ones, and from one queue
or several (PostgreSQL's plans, custom and generic, as a prepared statement gets them); so does the
admin listing's count of what each worker holds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from baton_server.claim_watch import any_in_claim_order
from baton_server.db.tables import CLAIMABLE, DagRecord, PoolRecord, TaskInstanceRecord
from baton_server.services import workers, workloads
from sqlalchemy import ColumnElement, Table, insert, select, text, update

from tests.conftest import ServerHarness
from tests.factories import make_dag_run

HISTORY = 2000
"""Attempts the worker ran to their end, queued before the claimable ones (the table's first rows)."""
RUNNING = 3
CLAIMABLE_ROWS = 6000
IDLE_LIMITED_DAGS = 2000
IDLE_DAGS = 5000
MOST_PAGES = 30
"""Pages a look may read here; reading the worker's history or the taken rows costs more."""
MOST_PAGES_OF_A_CLAIM = 100
"""Pages a claim of two rows may read here: it writes an entry in each of the table's indexes (about 60);
sorting the claimable rows of its queues costs hundreds."""

_TI = cast(Table, TaskInstanceRecord.__table__)


async def _seeded(server: ServerHarness) -> uuid.UUID:
    """A worker's finished attempts, then its running ones, then claimable task instances; analyzed."""
    first = (await make_dag_run(server.runtime, task_ids=("t",)))["t"]
    worker = uuid.uuid4()
    start = datetime(2026, 12, 6, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    for n in range(HISTORY + RUNNING + CLAIMABLE_ROWS):
        held = n < HISTORY + RUNNING
        rows.append(
            {
                "id": uuid.uuid4(),
                "dag_run_id": first.dag_run_id,
                "dag_id": first.dag_id,
                "run_id": first.run_id,
                "task_id": "t",
                "map_index": n,
                "dag_version_id": first.dag_version_id,
                "state": ("success" if n < HISTORY else "running") if held else "queued",
                "try_number": 1,
                "queue": "default" if held or n % 2 else "other",
                "runtime": "python",
                "worker_id": worker if held else None,
                "queued_at": start + timedelta(seconds=n),
            }
        )
    async with server.runtime.autocommit.connect() as conn:
        # The run's own task instance, the table's first row, ran too.
        await conn.execute(update(_TI).where(_TI.c.id == first.id).values(state="success", worker_id=worker))
        await conn.execute(insert(_TI), rows)
        await conn.execute(text("ANALYZE task_instances"))
    return worker


def _literal(arg: Any) -> str:
    """A parameter as PostgreSQL reads it from text: a list as an array literal."""
    if isinstance(arg, list):
        return "{" + ",".join('"' + str(item).replace('"', '\\"') + '"' for item in arg) + "}"
    return str(arg)


async def _pages_read(server: ServerHarness, sql: str, args: list[Any]) -> dict[str, int]:
    """Pages the statement read, by plan cache mode: prepared, then explained as executed (in a
    transaction rolled back after, so that a claim takes nothing)."""
    # EXPLAIN takes no parameters: the values as literals, which take the prepared parameters' types.
    literals = ", ".join("'" + _literal(arg).replace("'", "''") + "'" for arg in args)
    execute = f"EXECUTE probe({literals})" if args else "EXECUTE probe"
    read: dict[str, int] = {}
    async with server.runtime.autocommit.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"PREPARE probe AS {sql}")
        try:
            for mode in ("force_custom_plan", "force_generic_plan"):
                transaction = driver.transaction()
                await transaction.start()
                try:
                    await driver.execute(f"SET LOCAL plan_cache_mode = {mode}")
                    explained = await driver.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}")
                finally:
                    await transaction.rollback()
                # The dialect's connections decode JSON already.
                plan = (json.loads(explained) if isinstance(explained, str) else explained)[0]["Plan"]
                read[mode] = int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])
        finally:
            await driver.execute("DEALLOCATE probe")
    return read


@pytest.fixture
async def worker(server: ServerHarness) -> uuid.UUID:
    if server.runtime.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plans")
    return await _seeded(server)


@pytest.mark.parametrize("idle_dags", [0, IDLE_DAGS])
async def test__the_claims_look__counts_the_workers_slots_and_finds_work_in_a_few_pages(
    server: ServerHarness, worker: uuid.UUID, idle_dags: int
) -> None:
    """Also among thousands of DAGs that set no limit: whether any pool or DAG is limited, which every
    claim asks (in the sign of life it starts with and in its look), reads the index of the limited
    ones (migration 0012), not every DAG."""
    async with server.runtime.autocommit.connect() as conn:
        now = datetime.now(UTC)
        rows = [{"dag_id": f"idle_{n}", "created_at": now, "updated_at": now} for n in range(idle_dags)]
        if rows:
            await conn.execute(insert(DagRecord.__table__), rows)
            await conn.execute(text("ANALYZE"))
    look = workloads._statements(1).look
    params = {"b_worker": worker, "b_runtime": "python", "b_queue_0": "other"}
    async with server.runtime.autocommit.connect() as conn:
        row = await look.first(conn, params)
    # Its running attempts, work to take, nothing limited (so nothing full).
    assert tuple(row) == (RUNNING, True, False, False)
    plan = look._plan_for(server.runtime.engine.dialect)
    read = await _pages_read(server, plan.sql, plan.arguments(params))
    assert all(pages <= MOST_PAGES for pages in read.values()), read


async def test__the_claim_watchs_probe__finds_work_in_a_few_pages(
    server: ServerHarness, worker: uuid.UUID
) -> None:
    probe = select(
        any_in_claim_order(
            cast(ColumnElement[bool], text(CLAIMABLE)), _TI.c.queue == "default", _TI.c.runtime == "python"
        )
    )
    sql = str(probe.compile(dialect=server.runtime.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with server.runtime.autocommit.connect() as conn:
        assert (await conn.execute(probe)).scalar() is True
    read = await _pages_read(server, sql, [])
    assert all(pages <= MOST_PAGES for pages in read.values()), read


@pytest.mark.parametrize("queues", [1, 2])
@pytest.mark.parametrize("capacity", [None, RUNNING + 1])
@pytest.mark.parametrize("patterns", [None, ("et?", "other_*")], ids=["every DAG", "a credential's DAGs"])
async def test__the_claim__takes_the_oldest_in_a_few_pages_from_one_queue_or_several(
    server: ServerHarness,
    worker: uuid.UUID,
    queues: int,
    capacity: int | None,
    patterns: tuple[str, ...] | None,
) -> None:
    # capacity: the claim the look folds into, which counts the worker's free slots itself (one here).
    # patterns: a worker credential's DAGs (the seeded "etl" among them), written into the statements.
    any_dag = workloads._statements(queues, workloads._scope(patterns, server.runtime.engine.dialect))
    claim = any_dag.claim[True] if capacity is None else any_dag.claim_in_free_slots
    params = {
        "b_runtime": "python",
        "b_limit": 2,
        "b_max": 2,
        "b_capacity": capacity,
        "b_worker": worker,
        "b_claimer": worker,
        "b_now": datetime(2026, 12, 6, tzinfo=UTC),
        **{f"b_queue_{n}": queue for n, queue in enumerate(["other", "default"][:queues])},
    }
    plan = claim._plan_for(server.runtime.engine.dialect)
    read = await _pages_read(server, plan.sql, plan.arguments(params))
    assert all(pages <= MOST_PAGES_OF_A_CLAIM for pages in read.values()), read
    async with server.runtime.autocommit.connect() as conn:
        claimed = await claim.all(conn, params)
    first_queued = HISTORY + RUNNING
    expected = [first_queued, first_queued + 1] if queues == 2 else [first_queued + 1, first_queued + 3]
    assert sorted(row.map_index for row in claimed) == expected[: 2 if capacity is None else 1]


async def test__a_listing_of_workers__counts_their_held_attempts_in_a_few_pages(
    server: ServerHarness, worker: uuid.UUID
) -> None:
    """The admin listing counts each listed worker's queued and running attempts, not its history."""
    count = workers._held_counts([worker, uuid.uuid4()])
    sql = str(count.compile(dialect=server.runtime.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with server.runtime.autocommit.connect() as conn:
        assert [tuple(row) for row in await conn.execute(count)] == [(worker, RUNNING)]
    read = await _pages_read(server, sql, [])
    assert all(pages <= MOST_PAGES for pages in read.values()), read


async def test__a_claim_under_limits__counts_what_a_pool_and_a_dag_have_taken_in_a_few_pages(
    server: ServerHarness, worker: uuid.UUID
) -> None:
    """The tasks' own pool and DAG are limited, beside 2,000 other limited DAGs that run nothing: the
    full pools and DAGs are read, the first candidates found with their limits, what is taken of their
    pool and DAG counted, and one of them taken under both limits, each in a few pages (not every queued
    row of the pool, nor every attempt the DAG ran, nor every limited DAG)."""
    async with server.runtime.autocommit.connect() as conn:
        pools, dags = PoolRecord.__table__, DagRecord.__table__
        await conn.execute(pools.delete().where(pools.c.name == "default_pool"))
        now = datetime.now(UTC)
        await conn.execute(insert(pools).values(name="default_pool", slots=1000, updated_at=now))
        await conn.execute(update(dags).values(max_active_tasks=1000))
        dag_id = (await conn.execute(select(dags.c.dag_id))).scalar_one()
        await conn.execute(
            insert(dags),
            [
                {"dag_id": f"idle_{n}", "max_active_tasks": 4, "created_at": now, "updated_at": now}
                for n in range(IDLE_LIMITED_DAGS)
            ],
        )
        await conn.execute(text("ANALYZE"))

    full, look = workloads._FULL, workloads._statements(1).look
    plan = full._plan_for(server.runtime.engine.dialect)
    looking = {"b_worker": worker, "b_runtime": "python", "b_queue_0": "default"}
    look_plan = look._plan_for(server.runtime.engine.dialect)
    async with server.runtime.autocommit.connect() as conn:
        assert await full.all(conn, {}) == []
        assert tuple(await look.first(conn, looking))[2:] == (True, False)  # limited, nothing full
        for read in (
            await _pages_read(server, plan.sql, plan.arguments({})),
            await _pages_read(server, look_plan.sql, look_plan.arguments(looking)),
        ):
            assert all(pages <= MOST_PAGES for pages in read.values()), read
        await conn.execute(update(pools).values(slots=RUNNING))
        await conn.execute(update(dags).where(dags.c.dag_id == dag_id).values(max_active_tasks=RUNNING))
        full_now = sorted(tuple(row) for row in await full.all(conn, {}))
        assert full_now == [("dag", dag_id), ("pool", "default_pool")]
        assert tuple(await look.first(conn, looking))[2:] == (True, True)
        for read in (
            await _pages_read(server, plan.sql, plan.arguments({})),
            await _pages_read(server, look_plan.sql, look_plan.arguments(looking)),
        ):
            assert all(pages <= MOST_PAGES for pages in read.values()), read
        await conn.execute(update(pools).values(slots=1000))
        await conn.execute(update(dags).where(dags.c.dag_id == dag_id).values(max_active_tasks=1000))

    taken_of = workloads._TAKEN_OF
    names = {"b_pools": ["default_pool"], "b_dags": [dag_id]}
    async with server.runtime.autocommit.connect() as conn:
        counts = sorted(tuple(row) for row in await taken_of.all(conn, names))
    assert counts == [("dag", dag_id, RUNNING), ("pool", "default_pool", RUNNING)]
    plan = taken_of._plan_for(server.runtime.engine.dialect)
    read = await _pages_read(server, plan.sql, plan.arguments(names))
    assert all(pages <= MOST_PAGES for pages in read.values()), read

    candidates = workloads._statements(1).candidates_within_limits[True]
    look = {"b_runtime": "python", "b_limit": 1, "b_queue_0": "default"}
    plan = candidates._plan_for(server.runtime.engine.dialect)
    read = await _pages_read(server, plan.sql, plan.arguments(look))
    assert all(pages <= MOST_PAGES for pages in read.values()), read
    async with server.runtime.autocommit.connect() as conn:
        [(first, pool, slots, of_dag, pool_most, dag_most)] = await candidates.all(conn, look)
    assert (pool, slots, of_dag, pool_most, dag_most) == ("default_pool", 1, dag_id, 1000, 1000)

    given = workloads._given_within(True, True)
    room = {
        "b_id": first,
        "b_pool": "default_pool",
        "b_dag": dag_id,
        "b_claimer": worker,
        "b_now": datetime(2026, 12, 6, tzinfo=UTC),
    }
    plan = given._plan_for(server.runtime.engine.dialect)
    within = {**room, "b_pool_most": 1000, "b_dag_most": 1000}
    read = await _pages_read(server, plan.sql, plan.arguments(within))
    assert all(pages <= MOST_PAGES_OF_A_CLAIM for pages in read.values()), read
    async with server.runtime.autocommit.connect() as conn:
        # A DAG or a pool that has no room left takes nothing; then the candidate is taken.
        assert await given.all(conn, {**within, "b_dag_most": RUNNING}) == []
        assert await given.all(conn, {**within, "b_pool_most": RUNNING}) == []
        [taken] = await given.all(conn, within)
    assert taken.id == first
