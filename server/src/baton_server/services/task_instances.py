"""Attempts of task instances as the task sees them: start, heartbeat, finish, and run-time facts.

Every function takes the verified claims of the caller's task token. A token acts only on its
own task instance (403 otherwise) and only on its own attempt: once the attempt is finished,
its token is refused, except to repeat the same ``state`` call, which is idempotent.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, Update, Uuid, bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from baton_server.db.availability import is_foreign_key_violation
from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import (
    CredentialRecord,
    DagRunRecord,
    TaskInstanceRecord,
    WorkerRecord,
    XComRecord,
)
from baton_server.db.types import UTCDateTime, utcnow
from baton_server.errors import ConflictError, ForbiddenError, NotFoundError, UnauthorizedError
from baton_server.services._sql import is_postgres
from baton_server.services.dags import task_description
from baton_server.services.states import TaskInstanceState, resolve_failure
from baton_server.services.tokens import TaskClaims, TokenScope

TI = TaskInstanceRecord
_TI_TABLE = cast(Table, TaskInstanceRecord.__table__)
_RUN_TABLE = cast(Table, DagRunRecord.__table__)
_XCOM_TABLE = cast(Table, XComRecord.__table__)
AnyRow = Any
"""A result row of any columns: SQLAlchemy's ``Row`` or a direct statement's (both read by name)."""

HEARTBEAT_FLOOR_LAG = 0.25
"""How far behind a running attempt's last heartbeat its indexed ``heartbeat_floor`` may fall, as a
share of the heartbeat timeout (at most :data:`HEARTBEAT_FLOOR_LAG_MAX`), before a heartbeat moves it
up: with the default timeout of 300 s and a heartbeat every 5 s, one heartbeat in thirteen changes an
indexed column; the others update the row in place."""
HEARTBEAT_FLOOR_LAG_MAX = 60.0
"""The most a floor may lag, in seconds, however long the timeout: a floor far behind makes the
scheduler look at attempts that are alive."""

# Built once: constructing a statement costs more than executing it on the hot path. The floor is
# written back unchanged unless it lags (PostgreSQL compares the indexed columns' values, so an
# unchanged one keeps the update in place) or is after this heartbeat: a replica whose clock runs ahead
# set it, and a floor after the last heartbeat would hide a stopped one from the scheduler by the skew.
_HEARTBEAT = Direct(
    _TI_TABLE.update()
    .where(
        _TI_TABLE.c.id == bindparam("b_id"),
        _TI_TABLE.c.state == TaskInstanceState.RUNNING.value,
        _TI_TABLE.c.try_number == bindparam("b_try"),
        _TI_TABLE.c.hostname == bindparam("b_host"),
        _TI_TABLE.c.pid == bindparam("b_pid"),
    )
    .values(
        last_heartbeat_at=bindparam("b_now"),
        heartbeat_floor=case(
            (
                or_(
                    _TI_TABLE.c.heartbeat_floor.is_(None),
                    _TI_TABLE.c.heartbeat_floor < bindparam("b_stale", type_=UTCDateTime()),
                    _TI_TABLE.c.heartbeat_floor > bindparam("b_now", type_=UTCDateTime()),
                ),
                bindparam("b_now"),
            ),
            else_=_TI_TABLE.c.heartbeat_floor,
        ),
    )
)


def heartbeat_floor_cutoff(now: datetime, heartbeat_timeout: float) -> datetime:
    """The time before which an attempt's heartbeat floor is moved up to ``now`` by its heartbeat."""
    return now - timedelta(seconds=min(heartbeat_timeout * HEARTBEAT_FLOOR_LAG, HEARTBEAT_FLOOR_LAG_MAX))


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
    """What ``run`` answers with: the task instance, its DAG run and the task's stored description."""

    task_instance: AnyRow
    """The columns of ``_STARTED``: id, dag_id, run_id, task_id, map_index, try_number, max_tries, ..."""
    dag_run: AnyRow
    """The columns of ``_RUN_INFO``."""
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
    conn: AsyncConnection,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    *,
    hostname: str,
    pid: int,
    unix_user: str,
    start_date: datetime,
) -> StartedAttempt:
    """Move a queued attempt to running; a repeat from the same process replays the answer.

    On PostgreSQL a start is one statement: the UPDATE ... RETURNING, and the run's facts read with
    it (on SQLite, a second statement, without a round trip); the task's description comes from a
    per-process cache of the (immutable) DAG version. Only a start that did not happen reads more,
    to explain itself. ``conn`` autocommits.
    """
    require_scope(claims, "workload")
    require_subject(claims, task_instance_id)
    named = claims.worker_id is not None
    with_run = is_postgres(conn)
    statement = (
        (_START_CLAIMED_WITH_RUN if named else _START_UNNAMED_WITH_RUN)
        if with_run
        else (_START_CLAIMED if named else _START_UNNAMED)
    )
    now = utcnow()
    started = await statement.first(
        conn,
        {
            "b_id": task_instance_id,
            "b_try": claims.try_number,
            "b_worker": claims.worker_id,
            "b_host": hostname,
            "b_pid": pid,
            "b_user": unix_user,
            "b_start": start_date,
            "b_now": now,
        },
    )
    fresh = started is not None
    if started is None:
        started = await _READ_STARTED.first(conn, {"b_id": task_instance_id})
        if started is None:
            raise NotFoundError(
                f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
            )
        if started.state == TaskInstanceState.QUEUED and started.try_number == claims.try_number:
            await _explain_unclaimed(conn, started, claims)
        _explain_not_startable(started, claims, hostname, pid)
    if fresh and with_run:
        dag_run: AnyRow = _RunFacts(*started[len(_STARTED) :])
    else:
        dag_run = await _RUN_INFO.first(conn, {"b_id": started.dag_run_id})
        assert dag_run is not None
    task = await task_description(conn, started.dag_version_id, started.task_id)
    timeout = task.get("execution_timeout")
    if fresh and isinstance(timeout, int | float):
        # The scheduler finds an overrun attempt by this indexed deadline, counted on the server's
        # clock from the start it recorded (a worker's reported start date may be skewed).
        deadline = now + timedelta(seconds=timeout)
        await _SET_TIMEOUT.rowcount(
            conn, {"b_id": task_instance_id, "b_try": claims.try_number, "b_at": deadline}
        )
    if fresh and started.try_number > 1:
        # A try starts without the XComs of the tries before it (as in Airflow): an earlier try's value
        # would otherwise pass for this one's, say a return value this try does not make.
        identity = {key: getattr(started, key) for key in ("dag_id", "run_id", "task_id", "map_index")}
        await _CLEAR_XCOMS.rowcount(conn, {f"b_{key}": value for key, value in identity.items()})
    return StartedAttempt(task_instance=started, dag_run=dag_run, task_description=task)


