"""A direct statement answers as SQLAlchemy's execution of the same statement does, on either database."""

from __future__ import annotations

import importlib
import pkgutil
import uuid
from datetime import UTC, datetime
from typing import Any

import baton_server.scheduler
import baton_server.services
import pytest
from baton_server.db.direct import Direct
from baton_server.db.tables import (
    ConnectionRecord,
    PoolRecord,
    TaskInstanceRecord,
    TaskLogRecord,
    VariableRecord,
    WorkerRecord,
    XComRecord,
)
from baton_server.db.upsert import upsert
from baton_server.services import workloads
from baton_server.services.credentials import hash_token
from sqlalchemy import CTE, bindparam, select, text, update
from sqlalchemy.sql import visitors

from tests.conftest import ServerHarness
from tests.factories import make_dag_run
from tests.orchestration import fake_worker


def _service_statements() -> dict[str, Direct]:
    """Every direct statement the services and the scheduler declare, by module and name (a scheduler
    module's prefixed with ``scheduler.``)."""
    found: dict[str, Direct] = {}
    for package, prefix in ((baton_server.services, ""), (baton_server.scheduler, "scheduler.")):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, value in vars(module).items():
                if isinstance(value, Direct):
                    found[f"{prefix}{info.name}.{name}"] = value
    return found


AGGREGATES = {"scheduler.task_instances._RUN_SUMMARY", "scheduler.loop._TRY_PASS_LOCK"}
"""Reads that answer a row even when nothing matches."""
POSTGRES_ONLY = {
    "scheduler.loop._TRY_PASS_LOCK",
    "workloads._LOCK_POOLS",
    "workloads._LOCK_DAGS",
    "workloads._TAKEN_OF",
}
"""Reads of PostgreSQL's own functions or arrays."""
UNNAMED = {"workloads._FULL"}
"""Reads that name nothing: the same rows whatever the parameters (the seed's full pool)."""


STATEMENTS = _service_statements()


def test__services__declare_direct_statements() -> None:
    # The read of the attempt, variables, connections, XComs and the heartbeat at least.
    assert {
        "task_instances._ATTEMPT",
        "task_instances._HEARTBEAT",
        "scheduler.task_instances._RUN_SUMMARY",
        "scheduler.task_instances._RUN_TASK_INSTANCES",
        "scheduler.task_instances._QUEUE_SCHEDULED_OF_RUN",
        "scheduler.loop._TRY_PASS_LOCK",
        "variables._VALUE",
        "workloads._WORKER_HEARTBEAT_BY_TOKEN",
        "connections._FOR_TASK",
        "xcoms._VALUE",
    } <= set(STATEMENTS)


@pytest.fixture
async def seeded(server: ServerHarness) -> dict[str, Any]:
    """One running task instance of a worker, taking the one slot of its pool, and a variable, a
    connection and an XCom of it; the parameters naming them."""
    ti = (await make_dag_run(server.runtime, task_ids=("extract",)))["extract"]
    batch = uuid.uuid4()
    async with fake_worker(server, name="seeded-worker") as worker:
        pass
    async with server.runtime.sessions() as session:
        session.add(PoolRecord(name="db", slots=1, updated_at=datetime(2026, 12, 4, tzinfo=UTC)))
        await session.flush()
        await session.execute(
            update(TaskInstanceRecord)
            .where(TaskInstanceRecord.id == ti.id)
            .values(
                state="running",
                hostname="host-1",
                pid=7,
                start_date=datetime(2026, 12, 4, tzinfo=UTC),
                pool="db",
                worker_id=uuid.UUID(worker.id),
            )
        )
        session.add(VariableRecord(key="k", value='{"rows": 3}', read_dag_ids=["etl"], write_dag_ids=None))
        session.add(
            ConnectionRecord(
                conn_id="k", conn_type="postgres", host="db", port=5432, login="u", allowed_dag_ids=["etl"]
            )
        )
        session.add(
            XComRecord(
                dag_id="etl",
                run_id=ti.run_id,
                task_id="extract",
                map_index=-1,
                key="k",
                value="[1, 2]",
                task_instance_id=ti.id,
            )
        )
        session.add(
            TaskLogRecord(
                task_instance_id=ti.id,
                try_number=1,
                timestamp=datetime(2026, 12, 4, tzinfo=UTC),
                level="info",
                message="seeded",
                batch_id=batch,
                batch_line=0,
            )
        )
        await session.commit()
    return {
        "b_id": ti.id,
        "b_key": "k",
        "b_conn_id": "k",
        "b_dag_id": "etl",
        "b_run_id": ti.run_id,
        "b_task_id": "extract",
        "b_map_index": -1,
        "b_try": 1,
        "b_host": "host-1",
        "b_pid": 7,
        "b_now": datetime(2026, 12, 4, 12, tzinfo=UTC),
        "b_stale": datetime(2026, 12, 4, 11, 55, tzinfo=UTC),  # a heartbeat floor before it is moved up
        "b_batch": batch,
        "b_size": 10,
        "b_cap": 1 << 20,
        "run_pk": ti.dag_run_id,
        "b_run": ti.dag_run_id,
        "b_lock": 1,
        "b_pools": ["db"],
        "b_dags": ["etl"],
        "a_id": ti.id,  # the attempt check a request's own statement carries (RUNNING_ATTEMPT)
        "a_try": 1,
    }


