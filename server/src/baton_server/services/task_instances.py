"""Attempts of task instances as the task sees them: start, heartbeat, finish, and run-time facts.

Every function takes the verified claims of the caller's task token. A token acts only on its
own task instance (403 otherwise) and only on its own attempt: once the attempt is finished,
its token is refused, except to repeat the same ``state`` call, which is idempotent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from baton_server.db.availability import is_database_unavailable
from baton_server.db.tables import (
    CredentialRecord,
    DagRunRecord,
    DagVersionRecord,
    TaskInstanceRecord,
    WorkerRecord,
)
from baton_server.db.types import utcnow
from baton_server.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from baton_server.services.states import TaskInstanceState, resolve_failure
from baton_server.services.tokens import TaskClaims, TokenScope

TI = TaskInstanceRecord
_TI_TABLE = cast(Table, TaskInstanceRecord.__table__)

# Built once: constructing a statement costs more than executing it on the hot path.
_HEARTBEAT = (
    _TI_TABLE.update()
    .where(
        _TI_TABLE.c.id == bindparam("b_id"),
        _TI_TABLE.c.state == TaskInstanceState.RUNNING.value,
        _TI_TABLE.c.try_number == bindparam("b_try"),
        _TI_TABLE.c.hostname == bindparam("b_host"),
        _TI_TABLE.c.pid == bindparam("b_pid"),
    )
    .values(last_heartbeat_at=bindparam("b_now"))
)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The caller's running attempt, verified against the database."""

    id: uuid.UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    dag_run_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class StartedAttempt:
    """What ``run`` answers with: the task instance, its DAG run and the task's description."""

    task_instance: TaskInstanceRecord
    dag_run: DagRunRecord
    task_description: dict[str, Any]


def require_scope(claims: TaskClaims, scope: TokenScope) -> None:
    """403 unless the token has the scope this route takes."""
    if claims.scope != scope:
        if scope == "workload":
            raise ForbiddenError(
                "starting an attempt takes the workload's token", reason="workload_token_required"
            )
        raise ForbiddenError(
            "a workload token only starts its attempt; use the token that `run` returned",
            reason="execution_token_required",
        )


def require_subject(claims: TaskClaims, task_instance_id: uuid.UUID) -> None:
    """403 unless the token belongs to the task instance in the path."""
    if claims.task_instance_id != task_instance_id:
        raise ForbiddenError("the token belongs to another task instance", reason="token_subject_mismatch")


def require_own(attempt: Attempt, task_instance_id: uuid.UUID) -> None:
    """403 unless the verified attempt is the task instance in the path."""
    if attempt.id != task_instance_id:
        raise ForbiddenError("the token belongs to another task instance", reason="token_subject_mismatch")


