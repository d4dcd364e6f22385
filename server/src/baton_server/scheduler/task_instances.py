"""Scheduler steps on task instances: timeouts, stale claims, dependencies, retries, queueing.

Only the scheduler moves a task instance into ``scheduled`` or ``queued``, and it increments
``try_number`` exactly when it queues an attempt. Every write is conditional on the state read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable

from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import DagRunRecord, TaskInstanceRecord, WorkerRecord
from baton_server.scheduler.dependencies import Decision, decide, run_outcome
from baton_server.services._sql import rowcount
from baton_server.services.dag_specs import topological_order
from baton_server.services.dags import load_version_or_none
from baton_server.services.states import FINISHED_TI_STATES, DagRunState, TaskInstanceState, resolve_failure
from baton_server.services.workers import WorkerState

TI = TaskInstanceRecord
BATCH = 200
"""Most running DAG runs one pass examines."""

_FRESH_ATTEMPT: dict[str, Any] = {
    "worker_id": None,
    "claimed_at": None,
    "hostname": None,
    "pid": None,
    "start_date": None,
    "end_date": None,
    "last_heartbeat_at": None,
    "next_attempt_at": None,
    "timeout_at": None,
}
"""What queueing a new attempt clears: the row always describes the current attempt."""


@dataclass(slots=True)
class DependencyReport:
    """What one dependency step did."""

    scheduled: int = 0
    upstream_failed: int = 0
    skipped: int = 0
    failed: int = 0
    runs_finished: dict[str, int] = field(default_factory=dict)
    resume_after: uuid.UUID | None = None
    """Where the next pass continues when this one stopped at its batch limit (None: from the start)."""
    left_scheduled: bool = False
    """Whether a task instance of a run it resolved is left scheduled, for :func:`queue_scheduled`."""


async def release_stale_claims(session: AsyncSession, now: datetime, claim_timeout: float) -> int:
    """Put back in the queue what was claimed longer than ``claim_timeout`` ago and never started."""
    result = await session.execute(
        update(TI)
        .where(
            TI.state == TaskInstanceState.QUEUED.value,
            TI.worker_id.is_not(None),
            TI.claimed_at < now - timedelta(seconds=claim_timeout),
        )
        .values(worker_id=None, claimed_at=None)
    )
    return rowcount(result)


async def release_stopped_attempts(session: AsyncSession, now: datetime, heartbeat_timeout: float) -> int:
    """Free the slots of the attempts an operator stopped (clear, mark, cancel) whose heartbeat deadline
    has passed: their last heartbeat is older than ``heartbeat_timeout``, as for an attempt the pass
    takes for dead. (Their worker's claim frees them sooner once it no longer lists them.)

    Read from the partial index of the stopping attempts alone, so the step costs what was stopped.
    """
    cutoff = now - timedelta(seconds=heartbeat_timeout)
    result = await session.execute(
        update(TI)
        .where(
            TI.stopping_at.is_not(None),
            or_(TI.last_heartbeat_at.is_(None), TI.last_heartbeat_at < cutoff),
        )
        .values(stopping_at=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


async def fail_timed_out(
    session: AsyncSession, now: datetime, heartbeat_timeout: float, *, heartbeats: bool = True
) -> int:
    """Fail (or send to retry) running attempts whose heartbeat stopped (unless ``heartbeats`` is false:
    the scheduler has not been up long enough to tell) or whose execution timed out.

    Both deadlines are indexed with the state, so a pass reads only the attempts that are due, however
    many are running: the heartbeat's through its floor (``heartbeat_floor``, never after the last
    heartbeat, and at most a quarter of the timeout or a minute before it), then the last heartbeat; an
    attempt whose floor is not set yet (running since before migration 0013) is looked at by its
    last heartbeat alone.
    """
    heartbeat_cutoff = now - timedelta(seconds=heartbeat_timeout)
    running = TI.state == TaskInstanceState.RUNNING.value
    columns = (TI.id, TI.dag_version_id, TI.task_id, TI.try_number, TI.max_tries, TI.last_heartbeat_at)
    stale = (
        await session.execute(
            select(*columns).where(
                running,
                or_(TI.heartbeat_floor < heartbeat_cutoff, TI.heartbeat_floor.is_(None)),
                or_(
                    TI.last_heartbeat_at < heartbeat_cutoff,
                    # An attempt started before starts recorded a heartbeat.
                    TI.last_heartbeat_at.is_(None)
                    & (func.coalesce(TI.start_date, TI.updated_at) < heartbeat_cutoff),
                ),
            )
        )
    ).all()
    if not heartbeats:
        # Read all the same, so that a pass costs what it will once the scheduler has heard long enough.
        stale = []
    overran = (await session.execute(select(*columns).where(running, TI.timeout_at < now))).all()
    overran_ids = {row.id for row in overran}
    ended = 0
    for ti_id, version_id, task_id, try_number, max_tries, last_heartbeat in [
        *overran,
        *(row for row in stale if row.id not in overran_ids),
    ]:
        version = await load_version_or_none(session, version_id)
        task = version.spec.task(task_id) if version else None
        target = resolve_failure(try_number, max_tries)
        delay = task.retry_delay_seconds if task else 0
        conditions = [
            TI.id == ti_id,
            TI.state == TaskInstanceState.RUNNING.value,
            TI.try_number == try_number,
        ]
        if ti_id not in overran_ids:
            # A heartbeat that lands between our read and this write keeps the attempt alive.
            conditions.append(
                TI.last_heartbeat_at.is_(None)
                if last_heartbeat is None
                else TI.last_heartbeat_at == last_heartbeat
            )
        result = await session.execute(
            update(TI)
            .where(*conditions)
            .values(
                state=target.value,
                end_date=now,
                next_attempt_at=(
                    now + timedelta(seconds=delay) if target is TaskInstanceState.UP_FOR_RETRY else None
                ),
            )
        )
        ended += rowcount(result)
    return ended


async def _core(reader: Reader, statement: Executable, params: dict[str, Any] | None = None) -> Any:
    """Run a statement of a run's resolution on the connection, as Core: through a session, the ORM's
    compile, cache-key and bulk-update bookkeeping would cost more than the statement (these read
    columns, never entities, so nothing in a session's identity map needs updating)."""
    return await (await connection_of(reader)).execute(statement, params)


async def _set_state(
    reader: Reader, ids: list[uuid.UUID], expected: str | None, values: dict[str, Any]
) -> int:
    if not ids:
        return 0
    state_is = TI.state.is_(None) if expected is None else TI.state == expected
    result = await _core(reader, update(TI).where(TI.id.in_(ids), state_is).values(**values))
    return rowcount(result)


async def resolve_dependencies(
    session: AsyncSession, now: datetime, *, after: uuid.UUID | None = None
) -> DependencyReport:
    """For each running run: schedule what may run, fail or skip what never will, and finish the run.

    Only runs with something to decide are read: a task instance not yet scheduled, a retry that is
    due, or every task instance ended (the database filters them, so a pass over thousands of runs
    whose tasks are all queued or running reads none). At most ``BATCH`` runs per pass, in id order
    from ``after``; the report says where to go on, so that with more such runs than a batch, every
    run still gets its turn.
    """
    report = DependencyReport()
    of_run = TI.dag_run_id == DagRunRecord.id
    retry_due = (TI.state == TaskInstanceState.UP_FOR_RETRY.value) & or_(
        TI.next_attempt_at.is_(None), TI.next_attempt_at <= now
    )
    undecided = select(TI.id).where(of_run, or_(TI.state.is_(None), retry_due)).exists()
    unfinished = (
        select(TI.id).where(of_run, or_(TI.state.is_(None), TI.state.not_in(_FINISHED_STATES))).exists()
    )
    conditions = [DagRunRecord.state == DagRunState.RUNNING.value, or_(undecided, ~unfinished)]
    if after is not None:
        conditions.append(DagRunRecord.id > after)
    runs = list(
        await session.execute(
            select(DagRunRecord.id, DagRunRecord.dag_version_id)
            .where(*conditions)
            .order_by(DagRunRecord.id)
            .limit(BATCH)
        )
    )
    if len(runs) == BATCH:
        report.resume_after = runs[-1][0]
    for run_pk, version_id in runs:
        await _resolve_and_finish(session, run_pk, version_id, now, report)
    return report


async def resolve_run(reader: Reader, run_pk: uuid.UUID, now: datetime) -> DependencyReport:
    """Resolve one run as a pass would, if it is running: what a finished attempt of it made ready.

    Its task instances are read in the statement that checks that the run still runs, and with no
    summary first: the attempt that just ended leaves something to decide (its downstream tasks, or
    the run's end; :func:`baton_server.scheduler.loop.after_attempt_ended` reads the summary before
    calling for a task nothing waits for). The report says whether one is left scheduled."""
    report = DependencyReport()
    rows = await _RUNNING_RUN_TASK_INSTANCES.all(await connection_of(reader), {"b_run": run_pk})
    if rows:
        await _decide_and_finish(reader, run_pk, rows[0].dag_version_id, rows, now, report)
    return report


# A run's resolution after a final state runs on the request's connection, inside a transaction of
# the driver's own (``advance_run``): its statements are direct, and the pass's session runs the same
# through SQLAlchemy.
_TASK_INSTANCE_COLUMNS = (
    TI.id,
    TI.task_id,
    TI.state,
    TI.try_number,
    TI.max_tries,
    TI.end_date,
    TI.next_attempt_at,
    TI.updated_at,
)
_RUN_TASK_INSTANCES = Direct(select(*_TASK_INSTANCE_COLUMNS).where(TI.dag_run_id == bindparam("b_run")))
_RUNNING_RUN_TASK_INSTANCES = Direct(
    select(DagRunRecord.dag_version_id, *_TASK_INSTANCE_COLUMNS)
    .join(DagRunRecord, DagRunRecord.id == TI.dag_run_id)
    .where(TI.dag_run_id == bindparam("b_run"), DagRunRecord.state == DagRunState.RUNNING.value)
)
"""A run's task instances, with its DAG version, if the run is running (no rows otherwise)."""
_FINISH_RUN = Direct(
    update(DagRunRecord)
    .where(DagRunRecord.id == bindparam("b_run"), DagRunRecord.state == DagRunState.RUNNING.value)
    .values(state=bindparam("b_state"), end_date=bindparam("b_now"))
)
_PENDING_STATES = (TaskInstanceState.UP_FOR_RETRY.value,)
_FINISHED_STATES = tuple(sorted(state.value for state in FINISHED_TI_STATES))
_RUN_SUMMARY = Direct(
    select(
        func.count(),
        func.max(case((or_(TI.state.is_(None), *(TI.state == s for s in _PENDING_STATES)), 1), else_=0)),
        # Equalities rather than IN: a direct statement has no expanding parameters.
        func.min(case((or_(*(TI.state == s for s in _FINISHED_STATES)), 1), else_=0)),
    ).where(TI.dag_run_id == bindparam("b_run"))
)
"""Of one run's task instances: how many, whether one awaits a decision (unscheduled, or up for
retry), whether all have finished. One aggregate row, computed by the database (a direct statement:
each final state of a task that nothing waits for reads it)."""


async def run_summary(reader: Reader, run_pk: uuid.UUID) -> tuple[int, bool, bool]:
    """(task instances, whether one awaits a decision, whether all have finished) of one run."""
    row = await _RUN_SUMMARY.first(await connection_of(reader), {"b_run": run_pk})
    assert row is not None  # an aggregate has a row, even of no task instances
    return int(row[0]), bool(row[1]), bool(row[2])


async def _resolve_and_finish(
    reader: Reader, run_pk: uuid.UUID, version_id: uuid.UUID, now: datetime, report: DependencyReport
) -> None:
    count, pending, all_ended = await run_summary(reader, run_pk)
    if count and not pending and not all_ended:
        # Nothing to decide and the run goes on: reading every task instance would change nothing.
        # (Most passes over a large run find just this: every task queued, running or ended.)
        return
    rows = await _RUN_TASK_INSTANCES.all(await connection_of(reader), {"b_run": run_pk})
    await _decide_and_finish(reader, run_pk, version_id, rows, now, report)


async def _decide_and_finish(
    reader: Reader,
    run_pk: uuid.UUID,
    version_id: uuid.UUID,
    rows: Sequence[Any],
    now: datetime,
    report: DependencyReport,
) -> None:
    outcome = await _resolve_run(reader, version_id, rows, now, report)
    if outcome is None:
        return
    finished = await _FINISH_RUN.rowcount(
        await connection_of(reader), {"b_run": run_pk, "b_state": outcome.value, "b_now": now}
    )
    if finished:
        report.runs_finished[outcome.value] = report.runs_finished.get(outcome.value, 0) + 1


async def _resolve_run(
    reader: Reader, version_id: uuid.UUID, rows: Sequence[Any], now: datetime, report: DependencyReport
) -> DagRunState | None:
    """Decide a run's task instances (``rows``) and write the decisions; the run's outcome once it is
    over (None: it goes on, or something moved under us)."""
    version = await load_version_or_none(reader, version_id)
    if version is None:
        return None
    spec = version.spec
    by_task = {row.task_id: row for row in rows}
    states: dict[str, str | None] = {row.task_id: row.state for row in rows}
    plan: dict[str, list[uuid.UUID]] = {
        "schedule": [],
        "upstream_failed": [],
        "skip": [],
        "retry": [],
        "fail": [],
    }
    next_attempts: list[tuple[uuid.UUID, datetime]] = []
    for task in topological_order(spec):
        row = by_task.get(task.task_id)
        if row is None:
            continue
        if row.state is None:
            decision = decide(task.trigger_rule, [states.get(u) for u in task.upstream_task_ids])
            if decision is Decision.RUN:
                plan["schedule"].append(row.id)
                states[task.task_id] = TaskInstanceState.SCHEDULED.value
            elif decision is Decision.UPSTREAM_FAILED:
                plan["upstream_failed"].append(row.id)
                states[task.task_id] = TaskInstanceState.UPSTREAM_FAILED.value
            elif decision is Decision.SKIP:
                plan["skip"].append(row.id)
                states[task.task_id] = TaskInstanceState.SKIPPED.value
        elif row.state == TaskInstanceState.UP_FOR_RETRY.value:
            if row.try_number >= row.max_tries:
                plan["fail"].append(row.id)
                states[task.task_id] = TaskInstanceState.FAILED.value
                continue
            # Counted from when the server recorded the failure, on its own clock: the end date is the
            # worker's, and a worker whose clock lags would have its retry come early.
            failed_at = row.updated_at or row.end_date or now
            due = row.next_attempt_at or failed_at + timedelta(seconds=task.retry_delay_seconds)
            if due <= now:
                plan["retry"].append(row.id)
                states[task.task_id] = TaskInstanceState.SCHEDULED.value
            elif row.next_attempt_at is None:
                next_attempts.append((row.id, due))
    planned = sum(len(ids) for ids in plan.values())
    if TaskInstanceState.SCHEDULED.value in states.values():
        report.left_scheduled = True
    scheduled = {"state": TaskInstanceState.SCHEDULED.value}
    retry_state = TaskInstanceState.UP_FOR_RETRY.value
    moved = await _set_state(reader, plan["schedule"], None, scheduled)
    moved += await _set_state(reader, plan["retry"], retry_state, scheduled)
    report.scheduled += moved
    upstream_failed = await _set_state(
        reader,
        plan["upstream_failed"],
        None,
        {"state": TaskInstanceState.UPSTREAM_FAILED.value, "end_date": now},
    )
    skipped = await _set_state(
        reader, plan["skip"], None, {"state": TaskInstanceState.SKIPPED.value, "end_date": now}
    )
    failed = await _set_state(reader, plan["fail"], retry_state, {"state": TaskInstanceState.FAILED.value})
    report.upstream_failed += upstream_failed
    report.skipped += skipped
    report.failed += failed
    done = moved + upstream_failed + skipped + failed
    for ti_id, due in next_attempts:
        await _core(
            reader,
            update(TI)
            .where(
                TI.id == ti_id, TI.state == TaskInstanceState.UP_FOR_RETRY.value, TI.next_attempt_at.is_(None)
            )
            .values(next_attempt_at=due),
        )
    if done != planned:
        return None  # something moved under us: judge the run on the next pass
    return run_outcome(spec, states)


def _queue_scheduled(*conditions: Any) -> Direct:
    """The statement queueing the scheduled task instances that also meet ``conditions``; not one whose
    attempt an operator cleared while it ran until that attempt is known to be gone (``stopping_at``):
    its new try would run beside the old one's process, and take the slot it still holds."""
    return Direct(
        update(TI)
        .where(TI.state == TaskInstanceState.SCHEDULED.value, TI.stopping_at.is_(None), *conditions)
        .values(
            state=TaskInstanceState.QUEUED.value,
            try_number=TI.try_number + 1,
            queued_at=bindparam("b_now"),
            **_FRESH_ATTEMPT,
        )
    )


_QUEUE_SCHEDULED = _queue_scheduled()
_QUEUE_SCHEDULED_OF_RUN = _queue_scheduled(TI.dag_run_id == bindparam("b_run"))


async def queue_scheduled(reader: Reader, now: datetime, *, run_pk: uuid.UUID | None = None) -> int:
    """Queue every scheduled task instance (only one run's with ``run_pk``) as a new attempt (try + 1)."""
    conn = await connection_of(reader)
    if run_pk is None:
        return await _QUEUE_SCHEDULED.rowcount(conn, {"b_now": now})
    return await _QUEUE_SCHEDULED_OF_RUN.rowcount(conn, {"b_now": now, "b_run": run_pk})


async def mark_offline_workers(session: AsyncSession, now: datetime, heartbeat_timeout: float) -> int:
    """Mark workers not heard from within the heartbeat timeout as offline."""
    result = await session.execute(
        update(WorkerRecord)
        .where(
            WorkerRecord.state == WorkerState.ACTIVE.value,
            WorkerRecord.last_heartbeat_at < now - timedelta(seconds=heartbeat_timeout),
        )
        .values(state=WorkerState.OFFLINE.value)
    )
    return rowcount(result)


async def release_claims_of_offline_workers(session: AsyncSession) -> int:
    """Put back in the queue what offline workers claimed and never started.

    A worker that froze mid-claim (or whose claim answer never reached it) cannot start what it was
    handed; once it is offline, its unstarted workloads go to others instead of waiting out the claim
    timeout. If it comes back, ``run`` refuses it (409) whatever another worker has started.
    """
    offline = select(WorkerRecord.id).where(WorkerRecord.state == WorkerState.OFFLINE.value)
    result = await session.execute(
        update(TI)
        .where(TI.state == TaskInstanceState.QUEUED.value, TI.worker_id.in_(offline.scalar_subquery()))
        .values(worker_id=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