_LIVE_WORKERS = (
    select(WorkerRecord.id)
    .join(CredentialRecord, CredentialRecord.id == WorkerRecord.credential_id)
    .where(CredentialRecord.revoked_at.is_(None))
)
"""Workers whose credential is not revoked: only their claims may be started."""

_IDENTITY = (
    _TI_TABLE.c.id,
    _TI_TABLE.c.dag_id,
    _TI_TABLE.c.run_id,
    _TI_TABLE.c.task_id,
    _TI_TABLE.c.map_index,
    _TI_TABLE.c.try_number,
)
"""Which task instance and attempt a row is."""
_STARTED = (*_IDENTITY, _TI_TABLE.c.max_tries, _TI_TABLE.c.dag_version_id, _TI_TABLE.c.dag_run_id)
"""What ``run`` answers with of the task instance."""


def _start_statement(*, named_worker: bool) -> Update:
    """The UPDATE that starts a queued, claimed attempt, returning ``_STARTED``."""
    ti = _TI_TABLE.c
    live = ti.worker_id.in_(_LIVE_WORKERS.scalar_subquery())
    claim = (
        # Still claimed by the worker the token was issued to, whose credential is not revoked.
        (ti.worker_id == bindparam("b_worker", type_=Uuid())) & live
        if named_worker
        # A token from before workload tokens named their worker: any live claim, or none.
        else ti.worker_id.is_(None) | live
    )
    return (
        _TI_TABLE.update()
        .where(
            ti.id == bindparam("b_id"),
            ti.state == TaskInstanceState.QUEUED.value,
            ti.try_number == bindparam("b_try"),
            claim,
        )
        .values(
            state=TaskInstanceState.RUNNING.value,
            hostname=bindparam("b_host"),
            pid=bindparam("b_pid"),
            unix_user=bindparam("b_user"),
            start_date=bindparam("b_start"),
            end_date=None,
            last_heartbeat_at=bindparam("b_now"),
            heartbeat_floor=bindparam("b_now"),
            timeout_at=None,
        )
        .returning(*_STARTED)
    )