def _row(row: Any) -> tuple[tuple[str, ...], tuple[Any, ...], tuple[type, ...]] | None:
    if row is None:
        return None
    return tuple(row._fields), tuple(row), tuple(type(value) for value in row)


def _writes(statement: Direct) -> bool:
    """Whether a statement writes: an INSERT, UPDATE or DELETE, or a SELECT over one (a CTE)."""
    return not statement.statement.is_select or any(
        isinstance(element, CTE) and element.element.is_dml
        for element in visitors.iterate(statement.statement)
    )


READS = sorted(name for name, statement in STATEMENTS.items() if not _writes(statement))


@pytest.mark.parametrize("name", READS)
async def test__direct_read__same_row_as_sqlalchemy(
    server: ServerHarness, seeded: dict[str, Any], name: str
) -> None:
    statement = STATEMENTS[name]
    if name in POSTGRES_ONLY and server.runtime.engine.dialect.name != "postgresql":
        pytest.skip("a function or an array of PostgreSQL's")
    if name == "task_instances._RUN_INFO":  # keyed by the DAG run's id
        seeded = {**seeded, "b_id": seeded["run_pk"]}
    absent = {
        **seeded,
        "b_id": uuid.uuid4(),
        "b_key": "absent",
        "b_conn_id": "x",
        "b_batch": uuid.uuid4(),
        "a_id": uuid.uuid4(),
        "b_run": uuid.uuid4(),
        "b_pools": ["absent"],
        "b_dags": ["absent"],
    }
    async with server.runtime.autocommit.connect() as conn:
        expected = (await conn.execute(statement.statement, seeded)).first()
        got = await statement.first(conn, seeded)
        expected_missing = (await conn.execute(statement.statement, absent)).first()
        missing = await statement.first(conn, absent)
    assert expected is not None, "the seed should match every read"
    assert _row(got) == _row(expected)
    assert _row(missing) == _row(expected_missing)
    assert (missing is None) == (name not in AGGREGATES | UNNAMED)
    if conn.dialect.name == "postgresql":
        assert statement._plans, "on PostgreSQL in autocommit the statement runs on the driver"


async def test__start_with_run__one_statement_answers_the_run_as_its_own_read(
    server: ServerHarness, seeded: dict[str, Any]
) -> None:
    from baton_server.services import task_instances

    if server.runtime.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's start (an UPDATE in a CTE); SQLite's is two statements")
    start = STATEMENTS["task_instances._START_UNNAMED_WITH_RUN"]
    params = {**seeded, "b_worker": None, "b_user": "bench", "b_start": seeded["b_now"]}
    async with server.runtime.autocommit.connect() as conn:
        assert await start.first(conn, params) is None, "a running attempt does not start"
        await conn.execute(
            update(TaskInstanceRecord)
            .where(TaskInstanceRecord.id == seeded["b_id"])
            .values(state="queued", worker_id=None)
        )
        started = await start.first(conn, params)
        run = await task_instances._RUN_INFO.first(conn, {"b_id": seeded["run_pk"]})
        state = await conn.scalar(
            select(TaskInstanceRecord.state).where(TaskInstanceRecord.id == seeded["b_id"])
        )
    assert started is not None
    assert run is not None
    assert started.id == seeded["b_id"]
    assert started.dag_run_id == seeded["run_pk"]
    assert tuple(started[len(task_instances._STARTED) :]) == tuple(run)
    assert state == "running"
    assert start._plans, "on PostgreSQL in autocommit the start runs on the driver"


