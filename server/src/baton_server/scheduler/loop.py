"""The scheduler: one pass turns the database's state into the next, a loop repeats it.

A pass runs in one transaction. On PostgreSQL it first takes a transaction-scoped advisory lock
without waiting: with several replicas, one does the pass and the others skip it, so the work is
not done twice (and every write is conditional anyway, see ``runs`` and ``task_instances``).

Between passes the loop waits ``scheduler_interval`` seconds, or less when a request wakes it (a
triggered run). A finished attempt does not wait for a pass at all: :func:`advance_run` resolves
its run right after the final state is stored, under the same lock, and queues what became ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from baton_server.db.direct import Direct, transaction_on
from baton_server.db.engine import Reader, connection_of
from baton_server.db.types import utcnow
from baton_server.presence import ServerWatch
from baton_server.runtime import Runtime
from baton_server.scheduler import runs, task_instances
from baton_server.services import backfills, retention
from baton_server.services._sql import is_postgres
from baton_server.services.dags import load_version_or_none
from baton_server.services.retention import CleanReport, parse_duration

log = logging.getLogger("baton_server.scheduler")

LEADER_LOCK_KEY = 0x62_61_74_6F_6E_73_63
"""PostgreSQL advisory lock key ("batonsc") that elects the replica doing the current pass."""
_TRY_PASS_LOCK = Direct(select(func.pg_try_advisory_xact_lock(bindparam("b_lock", type_=BigInteger))))


async def _took_pass_lock(reader: Reader) -> bool:
    """Whether the passes' lock was taken, without waiting, for the transaction of ``reader`` (on
    PostgreSQL; elsewhere one process runs the passes and there is no lock to take): a pass, and a
    run's advance after a final state, each take it."""
    if not is_postgres(reader):
        return True
    return bool(await _TRY_PASS_LOCK.scalar(await connection_of(reader), {"b_lock": LEADER_LOCK_KEY}))


@dataclass(slots=True)
class PassReport:
    """What one scheduler pass did; ``leader`` is False when another replica held the pass."""

    leader: bool = True
    runs_created: int = 0
    backfill_runs_created: int = 0
    runs_started: int = 0
    claims_released: int = 0
    stopped_attempts_released: int = 0
    attempts_timed_out: int = 0
    scheduled: int = 0
    upstream_failed: int = 0
    skipped: int = 0
    failed: int = 0
    queued: int = 0
    runs_finished: dict[str, int] = field(default_factory=dict)
    workers_offline: int = 0

    @property
    def changed(self) -> bool:
        """Whether the pass changed anything."""
        counts = (
            self.runs_created,
            self.backfill_runs_created,
            self.runs_started,
            self.claims_released,
            self.stopped_attempts_released,
            self.attempts_timed_out,
            self.scheduled,
            self.upstream_failed,
            self.skipped,
            self.failed,
            self.queued,
            self.workers_offline,
        )
        return any(counts) or bool(self.runs_finished)