_RUN_FACTS = (
    _RUN_TABLE.c.id,
    _RUN_TABLE.c.dag_id,
    _RUN_TABLE.c.run_id,
    _RUN_TABLE.c.run_type,
    _RUN_TABLE.c.state,
    _RUN_TABLE.c.logical_date,
    _RUN_TABLE.c.data_interval_start,
    _RUN_TABLE.c.data_interval_end,
    _RUN_TABLE.c.start_date,
    _RUN_TABLE.c.conf,
)
"""The facts of a DAG run that ``run`` answers with (``DagRunInfo``)."""
_RunFacts = namedtuple("_RunFacts", [column.name for column in _RUN_FACTS])  # type: ignore[misc]


def _start_with_run(update: Update) -> Select[Any]:
    """PostgreSQL's start in one statement: the start's UPDATE in a CTE, its row with its run's facts
    (``_STARTED`` then ``_RUN_FACTS``; nothing when the attempt did not start)."""
    started = update.cte("started")
    return select(
        *(started.c[column.name] for column in _STARTED),
        *(column.label(f"run__{column.name}") for column in _RUN_FACTS),
    ).join_from(started, _RUN_TABLE, _RUN_TABLE.c.id == started.c.dag_run_id)


# Built once: constructing a statement costs more than executing it on the hot path.
_START_CLAIMED = Direct(_start_statement(named_worker=True))
_START_UNNAMED = Direct(_start_statement(named_worker=False))
_START_CLAIMED_WITH_RUN = Direct(_start_with_run(_start_statement(named_worker=True)))
_START_UNNAMED_WITH_RUN = Direct(_start_with_run(_start_statement(named_worker=False)))
_SET_TIMEOUT = Direct(
    _TI_TABLE.update()
    .where(_TI_TABLE.c.id == bindparam("b_id"), _TI_TABLE.c.try_number == bindparam("b_try"))
    .values(timeout_at=bindparam("b_at"))
)
_CLEAR_XCOMS = Direct(
    _XCOM_TABLE.delete().where(
        _XCOM_TABLE.c.dag_id == bindparam("b_dag_id"),
        _XCOM_TABLE.c.run_id == bindparam("b_run_id"),
        _XCOM_TABLE.c.task_id == bindparam("b_task_id"),
        _XCOM_TABLE.c.map_index == bindparam("b_map_index"),
    )
)
"""A task instance's XComs, by the leading columns of their unique index."""
_READ_STARTED = Direct(
    select(*_STARTED, _TI_TABLE.c.state, _TI_TABLE.c.hostname, _TI_TABLE.c.pid, _TI_TABLE.c.worker_id).where(
        _TI_TABLE.c.id == bindparam("b_id")
    )
)
_RUN_INFO = Direct(select(*_RUN_FACTS).where(_RUN_TABLE.c.id == bindparam("b_id")))