async def test__direct_update__counts_rows_and_sets_python_side_columns(
    server: ServerHarness, seeded: dict[str, Any]
) -> None:
    heartbeat = STATEMENTS["task_instances._HEARTBEAT"]
    async with server.runtime.autocommit.connect() as conn:
        before = (
            await conn.execute(
                select(TaskInstanceRecord.updated_at).where(TaskInstanceRecord.id == seeded["b_id"])
            )
        ).scalar_one()
        assert await heartbeat.rowcount(conn, seeded) == 1
        assert await heartbeat.rowcount(conn, {**seeded, "b_pid": 8}) == 0
        row = (
            await conn.execute(
                select(TaskInstanceRecord.last_heartbeat_at, TaskInstanceRecord.updated_at).where(
                    TaskInstanceRecord.id == seeded["b_id"]
                )
            )
        ).one()
    assert row.last_heartbeat_at == seeded["b_now"]
    assert row.updated_at > before  # the column's onupdate ran, as it does through SQLAlchemy


@pytest.mark.parametrize("name", ["_WORKER_HEARTBEAT_BY_TOKEN", "_WORKER_HEARTBEAT_OF_RUNTIMES"])
async def test__worker_heartbeat_by_token__the_row_sqlalchemy_returns__for_its_credential_only(
    server: ServerHarness, name: str
) -> None:
    heartbeat = STATEMENTS[f"workloads.{name}"]
    async with fake_worker(server, queues=["a", "b"], capacity=3, runtime="go") as worker:
        token = worker.http.headers["authorization"].removeprefix("Bearer ")
        params: dict[str, Any] = {"b_id": uuid.UUID(worker.id), "b_hash": hash_token(token)}
        params.update({f"b_runtime_{slot}": "go" for slot in range(workloads.RUNTIME_SLOTS)})
        first, second = datetime(2026, 12, 6, 1, tzinfo=UTC), datetime(2026, 12, 6, 2, 0, 0, 7, tzinfo=UTC)
        async with server.runtime.autocommit.connect() as conn:
            expected = (await conn.execute(heartbeat.statement, {**params, "b_now": first})).first()
            got = await heartbeat.first(conn, {**params, "b_now": second})
            other = await heartbeat.first(conn, {**params, "b_now": second, "b_hash": hash_token("x")})
    shape = _row(expected)
    assert shape is not None
    assert got is not None
    names, values, types = shape
    # The same columns, values and types, but the time each recorded.
    assert _row(got) == (
        names,
        tuple(second if n == "last_heartbeat_at" else v for n, v in zip(names, values, strict=True)),
        types,
    )
    assert (got.queues, got.capacity, got.state) == (["a", "b"], 3, "active")
    assert other is None


@pytest.mark.parametrize(
    ("client_runtimes", "recorded"),
    [
        (None, True),
        ("go", True),
        ("go,java,python", True),
        ("a,b,c,go", True),
        ("java,python", False),
        ("", False),
        ("gox,o", False),
        ("a,b,c,d,go", False),  # more than the statement checks: left to the route, which records it
    ],
)
async def test__heartbeat_worker_by_token__only_a_worker_of_the_clients_runtimes(
    server: ServerHarness, client_runtimes: str | None, recorded: bool
) -> None:
    async with fake_worker(server, runtime="go") as worker:
        token = worker.http.headers["authorization"].removeprefix("Bearer ")
        worker_id = uuid.UUID(worker.id)
        async with server.runtime.autocommit.connect() as conn:
            before = await _last_heartbeat(conn, worker_id)
            row = await workloads.heartbeat_worker_by_token(conn, token, worker_id, client_runtimes)
            after = await _last_heartbeat(conn, worker_id)
    assert (row is not None) == recorded
    assert after == (row.last_heartbeat_at if row is not None else before)
    assert recorded == (after != before)


async def _last_heartbeat(conn: Any, worker_id: uuid.UUID) -> datetime:
    query = select(WorkerRecord.last_heartbeat_at).where(WorkerRecord.id == worker_id)
    stamp: datetime = (await conn.execute(query)).scalar_one()
    return stamp


async def test__direct_upsert__inserts_then_updates_and_respects_while_null(server: ServerHarness) -> None:
    values = {"key": "fresh", "value": "1", "updated_at": datetime(2026, 12, 4, tzinfo=UTC)}
    async with server.runtime.autocommit.connect() as conn:
        assert await upsert(conn, VariableRecord, values, ["key"], while_null="write_dag_ids") == 1
        assert await upsert(conn, VariableRecord, {**values, "value": "2"}, ["key"]) == 1
        await conn.execute(update(VariableRecord).values(write_dag_ids=["etl"]))
        assert (
            await upsert(conn, VariableRecord, {**values, "value": "3"}, ["key"], while_null="write_dag_ids")
            == 0
        )
        stored = await conn.scalar(select(VariableRecord.value).where(VariableRecord.key == "fresh"))
    assert stored == "2"


