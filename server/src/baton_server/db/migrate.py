"""Apply and revert Alembic migrations programmatically, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from baton_server.db.availability import sqlstate_of
from baton_server.db.engine import check_database
from baton_server.errors import ConfigurationError, InvalidInputError

if TYPE_CHECKING:
    from alembic.config import Config

    from baton_server.runtime import Runtime

# Alembic is imported only where a migration is run or described: a start on a database already at
# the head (the common case) reads its revision with one query and never imports it.

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x626174_6F6E  # "baton": serialises migrations of several starting replicas
_MIGRATION_LOCK_RETRY_SECONDS = 0.5
_BUILD_WAIT_REPORT_SECONDS = 30.0
"""How often a migration's index build that waits for other transactions says which (PostgreSQL)."""
_WAITING_BUILD = text(
    "SELECT p.index_relid::regclass::text, p.phase, p.lockers_total, p.lockers_done, a.pid, "
    "a.application_name, a.state, a.xact_start, host(a.client_addr), a.usename "
    "FROM pg_stat_progress_create_index p JOIN pg_stat_activity a ON a.pid = p.current_locker_pid "
    "WHERE p.pid = :pid AND p.phase LIKE 'waiting for%' AND a.pid <> pg_backend_pid()"
)
"""What the migration on backend ``:pid`` waits for while it builds an index, if it waits for a backend
that is there. Never the asker itself: the look is a transaction with a snapshot, which a build waiting
for old snapshots may come to wait for in its turn; it ends with the look, so it is not worth a word."""
LOCK_TIMEOUT_SECONDS = 2.0
"""How long a migration's statement waits for a lock on PostgreSQL before it gives way (PostgreSQL's
``lock_timeout``): a statement waiting for a table's lock queues every later write to that table behind
it (an ``ALTER TABLE`` behind an admin's open transaction would stall every heartbeat), so the migration
steps back, lets them through, and tries again. Index builds ``CONCURRENTLY``, which wait for open
transactions by design and hold no writes meanwhile, wait as long as it takes."""
GIVE_WAY_MAX_PAUSE_SECONDS = 30.0
"""The longest pause between a migration's tries after it gave way (the pause doubles from
:data:`LOCK_TIMEOUT_SECONDS`)."""
_LOCK_NOT_AVAILABLE = "55P03"
_INSUFFICIENT_PRIVILEGE = "42501"
_HOLDERS = text(
    "SELECT a.pid, a.application_name, a.state, a.xact_start, host(a.client_addr), a.usename "
    "FROM pg_stat_activity a WHERE a.pid IN (SELECT l.pid FROM pg_locks l JOIN pg_database d "
    "ON d.oid = l.database WHERE l.granted AND l.locktype = 'relation' "
    "AND d.datname = current_database()) AND a.pid <> pg_backend_pid() "
    "AND (a.xact_start IS NULL OR a.xact_start < now() - make_interval(secs => :s)) "
    "ORDER BY a.xact_start NULLS LAST LIMIT 3"
)
"""The backends (at most three, the oldest transactions first) that hold a lock on a table of the
database and whose transaction is older than a migration's wait for a lock, or hidden from its role."""
log = logging.getLogger("baton_server.migrate")
_REVISION_RE = re.compile(r"""^(down_)?revision\s*(?::[^=]*)?=\s*["']([^"']+)["']\s*$""", re.MULTILINE)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations, optionally bound to an open connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every revision the code knows."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _a_newer_release_migrated(current: str) -> ConfigurationError:
    """The error for a database at ``current``, a revision the code does not know."""
    head = head_revision()
    return ConfigurationError(
        f"BATON_DATABASE_URL: the database is at revision {current}, which this server does not know (its "
        f"newest is {head}): a newer release of Baton migrated it. Run that release, or first take the "
        f"database back with its `baton-server db downgrade {head}`",
        setting="BATON_DATABASE_URL",
    )


def _refuse_a_revision_unknown(connection: Connection) -> None:
    """Refuse to migrate a database at a revision the code does not know (Alembic would fail with "Can't
    locate revision"), saying what happened and what to do."""
    current = _current(connection)
    if current is not None and current not in known_revisions():
        raise _a_newer_release_migrated(current)