async def _explain_unclaimed(conn: AsyncConnection, ti: AnyRow, claims: TaskClaims) -> None:
    """Why a queued attempt of the right try could not start: its claim was revoked, or is gone."""
    claimant = claims.worker_id if claims.worker_id is not None else ti.worker_id
    revoked = claimant is not None and await conn.scalar(
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


def _explain_not_startable(ti: AnyRow, claims: TaskClaims, hostname: str, pid: int) -> None:
    if ti.try_number != claims.try_number:
        raise ConflictError(
            f"this workload is for try {claims.try_number}, the task instance is at try {ti.try_number}",
            reason="stale_attempt",
        )
    if claims.worker_id is not None and ti.worker_id != claims.worker_id:
        # Another worker's token (a claim it lost, a revoked credential's): the attempt is not its to
        # start, replay or even locate (the host and pid in a body are the caller's to say).
        raise ConflictError(
            "this workload is no longer claimed by the worker its token was issued to: do not run the task",
            reason="not_startable",
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


async def _record_heartbeat(
    conn: AsyncConnection,
    task_instance_id: uuid.UUID,
    try_number: int,
    hostname: str,
    pid: int,
    heartbeat_timeout: float,
) -> int:
    """Set the heartbeat time of the matching running attempt; the number of rows updated."""
    now = utcnow()
    stale = heartbeat_floor_cutoff(now, heartbeat_timeout)
    params = {"b_id": task_instance_id, "b_try": try_number, "b_host": hostname, "b_pid": pid}
    return await _HEARTBEAT.rowcount(conn, {**params, "b_now": now, "b_stale": stale})


async def heartbeat(
    conn: AsyncConnection,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    *,
    hostname: str,
    pid: int,
    heartbeat_timeout: float,
) -> None:
    """Record that the running attempt is alive: one UPDATE, one round trip (``conn`` autocommits).
    ``heartbeat_timeout`` (the server's setting) paces the moves of the attempt's indexed floor."""
    require_scope(claims, "execution")
    require_subject(claims, task_instance_id)
    recorded = await _record_heartbeat(
        conn, task_instance_id, claims.try_number, hostname, pid, heartbeat_timeout
    )
    if recorded == 1:
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
    conn: AsyncConnection,
    claims: TaskClaims,
    task_instance_id: uuid.UUID,
    *,
    state: TaskInstanceState,
    end_date: datetime,
) -> AnyRow:
    """Move the running attempt to a terminal or retry state; the same call again changes nothing.

    The answer is a row of ``_FINISHED``: one UPDATE ... RETURNING when the attempt was running;
    only a call that changed nothing reads the task instance, to explain itself. ``conn`` autocommits.
    """
    require_scope(claims, "execution")
    require_subject(claims, task_instance_id)
    # The retry budget is the server's to enforce: the last attempt fails instead.
    statement = _FINISH_FOR_RETRY if state == TaskInstanceState.UP_FOR_RETRY else _FINISH
    params = {"b_id": task_instance_id, "b_try": claims.try_number, "b_state": state.value, "b_end": end_date}
    finished = await statement.first(conn, params)
    if finished is not None:
        return finished
    ti = await _READ_FINISHED.first(conn, {"b_id": task_instance_id})
    if ti is None:
        raise NotFoundError(
            f"task instance {task_instance_id} does not exist", reason="task_instance_not_found"
        )
    if ti.try_number != claims.try_number:
        raise ConflictError(
            f"this token is for try {claims.try_number}, the task instance is at try {ti.try_number}",
            reason="stale_attempt",
        )
    target = (
        resolve_failure(ti.try_number, ti.max_tries) if state == TaskInstanceState.UP_FOR_RETRY else state
    )
    if ti.state == target:
        return ti  # the same call repeated
    raise ConflictError(
        f"the task instance is {ti.state}; it cannot move to {state}", reason="illegal_state_transition"
    )


_FINISHED = (
    _TI_TABLE.c.state,
    _TI_TABLE.c.try_number,
    _TI_TABLE.c.dag_run_id,
    _TI_TABLE.c.dag_version_id,
    _TI_TABLE.c.task_id,
)
"""What a finished attempt answers with (``TIStateResponse``) and what advances its run."""


def _finish_statement(target: ColumnElement[str]) -> Update:
    """The UPDATE that ends the running attempt of the token's try, returning ``_FINISHED``."""
    ti = _TI_TABLE.c
    return (
        _TI_TABLE.update()
        .where(
            ti.id == bindparam("b_id"),
            ti.state == TaskInstanceState.RUNNING.value,
            ti.try_number == bindparam("b_try"),
        )
        .values(state=target, end_date=bindparam("b_end"))
        .returning(*_FINISHED)
    )


_FINISH = Direct(_finish_statement(bindparam("b_state", type_=_TI_TABLE.c.state.type)))
_FINISH_FOR_RETRY = Direct(
    _finish_statement(
        # resolve_failure in SQL: up_for_retry while attempts remain, failed after the last.
        case(
            (_TI_TABLE.c.try_number < _TI_TABLE.c.max_tries, TaskInstanceState.UP_FOR_RETRY.value),
            else_=TaskInstanceState.FAILED.value,
        )
    )
)
_READ_FINISHED = Direct(select(*_FINISHED, _TI_TABLE.c.max_tries).where(_TI_TABLE.c.id == bindparam("b_id")))


_ATTEMPT = Direct(
    select(*_IDENTITY, _TI_TABLE.c.state, _TI_TABLE.c.dag_run_id).where(_TI_TABLE.c.id == bindparam("b_id"))
)
"""The token's task instance, as an attempt sees it."""


def _gone() -> UnauthorizedError:
    return UnauthorizedError("the token's task instance no longer exists", reason="task_attempt_finished")


@contextmanager
def refused_once_gone() -> Iterator[None]:
    """Around a write that refers to the token's task instance (an XCom, log lines): when the instance
    is deleted (its DAG or run deleted, its run cleaned) between the statement's check and its write,
    the database refuses the reference; that is the end of the attempt, answered as a missing instance
    is (401 ``task_attempt_finished``), not a failure of the server."""
    try:
        yield
    except Exception as exc:
        if is_foreign_key_violation(exc):
            raise _gone() from None
        raise


async def _read_attempt(reader: Reader, claims: TaskClaims) -> AnyRow | None:
    return await _ATTEMPT.first(await connection_of(reader), {"b_id": claims.task_instance_id})


async def load_attempt(reader: Reader, claims: TaskClaims) -> Attempt:
    """The caller's attempt, if it is still running; a finished attempt's token is refused (401)."""
    require_scope(claims, "execution")
    row = await _read_attempt(reader, claims)
    if row is None:
        raise _gone()
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


RUNNING_ATTEMPT: ColumnElement[bool] = (
    (_TI_TABLE.c.id == bindparam("a_id"))
    & (_TI_TABLE.c.state == TaskInstanceState.RUNNING.value)
    & (_TI_TABLE.c.try_number == bindparam("a_try"))
)
"""Holds for the token's task instance while the token's attempt runs: the attempt check a request's
own statement carries (its parameters: :meth:`AttemptCheck.params`)."""


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class AttemptCheck:
    """The caller's attempt, checked by the statement of the request's own work — one round trip
    instead of a read of the attempt before it (see :data:`RUNNING_ATTEMPT`).

    A statement that finds nothing cannot tell a finished attempt from a missing row or a refusal;
    the request then takes the general path, :meth:`load` and the same service call an
    :class:`Attempt` takes, so every answer but a success is the one it was.
    """

    claims: TaskClaims
    on_running: Callable[[], None] = _nothing
    """Called once the attempt is known to run (the API then refreshes a token due for it)."""

    def params(self) -> dict[str, Any]:
        """The parameters of :data:`RUNNING_ATTEMPT`; 403 unless the token is an execution token."""
        require_scope(self.claims, "execution")
        return {"a_id": self.claims.task_instance_id, "a_try": self.claims.try_number}

    def running(self) -> None:
        """The request's statement found the attempt running."""
        self.on_running()

    async def load(self, reader: Reader) -> Attempt:
        """The caller's attempt read on its own, as :func:`load_attempt` (401 once it is over)."""
        attempt = await load_attempt(reader, self.claims)
        self.on_running()
        return attempt


async def load_attempt_for_logs(conn: AsyncConnection, claims: TaskClaims) -> tuple[Attempt, bool]:
    """The token's attempt for a log upload, and whether the lines come late.

    Unlike other task calls, log lines of an attempt the server already ended (a heartbeat or
    execution timeout, a control) are still taken — marked late — so the end of a stopped task's
    output is not lost. Only a task instance that no longer exists refuses them (401).
    """
    require_scope(claims, "execution")
    row = await _ATTEMPT.first(conn, {"b_id": claims.task_instance_id})
    if row is None:
        raise _gone()
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


async def previous_successful_run(reader: Reader, attempt: Attempt) -> dict[str, Any] | None:
    """The latest earlier DAG run in which this task succeeded."""
    # The current run's date in the same statement (its own FROM, not correlated to the outer runs).
    current_date = (
        select(DagRunRecord.logical_date)
        .where(DagRunRecord.id == attempt.dag_run_id)
        .correlate(None)
        .scalar_subquery()
    )
    conn = await connection_of(reader)
    row = (
        await conn.execute(
            select(DagRunRecord.run_id, DagRunRecord.logical_date, TI.start_date, TI.end_date, TI.try_number)
            .join(TI, TI.dag_run_id == DagRunRecord.id)
            .where(
                TI.dag_id == attempt.dag_id,
                TI.task_id == attempt.task_id,
                TI.map_index == attempt.map_index,
                TI.state == TaskInstanceState.SUCCESS,
                DagRunRecord.id != attempt.dag_run_id,
                DagRunRecord.logical_date <= current_date,
            )
            .order_by(DagRunRecord.logical_date.desc(), TI.end_date.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else dict(row._mapping)


async def task_state_counts(reader: Reader, attempt: Attempt) -> dict[str, int]:
    """How many task instances of the caller's DAG run are in each state."""
    conn = await connection_of(reader)
    rows = await conn.execute(
        select(TI.state, func.count()).where(TI.dag_run_id == attempt.dag_run_id).group_by(TI.state)
    )
    return {str(state or "none"): int(count) for state, count in rows.all()}