@pytest.mark.parametrize("path", ["driver", "sqlalchemy"])
async def test__guarded_upsert__writes_only_while_the_attempt_runs(
    server: ServerHarness, seeded: dict[str, Any], path: str
) -> None:
    from baton_server.services.task_instances import RUNNING_ATTEMPT

    values = {"key": f"guarded-{path}", "value": "1", "updated_at": datetime(2026, 12, 4, tzinfo=UTC)}
    running = {"a_id": seeded["a_id"], "a_try": 1}
    # A task request's bare connection in autocommit, or a session's transaction.
    opened = server.runtime.autocommit.connect() if path == "driver" else server.runtime.sessions()
    async with opened as db:
        write = {"while_null": "write_dag_ids", "when": RUNNING_ATTEMPT}
        assert await upsert(db, VariableRecord, values, ["key"], **write, when_params=running) == 1
        again = {**values, "value": "2"}
        assert await upsert(db, VariableRecord, again, ["key"], **write, when_params=running) == 1
        over = {**values, "value": "3"}
        assert (
            await upsert(db, VariableRecord, over, ["key"], **write, when_params={**running, "a_try": 2}) == 0
        )
        other = {**values, "value": "4"}
        stranger = {**running, "a_id": uuid.uuid4()}
        assert await upsert(db, VariableRecord, other, ["key"], **write, when_params=stranger) == 0
        await db.commit()
        stored = await db.scalar(select(VariableRecord.value).where(VariableRecord.key == values["key"]))
    assert stored == "2"
    if path == "driver" and server.runtime.engine.dialect.name == "postgresql":
        from baton_server.db.upsert import _STATEMENTS

        guarded = [s for key, s in _STATEMENTS.items() if key[-1] == id(RUNNING_ATTEMPT)]
        assert any(s._plans for s in guarded), (
            "on PostgreSQL in autocommit the guarded write runs on the driver"
        )


async def test__in_a_transaction__runs_through_sqlalchemy_inside_it(
    server: ServerHarness, seeded: dict[str, Any]
) -> None:
    delete = STATEMENTS["variables._DELETE"]
    read = STATEMENTS["variables._VALUE"]
    async with server.runtime.engine.connect() as conn:
        transaction = await conn.begin()
        assert await delete.rowcount(conn, seeded) == 1
        assert await read.first(conn, seeded) is None  # inside the transaction: the row is gone
        await transaction.rollback()
    async with server.runtime.autocommit.connect() as conn:
        assert await read.first(conn, seeded) is not None  # rolled back with it: it ran inside


async def test__dropped_connection__invalidated_and_the_next_statement_reconnects(
    server: ServerHarness, seeded: dict[str, Any]
) -> None:
    read = STATEMENTS["variables._VALUE"]
    async with server.runtime.autocommit.connect() as conn:
        if conn.dialect.name != "postgresql":
            pytest.skip("the driver path is PostgreSQL's")
        raw = await conn.get_raw_connection()
        raw.driver_connection.terminate()  # type: ignore[union-attr]
        with pytest.raises(Exception):  # noqa: B017, PT011 - asyncpg's own error for a closed connection
            await read.first(conn, seeded)
        assert conn.invalidated
    async with server.runtime.autocommit.connect() as conn:
        assert await read.first(conn, seeded) is not None


def test__expanding_parameters__refused_when_planned() -> None:
    from sqlalchemy.dialects.postgresql import asyncpg

    statement = Direct(select(VariableRecord.value).where(VariableRecord.key.in_(["a", "b"])))
    with pytest.raises(ValueError, match="expanding"):
        statement._plan_for(asyncpg.dialect())


