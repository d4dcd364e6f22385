"""Fixtures shared by the server's tests: one database per run (SQLite or PostgreSQL), the app, clients.

The database is chosen by ``BATON_TEST_POSTGRES_URL``: unset, the tests run on a SQLite file;
set (as ``.ci/run`` does), on a fresh database created in that PostgreSQL server for this run, and
only the tests that use it (the others run the same either way: CI runs them on the SQLite run).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from baton_server.config import Settings
from baton_server.runtime import Runtime
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get("BATON_TEST_POSTGRES_URL") or None


def pytest_report_header() -> str:
    return f"baton database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        # On PostgreSQL only the tests that use the run's database (the ``databases`` fixture, which
        # every server and harness fixture builds on): the others (parsing, specs, the CLI's own SQLite
        # servers, a PostgreSQL that does not answer) do the same on either run, and CI runs both.
        kept: list[pytest.Item] = []
        left: list[pytest.Item] = []
        for item in items:
            (kept if "databases" in getattr(item, "fixturenames", ()) else left).append(item)
        if left:
            config.hook.pytest_deselected(items=left)
            items[:] = kept
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set BATON_TEST_POSTGRES_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


async def _create_pg_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


class DatabaseFactory:
    """Makes empty databases of the run's kind; PostgreSQL ones are dropped at the end."""

    def __init__(self, tmp: Path) -> None:
        self._tmp = tmp
        self._pg_names: list[str] = []

    @property
    def is_postgres(self) -> bool:
        return POSTGRES_URL is not None

    async def create(self) -> str:
        """A URL of a new, empty database."""
        if POSTGRES_URL is None:
            return f"sqlite+aiosqlite:///{self._tmp / f'baton-{secrets.token_hex(4)}.db'}"
        admin = make_url(Settings(database_url=POSTGRES_URL).effective_database_url)
        name = f"baton_test_{secrets.token_hex(6)}"
        await _create_pg_database(admin.render_as_string(hide_password=False), name)
        self._pg_names.append(name)
        return admin.set(database=name).render_as_string(hide_password=False)

    async def drop_all(self) -> None:
        if POSTGRES_URL is None:
            return
        admin = make_url(Settings(database_url=POSTGRES_URL).effective_database_url).render_as_string(
            hide_password=False
        )
        # A few at a time: each drop waits for a checkpoint, and a run leaves hundreds of databases
        # (one by one, the last test's teardown took 45 s in CI).
        at_once = asyncio.Semaphore(8)

        async def drop(name: str) -> None:
            async with at_once:
                await _drop_pg_database(admin, name)

        await asyncio.gather(*(drop(name) for name in self._pg_names))


@pytest.fixture(scope="session")
async def databases(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    await factory.drop_all()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


class ServerHarness:
    """One app, with its lifespan running, on one migrated database; tables are emptied per test."""

    def __init__(self, settings: Settings) -> None:
        from baton_server.app import create_app

        self.settings = settings
        self.app = create_app(settings, mark_presence=False)  # its tests drive the scheduler themselves
        self._lifespan = self.app.router.lifespan_context(self.app)

    async def start(self) -> None:
        await self._lifespan.__aenter__()

    async def stop(self) -> None:
        await self._lifespan.__aexit__(None, None, None)

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    async def truncate(self) -> None:
        from baton_server.db.tables import Base

        tables = list(reversed(Base.metadata.sorted_tables))
        async with self.runtime.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    await conn.execute(table.delete())

    def client(self, version: str | None = None, token: str | None = None) -> httpx.AsyncClient:
        """An HTTP client speaking to the app in-process through the real ASGI stack."""
        headers: dict[str, str] = {}
        if version is not None:
            headers["Baton-API-Version"] = version
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        from tests.reasons_check import make_hook

        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://baton.test",
            headers=headers,
            event_hooks={"response": [make_hook(self.app)]},
        )


def make_settings(database_url: str, data_dir: Path, **overrides: object) -> Settings:
    """Test settings: explicit keys, no in-process scheduler unless asked for."""
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "signing_key": "test-signing-key-" + "x" * 32,
        "encryption_key": "mGAhw9llcslpTXRWk841ly_GXTa5ywBzJJ5jObB5pH4=",
        "run_scheduler": False,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def harness(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerHarness]:
    settings = make_settings(await databases.create(), tmp_path_factory.mktemp("server-data"))
    server = ServerHarness(settings)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def server(harness: ServerHarness) -> ServerHarness:
    """The shared app, with every table empty at the start of the test (and its configured key signing)."""
    await harness.truncate()
    await harness.runtime.load_signing_keys()
    return harness


@pytest.fixture
async def client(server: ServerHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as http:
        yield http


@pytest.fixture
async def admin_token(server: ServerHarness) -> str:
    """A fresh admin token."""
    from baton_server.services.credentials import issue_credential

    async with server.runtime.sessions() as session:
        return (await issue_credential(session, "admin", "tests")).token


@pytest.fixture
async def admin(server: ServerHarness, admin_token: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client authenticated as an admin."""
    async with server.client(token=admin_token) as http:
        yield http
