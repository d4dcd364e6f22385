"""Alembic migrations round-trip on the run's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from baton_server.db import migrate
from baton_server.db.migrate import (
    current_revision,
    downgrade,
    head_revision,
    head_revision_from_files,
    prepare_database,
    upgrade,
)
from baton_server.db.tables import Base
from baton_server.errors import ConfigurationError
from baton_server.runtime import Runtime
from sqlalchemy import Row, event, inspect, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tests.conftest import DatabaseFactory, make_settings

SETTINGS_OF_A_START = {
    "signing_key": "test-signing-key-" + "x" * 32,
    "encryption_key": "mGAhw9llcslpTXRWk841ly_GXTa5ywBzJJ5jObB5pH4=",
    "run_scheduler": False,
}


async def _table_names(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def test__migrations__upgrade_downgrade_upgrade_round_trips(databases: DatabaseFactory) -> None:
    url = await databases.create()
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await _table_names(url) == set(Base.metadata.tables)
        await downgrade(engine, "base")
        assert await current_revision(engine) is None
        assert await _table_names(url) == set()
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        assert await _table_names(url) == set(Base.metadata.tables)
    finally:
        await engine.dispose()


async def test__migrations__match_the_models(databases: DatabaseFactory) -> None:
    url = await databases.create()
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_differences_from_the_models)
        assert diff == [], f"the models and the migrations differ; add a migration: {diff}"
    finally:
        await engine.dispose()


_INDEX_BUILD = re.compile(
    r"\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s+ON\s+(\S+)", re.I
)


def _revisions() -> list[str]:
    """Every revision, oldest first."""
    from alembic.script import ScriptDirectory
    from baton_server.db.migrate import alembic_config

    walk = ScriptDirectory.from_config(alembic_config()).walk_revisions()
    return [script.revision for script in reversed(list(walk))]


def _builds(statements: list[str]) -> list[tuple[str, str, bool]]:
    """The index builds among ``statements``: (index, table, whether CONCURRENTLY)."""
    found = [_INDEX_BUILD.match(statement) for statement in statements]
    return [(m[2].strip('"'), m[3].strip('"'), m[1] is not None) for m in found if m is not None]


async def test__migrations__on_postgresql__index_the_tables_in_use_without_holding_their_writes(
    databases: DatabaseFactory,
) -> None:
    # A server still running (the release before, a replica not yet upgraded) writes to the tables while
    # another process migrates: an index on a table that was already there is built CONCURRENTLY, or
    # its writes (heartbeats, claims, log lines) wait for the whole build.
    if not databases.is_postgres:
        pytest.skip("an index built CONCURRENTLY is PostgreSQL's; SQLite has one writer at a time anyway")
    url = await databases.create()
    engine = create_async_engine(url)
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    held: list[str] = []
    built_online = 0
    try:
        for revision in _revisions():
            in_use = await _table_names(url)
            statements.clear()
            await upgrade(engine, revision)
            for index, table, concurrently in _builds(statements):
                if table in in_use:
                    built_online += concurrently
                    if not concurrently:
                        held.append(f"{revision}: {index} on {table}")
    finally:
        await engine.dispose()
    assert held == [], "indexes built while holding the writes to a table in use"
    assert built_online >= 12, "the statements were not seen"


class _StoppedBuildError(Exception):
    """The process migrating stopped while an index was being built."""


@pytest.mark.parametrize(
    ("revision", "index"),
    [
        ("0002", "ix_task_logs_task_instance_id_batch_id_batch_line"),
        ("0007", "ix_task_instances_pool_state"),
        ("0008", "ix_dag_runs_backfill_id"),
        ("0009", "ix_task_instances_state_timeout_at"),
        ("0013", "ix_task_instances_state_heartbeat_floor"),
    ],
)
async def test__migration_stopped_during_an_index_build__goes_on_from_there_next_time(
    databases: DatabaseFactory, revision: str, index: str
) -> None:
    # On PostgreSQL what the migration did before the build was committed when the build started (on
    # SQLite the stopped run is rolled back whole): the next run must not add it again.
    url = await databases.create()
    engine = create_async_engine(url)
    revisions = _revisions()
    before = revisions[revisions.index(revision) - 1]

    def stop(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if any(built == index for built, _, _ in _builds([statement])):
            raise _StoppedBuildError(statement)

    try:
        await upgrade(engine, before)
        async with engine.connect() as conn:
            schema_before = await conn.run_sync(_schema)
        event.listen(engine.sync_engine, "before_cursor_execute", stop)
        with pytest.raises(_StoppedBuildError):
            await upgrade(engine, revision)
        event.remove(engine.sync_engine, "before_cursor_execute", stop)
        assert await current_revision(engine) == before
        if not databases.is_postgres:
            async with engine.connect() as conn:
                assert await conn.run_sync(_schema) == schema_before, "SQLite undoes a stopped run whole"
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
        async with engine.connect() as conn:
            diff = await conn.run_sync(_differences_from_the_models)
            pools = (await conn.execute(text("SELECT name FROM pools"))).scalars().all()
        assert diff == [], f"the migrated schema differs from the models: {diff}"
        assert pools == ["default_pool"], "0007's pool of every task that names none"
    finally:
        await engine.dispose()


def _schema(sync: Any) -> dict[str, tuple[set[str], set[str]]]:
    """Each table's columns and indexes."""
    found = inspect(sync)
    return {
        table: (
            {column["name"] for column in found.get_columns(table)},
            {str(index["name"]) for index in found.get_indexes(table)},
        )
        for table in found.get_table_names()
    }