def head_revision_from_files() -> str | None:
    """The head revision read from the migration files' ``revision`` and ``down_revision`` lines,
    without Alembic: the one revision no other revises. None when that is not plain (several
    heads, a file that does not say): the caller then asks Alembic."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = {bool(m[1]): m[2] for m in _REVISION_RE.finditer(path.read_text(encoding="utf-8"))}
        if False not in found:
            return None
        revisions.add(found[False])
        if True in found:
            revised.add(found[True])
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


async def _revision_without_alembic(engine: AsyncEngine) -> str | None:
    """The database's revision from Alembic's table, or None when it cannot be read so (no table yet)."""
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    except DBAPIError:
        return None
    return rows[0][0] if len(rows) == 1 else None


def _current(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    async with engine.connect() as conn:
        return await conn.run_sync(_current)


async def _take_the_migration_lock(conn: AsyncConnection) -> None:
    """Take the session lock of migrations on ``conn``, waiting for another process's migration to end.

    Tried again every half second rather than waited for in one statement: the lock holder's index
    build (``CONCURRENTLY``) waits for every transaction open in the database to end, a statement
    waiting for the lock among them, which would wait for the build in turn: a deadlock, which
    PostgreSQL breaks by failing one side. Between tries this connection holds no transaction.
    """
    told = False
    while True:
        lock = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        taken = lock.scalar()
        await conn.commit()  # Alembic begins each migration's transaction itself
        if taken:
            return
        if not told:
            log.info("another process is migrating the database: waiting for it to finish")
            told = True
        await asyncio.sleep(_MIGRATION_LOCK_RETRY_SECONDS)


async def _report_waiting_builds(engine: AsyncEngine, migrating: int) -> None:
    """Every ``_BUILD_WAIT_REPORT_SECONDS``, while the migration on backend ``migrating`` builds an index
    that waits for other transactions to end (``CONCURRENTLY`` waits for every one open in the database),
    log which one it waits for: a long transaction (an idle admin session) would otherwise stall a start
    without a word. Runs until cancelled; a failed look is logged and tried again."""
    while True:
        await asyncio.sleep(_BUILD_WAIT_REPORT_SECONDS)
        try:
            async with engine.connect() as conn:
                row = (await conn.execute(_WAITING_BUILD, {"pid": migrating})).first()
                await conn.rollback()
        except Exception as error:  # only an observer: the migration goes on whatever it meets
            log.debug("could not read the index build's progress: %s", error)
            continue
        if row is not None:
            log.warning(_waiting_build_message(*row))


def _waiting_build_message(index: str, phase: str, total: int | None, done: int | None, *backend: Any) -> str:
    """What a waiting index build waits for, from a row of :data:`_WAITING_BUILD` (its last six columns:
    the backend, as :func:`_backend` takes them)."""
    return (
        f"building index {index} is {phase}: {done or 0} of {total or 0} transaction(s) ended, "
        f"now waiting for {_backend(*backend)}; the migration goes on once it ends"
    )


def _backend(
    pid: int,
    application: str | None,
    state: str | None,
    since: datetime | None,
    client: str | None,
    role: str | None,
) -> str:
    """A backend, from its row of ``pg_stat_activity``: what the migrating role may see of it."""
    application = application or "no application name"
    if state is None:  # another role's backend, whose activity PostgreSQL shows only to its peers
        return (
            f"backend {pid} ({application}, role {role or 'unknown'}; its state and transaction are not "
            "visible to the migrating role (a member of pg_read_all_stats sees them))"
        )
    opened = "no transaction" if since is None else f"transaction open since {since:%Y-%m-%d %H:%M:%S %Z}"
    return f"backend {pid} ({application}, {client or 'local'}, {state}, {opened})"


def _gave_way(error: DBAPIError) -> bool:
    """Whether ``error`` is a migration's statement giving way after :data:`LOCK_TIMEOUT_SECONDS`."""
    return sqlstate_of(error) == _LOCK_NOT_AVAILABLE


def _may_not_migrate(engine: AsyncEngine, error: DBAPIError) -> ConfigurationError:
    """The error for a role that may not change the schema (an application role kept from DDL)."""
    denied = str(error.orig).strip().splitlines()[-1] if error.orig is not None else str(error)
    return ConfigurationError(
        f"BATON_DATABASE_URL: the role {engine.url.username or '(default)'!r} may not migrate the database "
        f"({denied}): run `baton-server db migrate` with the URL of a role that owns the schema, then start "
        "the server with BATON_AUTO_MIGRATE=false, or grant this role what the migrations need",
        setting="BATON_DATABASE_URL",
    )


async def _gave_way_message(conn: AsyncConnection, error: DBAPIError, pause: float) -> str:
    """What a migration that gave way waited for, and when it tries again."""
    statement = " ".join(str(error.statement or "a statement").split())[:160]
    try:
        rows = (await conn.execute(_HOLDERS, {"s": LOCK_TIMEOUT_SECONDS})).all()
        await conn.rollback()
    except Exception as look:  # only words: the migration tries again whatever they say
        log.debug("could not read who holds the locks: %s", look)
        with contextlib.suppress(Exception):
            await conn.rollback()  # the next try begins its own transaction
        rows = []
    holders = "; ".join(_backend(*row) for row in rows) or "none older than the wait is left"
    return (
        f"migrating waited {LOCK_TIMEOUT_SECONDS:g} s for a lock ({statement}) and gave way, so that the "
        f"writes queued behind it go on; trying again in {pause:g} s. Older transactions holding locks: "
        f"{holders}"
    )