class Scheduler:
    """Creates and starts DAG runs, resolves dependencies, retries, times out and queues task instances.

    A scheduler that has just started has not been there to hear anyone: the server was down before
    (an upgrade, a crash), and heartbeats and starts sent then were refused, however alive their workers
    are. So it ends an attempt for its silence, marks a worker offline or takes back an unstarted claim
    only once it has been up for the whole timeout (``heartbeat_timeout``, ``claim_timeout``); execution
    timeouts run on time. A server down for longer than the heartbeat timeout used to fail every running
    attempt at its first pass, before a worker could reach it.

    A scheduler that runs apart from the API servers (``servers_apart``: ``baton-server scheduler``)
    also watches their mark (:mod:`baton_server.presence`): while no server is up it judges no silence,
    and once one is back it waits the whole timeouts again, as after its own start.
    """

    def __init__(
        self, runtime: Runtime, *, since: datetime | None = None, servers_apart: bool = False
    ) -> None:
        self._runtime = runtime
        self._settings = runtime.settings
        self._resume_after: uuid.UUID | None = None
        self._last_clean: float | None = None
        self._since = since or utcnow()
        """When this scheduler began hearing: its start (tests set it), or the servers' return."""
        self._servers = ServerWatch() if servers_apart else None

    def _up_for(self, now: datetime, timeout: float) -> bool:
        """Whether this scheduler has been up for ``timeout`` seconds as of ``now``."""
        return (now - self._since).total_seconds() >= timeout

    async def run_once(self, now: datetime | None = None) -> PassReport:
        """One pass, as of ``now`` (default: the current time); timed and counted in the metrics."""
        started = time.perf_counter()
        metrics = self._runtime.metrics
        try:
            report = await self._pass(now or utcnow())
        except Exception:
            metrics.scheduler_passes.labels("failed").inc()
            raise
        if report.leader:
            metrics.scheduler_pass.observe(time.perf_counter() - started)
        metrics.scheduler_passes.labels("led" if report.leader else "skipped").inc()
        return report

    async def _pass(self, now: datetime) -> PassReport:
        report = PassReport()
        async with self._runtime.sessions() as session:
            if not await _took_pass_lock(session):
                if self._servers is not None:  # kept current, for the pass it may lead next
                    await self._servers.look(session, now)
                await session.rollback()
                return PassReport(leader=False)
            hearing = True
            if self._servers is not None:
                if await self._servers.look(session, now):
                    self._since = max(self._since, now)
                hearing = self._servers.hearing
            heard_long_enough = hearing and self._up_for(now, self._settings.heartbeat_timeout)
            # Workers' rows, then the claimed task instances, then the DAGs' rows: the order a claim takes
            # them (its worker's row, the claims it gives back, its pools' and DAGs' rows). A pass that
            # released a silent worker's claims and then marked it offline waited for the worker's row
            # while the worker, back, held it and waited to give back those same claims (a deadlock).
            if heard_long_enough:
                report.workers_offline = await task_instances.mark_offline_workers(
                    session, now, self._settings.heartbeat_timeout
                )
            if hearing and self._up_for(now, self._settings.claim_timeout):
                report.claims_released = await task_instances.release_stale_claims(
                    session, now, self._settings.claim_timeout
                )
            report.claims_released += await task_instances.release_claims_of_offline_workers(session)
            if heard_long_enough:
                report.stopped_attempts_released = await task_instances.release_stopped_attempts(
                    session, now, self._settings.heartbeat_timeout
                )
            report.attempts_timed_out = await task_instances.fail_timed_out(
                session, now, self._settings.heartbeat_timeout, heartbeats=heard_long_enough
            )
            held = await runs.lock_dags_of_pass(session, now)
            report.runs_created = await runs.create_scheduled_runs(session, now, held=held)
            report.backfill_runs_created = await backfills.advance_backfills(session, now, held=held)
            report.runs_started = await runs.start_queued_runs(session, now, held=held)
            deps = await task_instances.resolve_dependencies(session, now, after=self._resume_after)
            report.scheduled = deps.scheduled
            report.upstream_failed = deps.upstream_failed
            report.skipped = deps.skipped
            report.failed = deps.failed
            report.runs_finished = deps.runs_finished
            report.queued = await task_instances.queue_scheduled(session, now)
            await session.commit()
        self._resume_after = deps.resume_after
        if report.queued:
            self._runtime.wakeups.queue.notify()
        if report.changed:
            log.info("scheduler pass: %s", report)
        return report

    async def clean_if_due(self, now: datetime | None = None) -> CleanReport | None:
        """With ``retention`` set, delete the runs it no longer keeps, every ``retention_clean_interval``."""
        if self._settings.retention is None:
            return None
        moment = time.monotonic()
        if (
            self._last_clean is not None
            and moment - self._last_clean < self._settings.retention_clean_interval
        ):
            return None
        self._last_clean = moment
        cutoff = (now or utcnow()) - parse_duration(self._settings.retention)
        report = await retention.clean(self._runtime.sessions, cutoff)
        if report.dag_runs:
            log.info("retention: deleted what finished before %s: %s", cutoff.isoformat(), report)
        return report

    async def run_until(self, stop: asyncio.Event) -> None:
        """Run a pass every ``scheduler_interval`` seconds until ``stop`` is set; a failed pass is logged."""
        interval = self._settings.scheduler_interval
        log.info("scheduler started (a pass every %s s, or when woken)", interval)
        wakeup = self._runtime.wakeups.scheduler
        while not stop.is_set():
            ticket = wakeup.ticket()  # a wake-up during the pass asks for the next one at once
            try:
                await self.run_once()
                await self.clean_if_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler pass failed; retrying in %s s", interval)
            stopping = asyncio.ensure_future(stop.wait())
            woken = asyncio.ensure_future(ticket.wait())
            await asyncio.wait({stopping, woken}, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            woken.cancel()
        log.info("scheduler stopped")


@contextlib.asynccontextmanager
async def _transaction_on(runtime: Runtime, conn: AsyncConnection | None) -> AsyncIterator[Reader]:
    """One transaction: a session on a pooled connection of its own, or ``conn`` itself, a request's
    connection in autocommit (:func:`baton_server.db.direct.transaction_on`). It commits when the block
    ends without an error; a commit inside is harmless."""
    if conn is None:
        async with runtime.sessions() as session:
            yield session
        return
    async with transaction_on(conn):
        yield conn


async def advance_run(runtime: Runtime, run_pk: uuid.UUID, *, on: AsyncConnection | None = None) -> int:
    """Right after an attempt of the run ended: queue what became ready, finish the run if it is done.

    One short transaction, as a pass would do for this run alone, so that a downstream task does not
    wait for the next pass — on the connection ``on`` (the request's, in autocommit) if given: under
    load, giving it back and taking another would queue the request twice for the pool. On PostgreSQL
    it takes the passes' lock without waiting: if a pass (of any replica) holds it, the scheduler is
    woken instead and the next pass does it. Never raises: the final state is already stored, and the
    passes catch up on anything left. Returns how many task instances it queued.
    """
    try:
        async with _transaction_on(runtime, on) as reader:
            if not await _took_pass_lock(reader):  # nothing was written: the transaction ends empty
                runtime.wakeups.scheduler.notify()
                return 0
            now = utcnow()
            deps = await task_instances.resolve_run(reader, run_pk, now)
            queued = (
                await task_instances.queue_scheduled(reader, now, run_pk=run_pk) if deps.left_scheduled else 0
            )
            await reader.commit()
    except Exception:
        log.exception("resolving run %s after a finished attempt failed; the next pass does it", run_pk)
        runtime.wakeups.scheduler.notify()
        return 0
    if queued:
        runtime.wakeups.queue.notify()
    if deps.runs_finished:
        log.info("run %s finished: %s", run_pk, deps.runs_finished)
    return queued


async def after_attempt_ended(
    runtime: Runtime, conn: AsyncConnection, run_pk: uuid.UUID, version_id: uuid.UUID, task_id: str
) -> None:
    """Once an attempt of ``task_id`` ended, on the autocommit connection that stored its final state:
    the end of a task nothing waits for, in a run that goes on, changes nothing but that run's own
    end — done after one aggregate read on the same connection, without a transaction or the passes'
    lock (each final state is committed before its own read, so the read of the last one to end sees
    every other end). Otherwise :func:`advance_run` queues what became ready, in a transaction on
    ``conn``. Never raises."""
    try:
        if await _ended_a_leaf_of_unfinished_run(conn, run_pk, version_id, task_id):
            return
    except Exception:
        log.exception("reading run %s after a finished attempt failed; advancing it in full", run_pk)
    # On the request's own connection: taking a second one while holding it would starve the pool
    # under load (every holder waiting for a second), and giving it back first would queue the
    # request for the pool twice.
    await advance_run(runtime, run_pk, on=conn)


async def _ended_a_leaf_of_unfinished_run(
    conn: AsyncConnection, run_pk: uuid.UUID, version_id: uuid.UUID, task_id: str
) -> bool:
    """Whether no task waits for ``task_id`` and some task instance of the run has not ended."""
    version = await load_version_or_none(conn, version_id)
    if version is None or version.spec.has_downstream(task_id):
        return False
    count, _, finished = await task_instances.run_summary(conn, run_pk)
    return count > 0 and not finished
