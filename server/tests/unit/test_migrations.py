"""Alembic migrations round-trip on the run's database (SQLite or PostgreSQL)."""

from __future__ import annotations

from baton_server.db.migrate import current_revision, downgrade, head_revision, upgrade
from baton_server.db.tables import Base
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import DatabaseFactory


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
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    url = await databases.create()
    engine = create_async_engine(url)
    try:
        await upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata
                )
            )
        assert diff == [], f"the models and the migrations differ; add a migration: {diff}"
    finally:
        await engine.dispose()


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