async def _migrate(engine: AsyncEngine, step: Callable[[Config], None]) -> None:
    """Run ``step`` (an Alembic command) on one connection of ``engine``.

    On PostgreSQL each migration is a transaction of its own (``env.py``), so that a migration may build
    an index outside any (``CONCURRENTLY``, see :mod:`baton_server.db.online_index`), and a session lock
    held across them all makes several starting replicas migrate one after another. A statement that
    waits longer than :data:`LOCK_TIMEOUT_SECONDS` for a lock gives way: its migration is undone and
    tried again after a pause, so that the writes queued behind its lock request go on meanwhile. On
    SQLite the whole run is one transaction, kept or undone whole.
    """

    def run(connection: Connection) -> None:
        from alembic.util import CommandError

        try:
            step(alembic_config(connection))
        except CommandError as error:  # a revision asked for that the code does not know, say
            raise InvalidInputError(f"migrations: {error}") from None

    if engine.dialect.name != "postgresql":
        await _migrate_sqlite(engine, run)
        return
    async with engine.connect() as conn:
        await _take_the_migration_lock(conn)
        migrating = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # For the session: a migration's statement gives way rather than hold writes queued behind it.
        await conn.execute(text(f"SET lock_timeout = '{round(LOCK_TIMEOUT_SECONDS * 1000)}ms'"))
        await conn.commit()
        reporter = asyncio.create_task(_report_waiting_builds(engine, migrating))
        try:
            await conn.run_sync(_refuse_a_revision_unknown)
            await conn.commit()  # Alembic begins each migration's transaction itself
            pause = LOCK_TIMEOUT_SECONDS
            while True:
                try:
                    await conn.run_sync(run)
                    break
                except DBAPIError as error:
                    if sqlstate_of(error) == _INSUFFICIENT_PRIVILEGE:
                        raise _may_not_migrate(engine, error) from None
                    if not _gave_way(error):
                        raise
                    # The migrations done are stamped; this one's transaction is undone, and the next
                    # try goes on from it (one that built indexes keeps those it built).
                    await conn.rollback()
                    log.warning(await _gave_way_message(conn, error, pause))
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, GIVE_WAY_MAX_PAUSE_SECONDS)
        except BaseException:
            # A migration that failed leaves its transaction aborted: end it, then give the lock back. A
            # connection that cannot be closed cleanly is dropped, and its lock with it.
            try:
                await conn.rollback()
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                await conn.execute(text("RESET lock_timeout"))  # the pooled connection waits as before
                await conn.commit()
            except Exception:  # the migration's own error is the one to raise
                await conn.invalidate()
            raise
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
        await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
        await conn.execute(text("RESET lock_timeout"))
        await conn.commit()


async def _migrate_sqlite(engine: AsyncEngine, run: Callable[[Connection], None]) -> None:
    """Run ``run`` (an Alembic command on a connection) on SQLite: in one transaction, with foreign keys
    not enforced until it is over, and checked before it commits.

    SQLite changes a column by building the table anew (Alembic's batch mode): it drops the old table,
    and with foreign keys enforced (the server's connections enforce them) dropping ``task_instances``
    deleted every log line and XCom by cascade. Python's sqlite3 opens a transaction only for a write
    and runs DDL outside any: begun here, the run's tables, columns and indexes are in it too, kept or
    undone whole.
    """
    async with engine.connect() as conn:
        # A pragma that takes effect only outside a transaction: read and set before the run begins.
        enforced = bool((await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar())
        await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await conn.exec_driver_sql("BEGIN")
            await conn.run_sync(_refuse_a_revision_unknown)
            await conn.run_sync(run)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if broken:
                raise RuntimeError(f"the migration left rows whose foreign keys point nowhere: {broken[:5]}")
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
        finally:
            if enforced:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            await conn.commit()


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database up to ``revision``."""
    from alembic import command

    await _migrate(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``base`` empties it)."""
    from alembic import command

    await _migrate(engine, lambda config: command.downgrade(config, revision))


async def prepare_database(runtime: Runtime) -> None:
    """Check the database answers and is at the code's migration head (migrating it when allowed).

    Here rather than beside the app, so that the commands that only touch the database do not
    import the web stack.
    """
    await check_database(runtime.engine)
    head = head_revision_from_files()
    if head is not None and await _revision_without_alembic(runtime.engine) == head:
        return  # at the head already: nothing for Alembic to do
    if runtime.settings.auto_migrate:
        await upgrade(runtime.engine)
        return
    current, head = await current_revision(runtime.engine), head_revision()
    if current is not None and current not in known_revisions():
        raise _a_newer_release_migrated(current)
    if current != head:
        raise ConfigurationError(
            f"BATON_DATABASE_URL: the database is at revision {current or 'empty'}, the server needs {head}; "
            "run `baton-server db migrate`",
            setting="BATON_DATABASE_URL",
        )
