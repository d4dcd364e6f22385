"""Alembic migrations round-trip on the run's database (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
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
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

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