async def test__log_lines__stored_alike_on_the_driver_and_through_sqlalchemy(
    server: ServerHarness, seeded: dict[str, Any]
) -> None:
    from baton_server.services.logs import append_logs
    from baton_server.services.tokens import TaskClaims

    ti = seeded["b_id"]
    claims = TaskClaims(task_instance_id=ti, try_number=1, scope="execution", issued_at=0, expires_at=1 << 40)
    when = datetime(2026, 12, 4, 12, tzinfo=UTC)
    lines = [(when, "info", "plain", None), (when, "error", "with fields", {"n": 1, "s": "é"})]
    cap = 1 << 20
    async with server.runtime.autocommit.connect() as conn:  # the driver path on PostgreSQL
        await append_logs(conn, claims, ti, lines, max_bytes_per_attempt=cap, batch_id=uuid.uuid4())
    async with server.runtime.sessions() as session:  # in a transaction: SQLAlchemy's path
        conn = await session.connection()
        await append_logs(conn, claims, ti, lines, max_bytes_per_attempt=cap, batch_id=uuid.uuid4())
        await session.commit()
    async with server.runtime.autocommit.connect() as conn:
        await append_logs(conn, claims, ti, lines, max_bytes_per_attempt=cap)  # no batch id
    async with server.runtime.autocommit.connect() as conn:
        stored = (
            await conn.execute(
                select(
                    TaskLogRecord.timestamp,
                    TaskLogRecord.level,
                    TaskLogRecord.message,
                    TaskLogRecord.fields,
                    TaskLogRecord.batch_line,
                    TaskLogRecord.late,
                    TaskLogRecord.batch_id.is_(None),
                ).order_by(TaskLogRecord.id)
            )
        ).all()
    expected = [(when, "info", "plain", None), (when, "error", "with fields", {"n": 1, "s": "é"})]
    assert [tuple(row[:4]) for row in stored[1:]] == expected * 3  # after the seeded line
    assert [row.batch_line for row in stored[1:]] == [0, 1, 0, 1, None, None]
    assert not any(row.late for row in stored)
    if stored and server.runtime.engine.dialect.name == "postgresql":
        from baton_server.services.logs import _INSERT_NEW_PG, _INSERT_PG

        assert _INSERT_PG._plans, "the driver path stored the lines without a batch id"
        assert _INSERT_NEW_PG._plans, "the driver path stored the lines of a batch"


class _FailedError(Exception):
    """Raised inside a transaction to end it with an error."""


@pytest.mark.parametrize("generic_plans", [False, True])
async def test__transaction__commits_when_its_block_ends_and_rolls_back_on_an_error(
    server: ServerHarness, seeded: dict[str, Any], generic_plans: bool
) -> None:
    from baton_server.db.direct import transaction

    # A statement of its own (not yet planned), and one through SQLAlchemy, in one transaction.
    rename = Direct(
        update(TaskInstanceRecord)
        .where(TaskInstanceRecord.id == bindparam("b_id"))
        .values(hostname=bindparam("b_host"))
        .returning(TaskInstanceRecord.id)
    )
    read_pid = select(TaskInstanceRecord.hostname, TaskInstanceRecord.pid).where(
        TaskInstanceRecord.id == seeded["b_id"]
    )

    async def write_then_fail() -> None:
        async with transaction(server.runtime.autocommit, generic_plans=generic_plans) as conn:
            assert await rename.first(conn, {**seeded, "b_host": "rolled-back"}) is not None
            await conn.execute(
                update(TaskInstanceRecord).where(TaskInstanceRecord.id == seeded["b_id"]).values(pid=8)
            )
            raise _FailedError

    with pytest.raises(_FailedError):
        await write_then_fail()
    postgres = server.runtime.engine.dialect.name == "postgresql"
    plan_cache_mode = text("SHOW plan_cache_mode")
    async with transaction(server.runtime.autocommit, generic_plans=generic_plans) as conn:
        if postgres:
            expected = "force_generic_plan" if generic_plans else "auto"
            assert (await conn.execute(plan_cache_mode)).scalar() == expected
        assert tuple((await conn.execute(read_pid)).one()) == ("host-1", 7)
        assert await rename.first(conn, {**seeded, "b_host": "committed"}) is not None
        await conn.execute(
            update(TaskInstanceRecord).where(TaskInstanceRecord.id == seeded["b_id"]).values(pid=9)
        )
        await conn.commit()  # harmless inside: the block's end commits
    async with server.runtime.autocommit.connect() as conn:
        assert tuple((await conn.execute(read_pid)).one()) == ("committed", 9)
        if postgres:
            assert (await conn.execute(plan_cache_mode)).scalar() == "auto"  # only inside the transaction
            assert rename._plans, "inside the driver's transaction the statement runs on the driver"
            assert not (await conn.get_raw_connection()).driver_connection.is_in_transaction()  # type: ignore[union-attr]