def _differences_from_the_models(sync: Any) -> list[Any]:
    """What autogenerate finds between the database and the models (nothing, if they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    diff: list[Any] = compare_metadata(
        MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
    )
    return diff


async def test__migration_0006__adds_and_removes_only_the_signing_keys(databases: DatabaseFactory) -> None:
    url = await databases.create()
    engine = create_async_engine(url)
    try:
        await upgrade(engine, "0005")
        before = await _table_names(url)
        await upgrade(engine, "0006")
        assert await _table_names(url) == before | {"signing_keys"}
        await downgrade(engine, "0005")
        assert await _table_names(url) == before
    finally:
        await engine.dispose()


async def test__migration_0009__gives_running_attempts_their_execution_deadline(
    databases: DatabaseFactory,
) -> None:
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    from baton_server.db.tables import DagRecord, DagRunRecord, DagVersionRecord, TaskInstanceRecord
    from sqlalchemy import select

    url = await databases.create()
    engine = create_async_engine(url)
    started = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
    version, run = uuid4(), uuid4()
    tis = {name: uuid4() for name in ("bounded", "unbounded", "queued")}
    description = {
        "dag_id": "d",
        "tasks": [
            {"task_id": "bounded", "execution_timeout": 90},
            {"task_id": "unbounded", "execution_timeout": None},
            {"task_id": "queued", "execution_timeout": 30},
        ],
    }
    try:
        await upgrade(engine, "0008")
        async with engine.begin() as conn:
            await conn.execute(DagRecord.__table__.insert().values(dag_id="d"))
            await conn.execute(
                DagVersionRecord.__table__.insert().values(
                    id=version, dag_id="d", version_number=1, description_hash="h", description=description
                )
            )
            await conn.execute(
                DagRunRecord.__table__.insert().values(
                    id=run,
                    dag_id="d",
                    run_id="r",
                    dag_version_id=version,
                    state="running",
                    logical_date=started,
                )
            )
            for name, ti_id in tis.items():
                await conn.execute(
                    TaskInstanceRecord.__table__.insert().values(
                        id=ti_id,
                        dag_run_id=run,
                        dag_id="d",
                        run_id="r",
                        task_id=name,
                        dag_version_id=version,
                        state="queued" if name == "queued" else "running",
                        start_date=None if name == "queued" else started,
                    )
                )
        await upgrade(engine, "0009")
        async with engine.connect() as conn:
            table = TaskInstanceRecord.__table__
            rows = dict((await conn.execute(select(table.c.task_id, table.c.timeout_at))).all())
        assert rows == {"bounded": started + timedelta(seconds=90), "unbounded": None, "queued": None}
        await downgrade(engine, "0008")
    finally:
        await engine.dispose()


async def _heartbeat_indexes_and_storage(conn: AsyncConnection) -> tuple[set[str], set[str], list[str]]:
    """``task_instances``'s columns, its indexes on a heartbeat column, and its storage parameters
    (PostgreSQL's; none on SQLite)."""

    def read(sync: Any) -> tuple[set[str], set[str]]:
        found = inspect(sync)
        columns = {c["name"] for c in found.get_columns("task_instances")}
        names = {str(index["name"]) for index in found.get_indexes("task_instances")}
        indexes = {name for name in names if "heartbeat" in name}
        return columns, indexes

    columns, indexes = await conn.run_sync(read)
    options: list[str] = []
    if conn.dialect.name == "postgresql":
        query = text("SELECT reloptions FROM pg_class WHERE oid = to_regclass('task_instances')")
        options = list((await conn.execute(query)).scalar() or [])
    return columns, indexes, options


async def test__migration_0013__swaps_the_heartbeats_index_for_its_floors__and_back(
    databases: DatabaseFactory,
) -> None:
    engine = create_async_engine(await databases.create())
    postgres = databases.is_postgres
    try:
        await upgrade(engine, "0012")
        # A run of 0013 stopped during its index build (PostgreSQL) has committed the floor's column:
        # the next run goes on from there.
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE task_instances ADD COLUMN heartbeat_floor TIMESTAMP"))
        await upgrade(engine, "0013")
        async with engine.connect() as conn:
            columns, indexes, options = await _heartbeat_indexes_and_storage(conn)
        assert "heartbeat_floor" in columns
        assert indexes == {"ix_task_instances_state_heartbeat_floor"}
        assert options == (["fillfactor=90"] if postgres else [])
        await downgrade(engine, "0012")
        async with engine.connect() as conn:
            columns, indexes, options = await _heartbeat_indexes_and_storage(conn)
        assert "heartbeat_floor" not in columns
        assert indexes == {"ix_task_instances_state_last_heartbeat_at"}
        assert options == []
    finally:
        await engine.dispose()


def test__head_revision_from_files__is_alembics_head() -> None:
    # prepare_database reads the head from the files, without Alembic, to skip it when nothing is due.
    assert head_revision_from_files() == head_revision()


@pytest.mark.parametrize("start_at", [None, "0005", "head"])
async def test__prepare_database__brings_the_database_to_the_head(
    databases: DatabaseFactory, tmp_path: Path, start_at: str | None
) -> None:
    url = await databases.create()
    runtime = Runtime.create(make_settings(url, tmp_path / "data"))
    try:
        if start_at is not None:
            await upgrade(runtime.engine, start_at)
        await prepare_database(runtime)
        assert await current_revision(runtime.engine) == head_revision()
    finally:
        await runtime.close()


async def test__prepare_database__without_auto_migrate__refuses_a_database_behind(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create()
    runtime = Runtime.create(make_settings(url, tmp_path / "data", auto_migrate=False))
    try:
        await upgrade(runtime.engine, "0008")
        with pytest.raises(ConfigurationError, match="is at revision 0008"):
            await prepare_database(runtime)
        await upgrade(runtime.engine)
        await prepare_database(runtime)
    finally:
        await runtime.close()


async def test__a_database_a_newer_release_migrated__is_refused_and_left_as_it_is(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create()
    runtime = Runtime.create(make_settings(url, tmp_path / "data", auto_migrate=False))
    refused = "at revision 0099, which this server does not know"
    try:
        await upgrade(runtime.engine)
        async with runtime.engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
        for _ in range(2):  # the second finds the migrations' lock given back by the first
            with pytest.raises(ConfigurationError, match=refused):
                await asyncio.wait_for(upgrade(runtime.engine), 300)
        with pytest.raises(ConfigurationError, match=refused):
            await asyncio.wait_for(downgrade(runtime.engine, "0012"), 300)
        with pytest.raises(ConfigurationError, match=refused):
            await prepare_database(runtime)
        assert await current_revision(runtime.engine) == "0099"
        if databases.is_postgres:
            # The refused migrations' session setting went with them: the pool's connections wait as before.
            async with runtime.engine.connect() as conn:
                assert (await conn.execute(text("SHOW lock_timeout"))).scalar() == "0"
    finally:
        await runtime.close()


async def test__migrations_down_and_up__keep_every_log_line_and_xcom(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # Through the server's own engine, which enforces foreign keys on SQLite: there a downgrade builds
    # task_instances anew (dropping a column), and dropping the old table deleted every log line and XCom
    # by cascade.
    from baton_server.db.tables import TaskLogRecord, XComRecord
    from baton_server.db.types import utcnow

    from tests.factories import make_dag_run

    runtime = Runtime.create(make_settings(await databases.create(), tmp_path / "data"))
    counts = text(
        "SELECT (SELECT count(*) FROM task_instances), (SELECT count(*) FROM task_logs), "
        "(SELECT count(*) FROM xcoms)"
    )
    try:
        await upgrade(runtime.engine)
        tis = await make_dag_run(runtime, task_ids=("extract", "load"))
        async with runtime.sessions() as session:
            for name, ti in tis.items():
                session.add(
                    TaskLogRecord(
                        task_instance_id=ti.id,
                        try_number=1,
                        timestamp=utcnow(),
                        level="info",
                        message=name,
                    )
                )
                session.add(
                    XComRecord(
                        dag_id=ti.dag_id,
                        run_id=ti.run_id,
                        task_id=ti.task_id,
                        key="out",
                        value="1",
                        task_instance_id=ti.id,
                    )
                )
            await session.commit()
        seen = []
        for step in (
            downgrade(runtime.engine, "0012"),
            downgrade(runtime.engine, "0006"),
            upgrade(runtime.engine),
        ):
            await step
            async with runtime.engine.connect() as conn:
                seen.append(tuple((await conn.execute(counts)).one()))
                if conn.dialect.name == "sqlite":
                    # The pooled connection enforces foreign keys again once the run is over.
                    assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert seen == [(2, 2, 2)] * 3
    finally:
        await runtime.close()


async def test__migration_by_a_role_that_may_not_change_the_schema__says_what_to_do(
    databases: DatabaseFactory,
) -> None:
    # An application's role kept from DDL, as a production database gives it: one line, not a traceback.
    if not databases.is_postgres:
        pytest.skip("roles and their privileges are PostgreSQL's")
    import secrets

    url = await databases.create()
    administrator = create_async_engine(make_url(url).set(username="postgres", password=None))
    role = f"baton_app_{secrets.token_hex(4)}"
    try:
        try:
            async with administrator.begin() as admin:
                await admin.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        except (DBAPIError, OSError) as error:
            pytest.skip(f"needs the cluster's superuser to make a role (postgres on this cluster): {error}")
        app = create_async_engine(make_url(url).set(username=role, password=None))
        owner = create_async_engine(url)
        try:
            with pytest.raises(ConfigurationError, match=f"the role '{role}' may not migrate the database"):
                await asyncio.wait_for(upgrade(app), 300)
            # The migrations' lock went with the refusal: the schema's owner migrates at once.
            await asyncio.wait_for(upgrade(owner), 300)
            assert await current_revision(owner) == head_revision()
        finally:
            await app.dispose()
            await owner.dispose()
    finally:
        async with administrator.begin() as admin:
            await admin.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        await administrator.dispose()


async def test__prepare_database__at_the_head__does_not_import_alembic(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    url = await databases.create()
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    settings = {**SETTINGS_OF_A_START, "database_url": url, "data_dir": str(tmp_path)}
    script = (
        "import asyncio, sys\n"
        "from baton_server.config import Settings\n"
        "from baton_server.db.migrate import prepare_database\n"
        "from baton_server.runtime import Runtime\n"
        f"runtime = Runtime.create(Settings(**{settings!r}))\n"
        "async def main():\n"
        "    try:\n"
        "        await prepare_database(runtime)\n"
        "    finally:\n"
        "        await runtime.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 300)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip() == "[]"


_SLOT_INDEXES = ("ix_task_instances_taking_a_dag_slot", "ix_task_instances_taking_a_pool_slot")
"""The indexes migration 0011 adds to ``task_instances`` (built online on PostgreSQL)."""


async def _index_validity(conn: AsyncConnection, names: tuple[str, ...]) -> dict[str, bool]:
    """Which of the indexes ``names`` exist, and whether each is valid (PostgreSQL reads it)."""
    rows = await conn.execute(
        text(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = ANY(:names)"
        ),
        {"names": list(names)},
    )
    return {name: bool(valid) for name, valid in rows.all()}


async def _waiting_index_build(watcher: AsyncConnection) -> int:
    """The pid of the index build that waits for a lock in the watcher's database, once there is one."""
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND query ILIKE 'CREATE INDEX%' AND wait_event_type = 'Lock'"
    )
    deadline = asyncio.get_running_loop().time() + 300
    while asyncio.get_running_loop().time() < deadline:
        pid = (await watcher.execute(query)).scalar()
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.05)
    raise AssertionError("no index build came to wait for the open write within 300 s")


@dataclass
class _HeldBuild:
    """Migration 0011 under way, its first index build waiting for a write still open."""

    writer: AsyncConnection  # in the open write's transaction
    watcher: AsyncConnection  # in autocommit
    migration: asyncio.Task[None]
    build: int  # the pid of the waiting build


@contextlib.asynccontextmanager
async def _build_held_by_an_open_write(engine: AsyncEngine) -> AsyncIterator[_HeldBuild]:
    """Bring the database to 0010, open a write to ``task_instances`` (as a claim's transaction does),
    and start the migration to 0011, whose index build then waits for that write to end."""
    await upgrade(engine, "0010")
    async with engine.connect() as writer, engine.connect() as watcher:
        await watcher.execution_options(isolation_level="AUTOCOMMIT")
        await writer.execute(text("DELETE FROM task_instances WHERE false"))
        migration = asyncio.create_task(upgrade(engine, "0011"))
        try:
            yield _HeldBuild(writer, watcher, migration, await _waiting_index_build(watcher))
        finally:
            await writer.rollback()
            if not migration.done():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(migration, 300)


class _Said(logging.Handler):
    """The records logged to it, and an event set at each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.event.set()


@pytest.fixture
def said() -> Iterator[_Said]:
    """What the migrations log at WARNING and above while the test runs."""
    handler = _Said()
    logger = logging.getLogger("baton_server.migrate")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test__index_migration__on_postgresql__lets_writes_to_the_table_go_on(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, said: _Said
) -> None:
    if not databases.is_postgres:
        pytest.skip("an index built CONCURRENTLY is PostgreSQL's; SQLite has one writer at a time anyway")
    monkeypatch.setattr(migrate, "LOCK_TIMEOUT_SECONDS", 0.2)
    engine = create_async_engine(await databases.create())
    try:
        async with _build_held_by_an_open_write(engine) as held:
            # Meanwhile another write goes through. A plain CREATE INDEX queues its lock ahead of it, and
            # every heartbeat and claim would wait, here until the lock timeout.
            await held.watcher.execute(text("SET lock_timeout = '30s'"))
            await held.watcher.execute(text("DELETE FROM task_instances WHERE false"))
            # The build waits past the migration's lock timeout without giving way: it holds no writes.
            await asyncio.sleep(5 * migrate.LOCK_TIMEOUT_SECONDS)
            assert not held.migration.done()
            assert said.records == []
            await held.writer.rollback()
            await asyncio.wait_for(held.migration, 300)
            validity = await _index_validity(held.watcher, _SLOT_INDEXES)
        assert validity == dict.fromkeys(_SLOT_INDEXES, True)
        assert await current_revision(engine) == "0011"
    finally:
        await engine.dispose()


async def test__index_build_waiting_for_an_open_transaction__says_which_one(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, said: _Said
) -> None:
    if not databases.is_postgres:
        pytest.skip("an index built CONCURRENTLY, which waits for open transactions, is PostgreSQL's")
    monkeypatch.setattr(migrate, "_BUILD_WAIT_REPORT_SECONDS", 0.1)
    engine = create_async_engine(await databases.create())
    try:
        async with _build_held_by_an_open_write(engine) as held:
            writer = (await held.writer.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.wait_for(said.event.wait(), 300)
            assert not held.migration.done()
            await held.writer.rollback()
            await asyncio.wait_for(held.migration, 300)
        # Every word is about the open write: never about the reporter's own look, which a build waiting
        # for old snapshots can catch, nor about 0009's and 0010's builds, which nothing held.
        assert all(f"backend {writer} " in record.getMessage() for record in said.records)
        message = said.records[0].getMessage()
        assert any(f"building index {name} is" in message for name in _SLOT_INDEXES)
        assert "waiting for writers before build" in message
        assert f"backend {writer} " in message
        assert "transaction open since" in message
        # Nothing more is said once the migration is over.
        told = len(said.records)
        await asyncio.sleep(0.5)
        assert len(said.records) == told
        assert await current_revision(engine) == "0011"
    finally:
        await engine.dispose()


async def test__migration_waiting_for_a_tables_lock__gives_way_to_the_writes_queued_behind_it(
    databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch, said: _Said
) -> None:
    # 0013 adds a column to task_instances, which waits for every transaction that read the table; while
    # it waits, every later write to the table (a heartbeat) queues behind it. It gives way instead.
    if not databases.is_postgres:
        pytest.skip("SQLite has one writer at a time: a migration holds the database, as any writer")
    monkeypatch.setattr(migrate, "LOCK_TIMEOUT_SECONDS", 0.3)
    monkeypatch.setattr(migrate, "GIVE_WAY_MAX_PAUSE_SECONDS", 0.6)
    engine = create_async_engine(await databases.create())
    try:
        await upgrade(engine, "0012")
        async with engine.connect() as reader, engine.connect() as writer:
            # An admin's session left open after a read of the table.
            await reader.execute(text("SELECT count(*) FROM task_instances"))
            holder = (await reader.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            migration = asyncio.create_task(upgrade(engine, "0013"))
            await asyncio.wait_for(said.event.wait(), 300)
            for _ in range(5):  # each comes through within a try's wait, not after the read ends
                await writer.execute(text("SET LOCAL lock_timeout = '60s'"))
                await writer.execute(text("UPDATE task_instances SET pool = pool WHERE false"))
                await writer.commit()
            assert not migration.done()
            await reader.rollback()
            await asyncio.wait_for(migration, 300)
        message = said.records[0].getMessage()
        assert "gave way" in message
        assert "ALTER TABLE task_instances ADD COLUMN heartbeat_floor" in message
        assert f"backend {holder} " in message
        assert await current_revision(engine) == "0013"
        async with engine.connect() as conn:
            # The migrations' session setting is theirs alone: the pooled connection waits as before.
            assert (await conn.execute(text("SHOW lock_timeout"))).scalar() == "0"
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def _probe_build(builder: AsyncConnection) -> AsyncIterator[int]:
    """An index built ``CONCURRENTLY`` on ``task_instances`` by ``builder`` (in autocommit) while the block
    runs, yielding the build's backend pid; the block's end waits for the build to end."""
    await builder.execution_options(isolation_level="AUTOCOMMIT")
    build = int((await builder.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    building = asyncio.create_task(
        builder.execute(text("CREATE INDEX CONCURRENTLY ix_probe ON task_instances (dag_id)"))
    )
    try:
        yield build
    finally:
        await asyncio.wait_for(building, 300)


async def _first_wait(watcher: AsyncConnection, build: int) -> Row[Any]:
    """The first row :data:`migrate._WAITING_BUILD` reads of the build on backend ``build``."""
    deadline = asyncio.get_running_loop().time() + 300
    while (seen := (await watcher.execute(migrate._WAITING_BUILD, {"pid": build})).first()) is None:
        assert asyncio.get_running_loop().time() < deadline, "the build never came to wait"
        await asyncio.sleep(0.05)
    return seen


async def test__index_build_wait_look__never_names_the_backend_that_looks(databases: DatabaseFactory) -> None:
    if not databases.is_postgres:
        pytest.skip("an index built CONCURRENTLY, which waits for old snapshots, is PostgreSQL's")
    engine = create_async_engine(await databases.create())
    try:
        await upgrade(engine)
        async with engine.connect() as builder, engine.connect() as looker, engine.connect() as watcher:
            await watcher.execution_options(isolation_level="AUTOCOMMIT")
            # The looker holds a snapshot, as the reporter's look does while it runs: the build's last
            # wait, for transactions older than its own, comes to wait for it.
            await looker.execution_options(isolation_level="REPEATABLE READ")
            looks = (await looker.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with _probe_build(builder) as build:
                try:
                    seen = await _first_wait(watcher, build)
                    assert seen[1] == "waiting for old snapshots"
                    assert seen[4] == looks  # another backend's look names the looker
                    assert (await looker.execute(migrate._WAITING_BUILD, {"pid": build})).first() is None
                finally:
                    await looker.rollback()
    finally:
        await engine.dispose()


async def test__index_build_waiting_for_another_roles_transaction__says_what_is_hidden(
    databases: DatabaseFactory,
) -> None:
    if not databases.is_postgres:
        pytest.skip("an index built CONCURRENTLY, which waits for open transactions, is PostgreSQL's")
    url = await databases.create()
    engine = create_async_engine(url)
    # The local cluster's superuser (scripts/postgres.sh): an administrator's session, whose activity
    # PostgreSQL hides from the application's role.
    administrator = create_async_engine(make_url(url).set(username="postgres", password=None))
    try:
        await upgrade(engine)
        try:
            async with administrator.connect():
                pass
        except (DBAPIError, OSError) as error:
            pytest.skip(f"needs a second role to hold the transaction (postgres on this cluster): {error}")
        async with (
            administrator.connect() as holder,
            engine.connect() as builder,
            engine.connect() as watcher,
        ):
            await watcher.execution_options(isolation_level="AUTOCOMMIT")
            await holder.execute(text("DELETE FROM task_instances WHERE false"))
            pid = (await holder.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            async with _probe_build(builder) as build:
                try:
                    seen = await _first_wait(watcher, build)
                finally:
                    await holder.rollback()
        if seen[6] is not None:
            pytest.skip("the application's role sees every backend's state here (pg_read_all_stats)")
        message = migrate._waiting_build_message(*seen)
        assert f"now waiting for backend {pid} (" in message
        assert "role postgres; its state and transaction are not visible to the migrating role" in message
        assert "no transaction" not in message
    finally:
        await administrator.dispose()
        await engine.dispose()


async def test__index_build_stopped_halfway__is_built_anew_by_the_next_migration(
    databases: DatabaseFactory,
) -> None:
    if not databases.is_postgres:
        pytest.skip("only a build CONCURRENTLY leaves an invalid index behind")
    engine = create_async_engine(await databases.create())
    try:
        async with _build_held_by_an_open_write(engine) as held:
            await held.watcher.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": held.build})
            with pytest.raises(DBAPIError, match="cancel"):
                await asyncio.wait_for(held.migration, 300)
            # The first build's index is left behind, invalid: PostgreSQL keeps it up to date, never reads it.
            assert await _index_validity(held.watcher, _SLOT_INDEXES) == {_SLOT_INDEXES[1]: False}
        assert await current_revision(engine) == "0010"
        await upgrade(engine, "0011")  # 0016 replaces these indexes
        async with engine.connect() as conn:
            assert await _index_validity(conn, _SLOT_INDEXES) == dict.fromkeys(_SLOT_INDEXES, True)
        await upgrade(engine)
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()


async def test__replicas_starting_at_once__migrate_one_after_the_other(databases: DatabaseFactory) -> None:
    if not databases.is_postgres:
        pytest.skip("replicas share a PostgreSQL database; the embedded SQLite one has one server")
    url = await databases.create()
    engines = [create_async_engine(url) for _ in range(3)]
    try:
        await asyncio.wait_for(asyncio.gather(*(upgrade(engine) for engine in engines)), 300)
        assert await current_revision(engines[0]) == head_revision()
        assert await _table_names(url) == set(Base.metadata.tables)
    finally:
        for engine in engines:
            await engine.dispose()