async def start_attempt(
    session: AsyncSession,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    *,
    hostname: str,
    pid: int,
    unix_user: str,
    start_date: datetime,
) -> StartedAttempt:
    """Move a queued attempt to running; a repeat from the same process replays the answer."""
    require_scope(claims, "workload")
    require_subject(claims, task_instance_id)
    now = utcnow()
    conditions = [
        TI.id == task_instance_id,
        TI.state == TaskInstanceState.QUEUED,
        TI.try_number == claims.try_number,
    ]
    if claims.worker_id is not None:
        # Still claimed by the worker the token was issued to, whose credential is not revoked.
        conditions += [TI.worker_id == claims.worker_id, TI.worker_id.in_(_LIVE_WORKERS)]
    else:
        # A token from before workload tokens named their worker: any live claim, or none.
        conditions.append(or_(TI.worker_id.is_(None), TI.worker_id.in_(_LIVE_WORKERS)))
    result = await session.execute(
        update(TI)
        .where(*conditions)
        .values(
            state=TaskInstanceState.RUNNING,
            hostname=hostname,
            pid=pid,
            unix_user=unix_user,
            start_date=start_date,
            end_date=None,
            last_heartbeat_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    ti = await session.get(TI, task_instance_id, populate_existing=True)
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        if ti.state == TaskInstanceState.QUEUED and ti.try_number == claims.try_number:
            await _explain_unclaimed(session, ti, claims)
        _explain_not_startable(ti, claims, hostname, pid)
    dag_run = await session.get(DagRunRecord, ti.dag_run_id)
    version = await session.get(DagVersionRecord, ti.dag_version_id)
    assert dag_run is not None
    assert version is not None
    await session.commit()
    return StartedAttempt(
        task_instance=ti, dag_run=dag_run, task_description=_task_description(version, ti.task_id)
    )


def _task_description(version: DagVersionRecord, task_id: str) -> dict[str, Any]:
    for task in version.description.get("tasks", []):
        if isinstance(task, dict) and task.get("task_id") == task_id:
            return task
    return {}


_LIVE_WORKERS = (
    select(WorkerRecord.id)
    .join(CredentialRecord, CredentialRecord.id == WorkerRecord.credential_id)
    .where(CredentialRecord.revoked_at.is_(None))
)
"""Workers whose credential is not revoked: only their claims may be started."""


async def _explain_unclaimed(session: AsyncSession, ti: TaskInstanceRecord, claims: TaskClaims) -> None:
    """Why a queued attempt of the right try could not start: its claim was revoked, or is gone."""
    claimant = claims.worker_id if claims.worker_id is not None else ti.worker_id
    revoked = claimant is not None and await session.scalar(
        select(CredentialRecord.revoked_at)
        .join(WorkerRecord, WorkerRecord.credential_id == CredentialRecord.id)
        .where(WorkerRecord.id == claimant)
    )
    if revoked:
        raise UnauthorizedError(
            "the worker credential that claimed this workload has been revoked: do not run the task",
            reason="claim_revoked",
        )
    raise ConflictError(
        "this workload is no longer claimed by the worker its token was issued to (it went back to the "
        "queue, or another worker claimed it): do not run the task",
        reason="not_startable",
    )


def _explain_not_startable(ti: TaskInstanceRecord, claims: TaskClaims, hostname: str, pid: int) -> None:
    if ti.try_number != claims.try_number:
        raise ConflictError(
            f"this workload is for try {claims.try_number}, the task instance is at try {ti.try_number}",
            reason="stale_attempt",
        )
    if ti.state == TaskInstanceState.RUNNING:
        if ti.hostname == hostname and ti.pid == pid:
            return  # the same process asking again (its first answer was lost): replay
        raise ConflictError(
            f"the task instance is already running on {ti.hostname} (pid {ti.pid})", reason="already_running"
        )
    raise ConflictError(
        f"the task instance is {ti.state}, not queued; it cannot start", reason="not_startable"
    )


# On PostgreSQL the heartbeat goes straight to asyncpg as a prepared statement (cached per
# connection): SQLAlchemy's execution path costs a third of a heartbeat's server time. The test
# suite runs every heartbeat case on PostgreSQL, so this text cannot drift from _HEARTBEAT silently.
_PG_HEARTBEAT = (
    "UPDATE task_instances SET last_heartbeat_at = $1, updated_at = $1 "
    "WHERE id = $2 AND state = 'running' AND try_number = $3 AND hostname = $4 AND pid = $5"
)


async def _record_heartbeat(
    conn: AsyncConnection, task_instance_id: uuid.UUID, try_number: int, hostname: str, pid: int
) -> int:
    """Set the heartbeat time of the matching running attempt; the number of rows updated."""
    now = utcnow()
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        try:
            status: str = await raw.driver_connection.execute(  # type: ignore[union-attr]
                _PG_HEARTBEAT, now, task_instance_id, try_number, hostname, pid
            )
        except Exception as exc:
            if is_database_unavailable(exc):
                # Outside SQLAlchemy, so nobody else notices the connection died: drop it from the pool.
                await conn.invalidate(exc)
            raise
        return int(status.rsplit(" ", 1)[-1])
    result = await conn.execute(
        _HEARTBEAT,
        {"b_id": task_instance_id, "b_try": try_number, "b_host": hostname, "b_pid": pid, "b_now": now},
    )
    return result.rowcount


async def heartbeat(
    conn: AsyncConnection, claims: TaskClaims, task_instance_id: uuid.UUID, *, hostname: str, pid: int
) -> None:
    """Record that the running attempt is alive: one UPDATE, one round trip (``conn`` autocommits)."""
    require_scope(claims, "execution")
    require_subject(claims, task_instance_id)
    if await _record_heartbeat(conn, task_instance_id, claims.try_number, hostname, pid) == 1:
        return
    row = (
        await conn.execute(
            select(TI.state, TI.try_number, TI.hostname, TI.pid).where(TI.id == task_instance_id)
        )
    ).first()
    if row is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    if row.state != TaskInstanceState.RUNNING or row.try_number != claims.try_number:
        raise ConflictError(
            f"the attempt is over: the task instance is {row.state} at try {row.try_number}",
            reason="task_instance_not_running",
        )
    raise ConflictError(
        f"the task instance runs on {row.hostname} (pid {row.pid}), not on {hostname} (pid {pid})",
        reason="attempt_mismatch",
    )


async def finish_attempt(
    session: AsyncSession,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    *,
    state: TaskInstanceState,
    end_date: datetime,
) -> TaskInstanceRecord:
    """Move the running attempt to a terminal or retry state; the same call again changes nothing."""
    require_scope(claims, "execution")
    require_subject(claims, task_instance_id)
    ti = await session.get(TI, task_instance_id, populate_existing=True)
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    target = state
    if state == TaskInstanceState.UP_FOR_RETRY:
        # The retry budget is the server's to enforce: the last attempt fails instead.
        target = resolve_failure(ti.try_number, ti.max_tries)
    result = await session.execute(
        update(TI)
        .where(
            TI.id == task_instance_id,
            TI.state == TaskInstanceState.RUNNING,
            TI.try_number == claims.try_number,
        )
        .values(state=target, end_date=end_date)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    await session.refresh(ti)
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return ti
    if ti.try_number != claims.try_number:
        raise ConflictError(
            f"this token is for try {claims.try_number}, the task instance is at try {ti.try_number}",
            reason="stale_attempt",
        )
    if ti.state == target:
        return ti  # the same call repeated
    raise ConflictError(
        f"the task instance is {ti.state}; it cannot move to {state}", reason="illegal_state_transition"
    )


async def load_attempt(session: AsyncSession, claims: TaskClaims) -> Attempt:
    """The caller's attempt, if it is still running; a finished attempt's token is refused (401)."""
    require_scope(claims, "execution")
    row = (
        await session.execute(
            select(
                TI.id, TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.try_number, TI.state, TI.dag_run_id
            ).where(TI.id == claims.task_instance_id)
        )
    ).first()
    if row is None:
        raise UnauthorizedError("the token's task instance no longer exists", reason="task_attempt_finished")
    if row.state != TaskInstanceState.RUNNING or row.try_number != claims.try_number:
        raise UnauthorizedError(
            "the token's attempt is over; its token is no longer valid", reason="task_attempt_finished"
        )
    return Attempt(
        id=row.id,
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        try_number=row.try_number,
        dag_run_id=row.dag_run_id,
    )


async def load_attempt_for_logs(session: AsyncSession, claims: TaskClaims) -> tuple[Attempt, bool]:
    """The token's attempt for a log upload, and whether the lines come late.

    Unlike other task calls, log lines of an attempt the server already ended (a heartbeat or
    execution timeout, a control) are still taken — marked late — so the end of a stopped task's
    output is not lost. Only a task instance that no longer exists refuses them (401).
    """
    require_scope(claims, "execution")
    row = (
        await session.execute(
            select(
                TI.id, TI.dag_id, TI.run_id, TI.task_id, TI.map_index, TI.try_number, TI.state, TI.dag_run_id
            ).where(TI.id == claims.task_instance_id)
        )
    ).first()
    if row is None:
        raise UnauthorizedError("the token's task instance no longer exists", reason="task_attempt_finished")
    late = row.state != TaskInstanceState.RUNNING or row.try_number != claims.try_number
    attempt = Attempt(
        id=row.id,
        dag_id=row.dag_id,
        run_id=row.run_id,
        task_id=row.task_id,
        map_index=row.map_index,
        try_number=claims.try_number,
        dag_run_id=row.dag_run_id,
    )
    return attempt, late


async def previous_successful_run(session: AsyncSession, attempt: Attempt) -> dict[str, Any] | None:
    """The latest earlier DAG run in which this task succeeded."""
    current = await session.get(DagRunRecord, attempt.dag_run_id)
    assert current is not None
    row = (
        await session.execute(
            select(DagRunRecord.run_id, DagRunRecord.logical_date, TI.start_date, TI.end_date, TI.try_number)
            .join(TI, TI.dag_run_id == DagRunRecord.id)
            .where(
                TI.dag_id == attempt.dag_id,
                TI.task_id == attempt.task_id,
                TI.map_index == attempt.map_index,
                TI.state == TaskInstanceState.SUCCESS,
                DagRunRecord.id != attempt.dag_run_id,
                DagRunRecord.logical_date <= current.logical_date,
            )
            .order_by(DagRunRecord.logical_date.desc(), TI.end_date.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def task_state_counts(session: AsyncSession, attempt: Attempt) -> dict[str, int]:
    """How many task instances of the caller's DAG run are in each state."""
    rows = await session.execute(
        select(TI.state, func.count()).where(TI.dag_run_id == attempt.dag_run_id).group_by(TI.state)
    )
    return {str(state or "none"): int(count) for state, count in rows.all()}
