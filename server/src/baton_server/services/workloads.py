"""The workload queue: workers claim queued task instances, each one by exactly one worker.

A claim is one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) AND state = 'queued' AND worker_id
IS NULL RETURNING ...``, the select reading the claimable index in claim order (of several queues, each
queue's first, then the first of those). On PostgreSQL the select is a materialized CTE that takes its
rows ``FOR UPDATE SKIP LOCKED``, so concurrent claimers (on any replica) pass each other instead of
queueing behind the same rows, and the UPDATE takes them by key (``id = ANY(ARRAY(...))``); where no pool
or DAG limits anything its ``LIMIT`` counts the worker's free slots itself. On SQLite the statement runs
under the database's single write lock. Either way a row is handed to the one transaction whose UPDATE
changed it. Where a pool's slots or a DAG's ``max_active_tasks`` limit anything, the claim's look also
says whether any of them is full, and only then are the full ones read, from what is taken (the partial
indexes of the task instances that take a slot, migration 0011: the read follows the work, not how many
pools and DAGs are limited); then the candidates with their pools' and DAGs' limits, passing over the
full ones (on PostgreSQL locked as they are read, skipping those another claim holds, likewise); those
of no limited pool or DAG are taken in one UPDATE, the others under their pools' and DAGs' row locks
(one by a conditional UPDATE, several by counting what is taken of their pools and DAGs and taking
those that fit in one UPDATE).
Each is a statement built once and, on PostgreSQL, prepared on the driver; only the read of the
candidates while some pool or DAG is full is built for the full ones, which it names as literals.

A worker's heartbeat is the same sign of life a claim gives, by its credential's token in one statement
(:func:`heartbeat_worker_by_token`).

A claim that finds nothing commits first, so that no pooled connection is held while it waits, and
asks again when its process's claim watch (:mod:`baton_server.claim_watch`) sees work in its queues
or a wake-up says some was queued, up to its deadline.
"""

from __future__ import annotations

import functools
import logging
import operator
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Table,
    Update,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import BindParameter

from baton_server.claim_watch import ClaimWatch, any_in_claim_order
from baton_server.db.direct import Direct
from baton_server.db.engine import Reader, connection_of
from baton_server.db.tables import (
    CLAIMABLE,
    CredentialRecord,
    DagRecord,
    PoolRecord,
    TaskInstanceRecord,
    WorkerRecord,
)
from baton_server.db.types import utcnow
from baton_server.errors import InvalidInputError
from baton_server.services._sql import is_postgres, rowcount
from baton_server.services.credentials import hash_token, live_credential_id
from baton_server.services.dag_specs import TaskSpec
from baton_server.services.dags import load_version_or_none
from baton_server.services.ownership import servable
from baton_server.services.pools import slots_taken, taken_by_name, taking_a_slot
from baton_server.services.states import TaskInstanceState
from baton_server.services.tokens import TokenService
from baton_server.services.workers import (
    ACTIVE_TI_STATES,
    WorkerState,
    owned_worker,
    require_runtime_known_to_client,
)

log = logging.getLogger("baton_server.workloads")

CLIENT_CHECK_INTERVAL = 2.0
"""Seconds between two checks, while a claim waits, that its client is still there."""


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What a worker asks for: how many workloads, from which of its queues, how long to wait."""

    worker_id: uuid.UUID
    max_workloads: int
    wait_seconds: float
    queues: list[str] | None = None
    held: list[uuid.UUID] | None = None
    """What the worker holds; its other claimed, unstarted workloads are released first (None: none is)."""
    client_runtimes: str | None = None
    """The runtimes the client's API version can express (None: every one); a worker of another is
    refused (409) before anything is claimed."""


@dataclass(frozen=True, slots=True)
class Workload:
    """A claimed attempt of a task instance, with what the worker needs to start it."""

    task_instance: Any
    """The columns of ``_CLAIMED``."""
    task: TaskSpec
    bundle_name: str | None
    token: str


async def _rows(reader: Reader, statement: Direct | Executable, params: dict[str, Any]) -> list[Any]:
    """Run a claim's statement on the connection: a session's (inside its transaction, through
    SQLAlchemy Core: ``session.execute`` would pay the ORM's compile and cache-key work for it), or a
    bare one, where a :class:`Direct` statement may run on the driver. Its rows (by column name)."""
    conn = await connection_of(reader)
    if isinstance(statement, Direct):
        return await statement.all(conn, params)
    return list((await conn.execute(statement, params)).all())


async def _first(reader: Reader, statement: Direct | Executable, params: dict[str, Any]) -> Any | None:
    """The first row of a claim's statement (:func:`_rows`), or None."""
    rows = await _rows(reader, statement, params)
    return rows[0] if rows else None


async def claim_workloads(
    session: AsyncSession,
    tokens: TokenService,
    credential: CredentialRecord,
    request: ClaimRequest,
    *,
    max_wait: float,
    client_gone: Callable[[], Awaitable[bool]] | None = None,
    watch: ClaimWatch,
) -> list[Workload]:
    """Claim up to ``max_workloads`` workloads, waiting up to ``min(wait_seconds, max_wait)`` for some.

    While it waits it looks again when the process's ``watch`` sees work in its queues or a wake-up
    says that task instances were queued.
    """
    # A claim is a sign of life; recorded once per request, not on every look at the queue. The
    # same UPDATE checks that the worker is the credential's.
    worker = await _first(
        session, _WORKER_ALIVE, {"b_id": request.worker_id, "b_credential": credential.id, "b_now": utcnow()}
    )
    if worker is None:
        await owned_worker(session, credential, request.worker_id)  # says why: 404 or 403
        raise AssertionError("unreachable: the worker is the credential's")
    return await _claim_for(
        session,
        tokens,
        worker,
        credential.dag_patterns,
        request,
        max_wait=max_wait,
        client_gone=client_gone,
        watch=watch,
    )


async def claim_workloads_by_token(
    reader: Reader, tokens: TokenService, token: str, request: ClaimRequest
) -> list[Workload] | None:
    """One look at the queue for a worker whose credential's bearer token is ``token``, the check of
    the credential folded into the worker's sign of life (a statement fewer than :func:`claim_workloads`
    after ``authenticate``). None when no live worker credential of that token owns the worker: the
    caller's route then says why (401, 403 or 404). In a :func:`~baton_server.db.direct.transaction`
    on PostgreSQL, its statements run on the driver."""
    worker = await _first(
        reader,
        _WORKER_ALIVE_BY_TOKEN,
        {"b_id": request.worker_id, "b_hash": hash_token(token), "b_now": utcnow()},
    )
    if worker is None:
        return None
    return await _claim_for(reader, tokens, worker, worker.dag_patterns, request, max_wait=0)


async def heartbeat_worker_by_token(
    conn: AsyncConnection, token: str, worker_id: uuid.UUID, client_runtimes: str | None = None
) -> Any | None:
    """Record the sign of life of a worker whose live worker credential's bearer token is ``token``, the
    check of the credential in the same statement (one statement, where ``authenticate``, the worker's
    read and its update were three): its row, with the columns of ``Worker``. With ``client_runtimes``
    (the runtimes the client's version can express, comma-separated, as the route takes them) only a
    worker of one of them. None when nothing was recorded — no live worker credential of that token owns
    the worker, its runtime is not one of those, or they are more than the statement checks: the caller's
    route then says why (401, 403, 404 or 409), or records it."""
    params: dict[str, Any] = {"b_id": worker_id, "b_hash": hash_token(token), "b_now": utcnow()}
    if client_runtimes is None:
        return await _WORKER_HEARTBEAT_BY_TOKEN.first(conn, params)
    runtimes = client_runtimes.split(",")
    if len(runtimes) > RUNTIME_SLOTS:
        return None
    runtimes += runtimes[-1:] * (RUNTIME_SLOTS - len(runtimes))
    params.update({f"b_runtime_{slot}": runtime for slot, runtime in enumerate(runtimes)})
    return await _WORKER_HEARTBEAT_OF_RUNTIMES.first(conn, params)


async def _claim_for(
    reader: Reader,
    tokens: TokenService,
    worker: Any,
    dag_patterns: list[str] | None,
    request: ClaimRequest,
    *,
    max_wait: float,
    client_gone: Callable[[], Awaitable[bool]] | None = None,
    watch: ClaimWatch | None = None,
) -> list[Workload]:
    """The claim of a worker that just gave its sign of life (``worker``: ``_WORKER_ALIVE``'s row);
    without a ``watch`` it does not wait."""
    deadline = time.monotonic() + max(0.0, min(request.wait_seconds, max_wait))
    require_runtime_known_to_client(worker.name, worker.runtime, request.client_runtimes)
    queues = _served_queues(worker, request.queues)
    if request.held is not None:
        await release_unheld(reader, worker.id, request.held)
    # The first look at the queue shares the transaction of the heartbeat and the release.
    while True:
        keys = [(queue, worker.runtime) for queue in queues]
        ticket = watch.ticket() if watch is not None else None
        workloads = await _claim_once(reader, tokens, worker, queues, request.max_workloads, dag_patterns)
        await reader.commit()
        if workloads or watch is None:
            return workloads
        # Wait, in slices (a client that left ends it), until the watch sees work for this worker.
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or watch.ending:  # a stopping server answers at once: nothing
                return []
            woken = await watch.wait(keys, ticket, min(CLIENT_CHECK_INTERVAL, remaining))
            if watch.ending or (client_gone is not None and await client_gone()):
                return []
            if woken:
                break
        # Under the worker's row lock again, as the first look: two claims of one worker woken
        # together count one after the other, and the second sees the first's workloads. The worker
        # is read again: while the claim waited its credential may have been revoked (or its name
        # taken over under a new id), it may have registered again with other queues or capacity,
        # and a pool or DAG may have come to limit what is claimed.
        worker = await _first(reader, _WORKER_LOOKS_AGAIN, {"b_id": worker.id, "b_now": utcnow()})
        if worker is None:
            await reader.commit()
            return []
        # Registered again meanwhile: the queues asked for that it still serves.
        queues = [queue for queue in request.queues or worker.queues if queue in worker.queues]


_WORKERS = cast(Table, WorkerRecord.__table__)
_TI = cast(Table, TaskInstanceRecord.__table__)
_CREDENTIALS = cast(Table, CredentialRecord.__table__)
_LIMITED = or_(
    exists(select(PoolRecord.name).where(PoolRecord.slots.is_not(None))),
    exists(select(DagRecord.dag_id).where(DagRecord.max_active_tasks.is_not(None))),
)
"""Whether any pool or DAG limits what is claimed (a claim then counts slots per candidate)."""
_ALIVE = _WORKERS.update().values(last_heartbeat_at=bindparam("b_now"), state=WorkerState.ACTIVE.value)
_ALIVE_ROW = (_WORKERS.c.id, _WORKERS.c.name, _WORKERS.c.queues, _WORKERS.c.capacity, _WORKERS.c.runtime)
_WORKER_ALIVE = Direct(
    _ALIVE.where(
        _WORKERS.c.id == bindparam("b_id"), _WORKERS.c.credential_id == bindparam("b_credential")
    ).returning(*_ALIVE_ROW, _LIMITED.label("limited"))
)
"""Record a claiming worker's sign of life, if it is the credential's; what a claim needs of it."""
_ALIVE_BY_TOKEN = _ALIVE.where(
    _WORKERS.c.id == bindparam("b_id"), _WORKERS.c.credential_id == live_credential_id("worker")
)
"""A worker's sign of life, for the live worker credential of a token's hash (a claim's, a heartbeat's)."""
_WORKER_ALIVE_BY_TOKEN = Direct(
    _ALIVE_BY_TOKEN.returning(
        *_ALIVE_ROW,
        _LIMITED.label("limited"),
        # Subqueries, not UPDATE ... FROM: SQLite's RETURNING names only the updated table's columns.
        select(_CREDENTIALS.c.dag_patterns)
        .where(_CREDENTIALS.c.id == _WORKERS.c.credential_id)
        .scalar_subquery()
        .label("dag_patterns"),
    )
)
"""A claiming worker's sign of life by its credential's token: what a claim needs of it, its DAG patterns
too."""
_WORKER_ROW = (
    *_ALIVE_ROW,
    _WORKERS.c.hostname,
    _WORKERS.c.state,
    _WORKERS.c.registered_at,
    _WORKERS.c.last_heartbeat_at,
)
"""What a claim reads of its worker, and the rest of the worker's wire form (``worker_model``)."""
_WORKER_HEARTBEAT_BY_TOKEN = Direct(_ALIVE_BY_TOKEN.returning(*_WORKER_ROW))
"""A worker's heartbeat: its sign of life by its credential's token; the worker."""
RUNTIME_SLOTS = 4
"""The most runtimes a client's version may name for :data:`_WORKER_HEARTBEAT_OF_RUNTIMES` to check."""
_WORKER_HEARTBEAT_OF_RUNTIMES = Direct(
    _ALIVE_BY_TOKEN.where(
        _WORKERS.c.runtime.in_([bindparam(f"b_runtime_{slot}") for slot in range(RUNTIME_SLOTS)])
    ).returning(*_WORKER_ROW)
)
"""The same, only for a worker of one of the runtimes the client's version can express."""
_WORKER_LOOKS_AGAIN = Direct(
    _ALIVE.where(
        _WORKERS.c.id == bindparam("b_id"),
        exists(
            select(_CREDENTIALS.c.id).where(
                _CREDENTIALS.c.id == _WORKERS.c.credential_id, _CREDENTIALS.c.revoked_at.is_(None)
            )
        ),
    ).returning(*_ALIVE_ROW, _LIMITED.label("limited"))
)
"""A waiting claim's sign of life before it looks again: its worker's row locked until it commits, and
what the claim needs of it now; none once its credential was revoked (or its name taken over)."""
_CLAIMED = (
    _TI.c.id,
    _TI.c.dag_id,
    _TI.c.run_id,
    _TI.c.task_id,
    _TI.c.map_index,
    _TI.c.try_number,
    _TI.c.max_tries,
    _TI.c.dag_version_id,
    _TI.c.queue,
    _TI.c.queued_at,
)
"""What a claim hands out of each task instance it took."""
_ACTIVE = functools.reduce(
    operator.add,
    (
        # A count per state, each an equality on both of the index's columns: with ``state IN`` the
        # planner reads every row the worker ever held and filters them by state.
        select(func.count())
        .select_from(_TI)
        .where(_TI.c.worker_id == bindparam("b_worker"), _TI.c.state == literal(state))
        .scalar_subquery()
        for state in ACTIVE_TI_STATES
    ),
)
"""How many task instances the worker ``b_worker`` holds a slot for."""


_FREE_SLOTS = func.greatest(func.least(bindparam("b_max"), bindparam("b_capacity") - _ACTIVE), 0)
"""How many a claim of at most ``b_max`` may take: the free slots of the worker ``b_worker`` (of
``b_capacity``), counted by the claim's own statement, so under the worker's row lock."""


_CLAIMABLE_OF_RUNTIME = (
    # The partial index's own predicate, written out rather than bound: a prepared statement's generic
    # plan can then still use the index (migration 0010).
    cast(ColumnElement[bool], text(CLAIMABLE)),
    _TI.c.runtime == bindparam("b_runtime"),
)


def _claimable(queues: int) -> list[ColumnElement[bool]]:
    """What a worker may claim, of any DAG: queued, held by no worker, in one of its ``queues`` queues
    (bound one by one as ``b_queue_0``..., as an expanding IN would render them, so that the statement
    is built and prepared once per count, and runs on the driver), of its runtime."""
    return [*_CLAIMABLE_OF_RUNTIME, _TI.c.queue.in_([bindparam(f"b_queue_{i}") for i in range(queues)])]


def _look(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    """One look at the queue: the worker's active attempts, whether any is claimable, whether anything
    is limited, and whether any limited pool or DAG is full (:data:`_FULL`, read only then)."""
    return select(
        _ACTIVE, any_in_claim_order(*conditions), _LIMITED, and_(_LIMITED, exists(_FULL_NOW.select()))
    )


def _candidates(
    queues: int,
    more: Sequence[ColumnElement[bool]] = (),
    columns: Sequence[ColumnElement[Any]] = (_TI.c.id,),
    *,
    lock: bool = False,
    limit: ColumnElement[int] | None = None,
) -> Select[Any]:
    """``columns`` (``id`` among them) of the claimable task instances of ``queues`` queues that meet
    ``more``, in claim order, up to ``b_limit``; with ``lock`` (PostgreSQL) taken ``FOR UPDATE SKIP
    LOCKED``. Of several queues, the first of each queue, then the first of those: across an ``IN`` of
    queues the claimable index cannot be read in claim order, and the database sorted every claimable
    row of those queues on every claim instead. ``limit``: how many, instead of ``b_limit``."""
    order = (_TI.c.queued_at, _TI.c.id)
    most = bindparam("b_limit") if limit is None else limit

    def first_of(queue: int, *extra: ColumnElement[Any]) -> Select[Any]:
        chosen = (
            select(*columns, *extra)
            .where(*_CLAIMABLE_OF_RUNTIME, _TI.c.queue == bindparam(f"b_queue_{queue}"), *more)
            .order_by(*order)
            .limit(most)
        )
        return chosen.with_for_update(skip_locked=True) if lock else chosen

    if queues == 1:
        return first_of(0)
    queued_at = _TI.c.queued_at.label("claim_queued_at")
    firsts = union_all(
        *(select(*branch.c) for branch in (first_of(q, queued_at).subquery() for q in range(queues)))
    ).subquery("firsts")
    return (
        select(*(firsts.c[str(column.key)] for column in columns))
        .order_by(firsts.c.claim_queued_at, firsts.c.id)
        .limit(most)
    )


@dataclass(frozen=True, slots=True)
class _ClaimStatements:
    """The statements of a claim from some count of queues, of every DAG or of the DAGs a worker
    credential's patterns cover."""

    more: tuple[ColumnElement[bool], ...]
    """What a task instance must meet beyond being claimable from the queues: of a DAG in scope."""
    look: Direct
    claim: dict[bool, Direct]
    """On SQLite (False) and PostgreSQL."""
    claim_in_free_slots: Direct
    """On PostgreSQL, where nothing is limited: the look folded into the claim (:data:`_FREE_SLOTS`)."""
    candidates_within_limits: dict[bool, Direct]
    """Where a pool or DAG is limited and none is full, on SQLite (False) and PostgreSQL:
    :func:`_candidates_within_limits`."""


@functools.lru_cache(maxsize=1024)  # by count of queues (at most 100, ``RegisterWorker``) and DAG scope
def _statements(queues: int, scope: str | None = None) -> _ClaimStatements:
    """The statements of a claim from ``queues`` queues, of the DAGs that ``scope`` covers (SQL of the
    database's dialect, :func:`_scope`; None: every DAG): built once."""
    # In parentheses: the patterns' ORs must not bind with the statement's other conditions.
    more = () if scope is None else (cast(ColumnElement[bool], literal_column(f"({scope})", Boolean)),)
    return _ClaimStatements(
        more,
        Direct(_look([*_claimable(queues), *more])),
        {pg: Direct(_claim_statement(queues, more, postgres=pg)) for pg in (False, True)},
        Direct(_claim_statement(queues, more, postgres=True, limit=_FREE_SLOTS)),
        {pg: Direct(_candidates_within_limits(queues, more, postgres=pg)) for pg in (False, True)},
    )


@functools.lru_cache(maxsize=1024)
def _scope(patterns: tuple[str, ...] | None, dialect: Dialect) -> str | None:
    """The condition on a task instance's DAG that a worker credential's ``patterns`` make (None: every
    DAG), as SQL of ``dialect`` with the patterns written as literals: a claim's statements are then
    built and prepared once per credential's patterns, and the database plans with what it knows of
    them (as parameters, a generic plan would guess how many rows a ``LIKE`` matches)."""
    postgres = dialect.name == "postgresql"
    condition = servable(
        TaskInstanceRecord.dag_id, None if patterns is None else list(patterns), postgres=postgres
    )
    if condition is None:
        return None
    return str(condition.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


async def release_unheld(reader: Reader, worker_id: uuid.UUID, held: list[uuid.UUID]) -> int:
    """Put back in the queue the claimed, unstarted workloads of a worker that says it does not hold them,
    and free the slots of its attempts an operator stopped that it no longer holds (their process is over).

    The server committed those claims but the worker never got the answer: without this they would
    wait out the claim timeout. A stopped attempt would hold its slot until its heartbeat deadline. One
    statement for both (a claim's round trip): a queued row is never stopping.
    """
    ti = TaskInstanceRecord
    unclaimed = ti.state == TaskInstanceState.QUEUED.value
    unheld = [ti.id.not_in(held)] if held else []
    result = await reader.execute(
        update(ti)
        .where(ti.worker_id == worker_id, or_(unclaimed, ti.stopping_at.is_not(None)), *unheld)
        .values(
            worker_id=case((unclaimed, None), else_=ti.worker_id),
            claimed_at=case((unclaimed, None), else_=ti.claimed_at),
            stopping_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    released = rowcount(result)
    if released:
        log.info(
            "worker %s: %d workload(s) it does not hold went back to the queue or freed their slots",
            worker_id,
            released,
        )
    return released


def _served_queues(worker: Any, requested: list[str] | None) -> list[str]:
    if requested is None:
        return list(worker.queues)
    unknown = sorted(set(requested) - set(worker.queues))
    if unknown:
        raise InvalidInputError(
            f"worker {worker.name!r} does not serve the queue(s) {', '.join(unknown)}; "
            f"it registered {', '.join(worker.queues)}",
            reason="queue_not_served",
        )
    return requested


async def _claim_once(
    reader: Reader,
    tokens: TokenService,
    worker: Any,
    queues: list[str],
    max_workloads: int,
    dag_patterns: list[str] | None,
) -> list[Workload]:
    if max_workloads <= 0 or not queues:
        return []
    params: dict[str, Any] = {"b_worker": worker.id, "b_runtime": worker.runtime}
    params.update((f"b_queue_{i}", queue) for i, queue in enumerate(queues))
    postgres = is_postgres(reader)
    conn = await connection_of(reader)
    # Only the workloads of DAGs the worker's credential may serve.
    scope = _scope(None if dag_patterns is None else tuple(dag_patterns), conn.dialect)
    statements = _statements(len(queues), scope)
    now = utcnow()
    if postgres and not worker.limited:
        # The look folded into the claim: the worker's free slots counted in its LIMIT. A round trip
        # fewer; with nothing to take the claim reads the index and locks nothing.
        params.update(b_max=max_workloads, b_capacity=worker.capacity, b_claimer=worker.id, b_now=now)
        claimed = await _rows(reader, statements.claim_in_free_slots, params)
        return await _handed_out(reader, tokens, worker, claimed, now)
    # One look answers four questions: the worker's free slots, whether anything is there to take (if
    # not, the write, and on SQLite its lock, is left alone), whether any pool or DAG limits, and whether
    # any of those is full (only then are the full ones read, to be passed over).
    look = await _first(reader, statements.look, params)
    assert look is not None, "an aggregate answers a row"
    limit = min(max_workloads, worker.capacity - int(look[0] or 0))
    if limit <= 0 or not look[1]:
        return []
    params["b_limit"] = limit
    if not look[2]:
        params.update(b_claimer=worker.id, b_now=now)
        claimed = await _rows(reader, statements.claim[postgres], params)
    else:
        full = await _Full.load(reader) if look[3] else _Full([], [])
        candidates = (
            statements.candidates_within_limits[postgres]
            if not full.pools and not full.dags
            else _candidates_within_limits(len(queues), statements.more, full, postgres=postgres)
        )
        claimed = await _claim_within_limits(reader, candidates, params, worker.id, now, postgres=postgres)
    return await _handed_out(reader, tokens, worker, claimed, now)


async def _handed_out(
    reader: Reader, tokens: TokenService, worker: Any, claimed: list[Any], now: datetime
) -> list[Workload]:
    """The workloads of the task instances a claim took, in claim order, each with its workload token;
    one whose DAG version or task is gone fails, as no worker could run it."""
    ti = TaskInstanceRecord
    workloads: list[Workload] = []
    unrunnable: list[uuid.UUID] = []
    for record in sorted(claimed, key=lambda r: (r.queued_at or now, r.id)):
        version = await load_version_or_none(reader, record.dag_version_id)
        task = version.spec.task(record.task_id) if version else None
        if version is None or task is None:
            unrunnable.append(record.id)
            continue
        token = tokens.issue(record.id, record.try_number, "workload", worker_id=worker.id)
        workloads.append(Workload(record, task, version.bundle_name, token))
    if unrunnable:
        # No worker could start these; failing them shows the operator, where handing them out again
        # would block the queue.
        await reader.execute(
            update(ti)
            .where(ti.id.in_(unrunnable), ti.state == TaskInstanceState.QUEUED.value)
            .values(state=TaskInstanceState.FAILED.value, end_date=now)
        )
    return workloads


def _claim_statement(
    queues: int,
    more: Sequence[ColumnElement[bool]] = (),
    *,
    postgres: bool,
    limit: ColumnElement[int] | None = None,
) -> Update:
    """Give the claimable task instances of :func:`_candidates` (on PostgreSQL locked as they are taken)
    to the worker ``b_claimer`` at ``b_now``; the rows it took."""
    candidates = _candidates(queues, more, lock=postgres, limit=limit)
    if postgres:
        # MATERIALIZED: evaluated once. Inlined as an IN subquery, PostgreSQL may rescan it and, with
        # SKIP LOCKED, pick more rows than the LIMIT.
        picked = candidates.cte("picked").prefix_with("MATERIALIZED")
        # ``id = ANY(ARRAY(...))``, not ``id IN (...)``: a prepared statement's generic plan then
        # takes the rows by their key. With IN it guessed hundreds of candidates and joined them to
        # the whole table by a hash, so PostgreSQL planned the claim anew on every execution.
        taken = _TI.c.id == any_(func.array(select(picked.c.id).scalar_subquery()))
    else:
        taken = _TI.c.id.in_(candidates.scalar_subquery())
    return _given(taken)


def _given(*which: ColumnElement[bool]) -> Update:
    """Give the claimable task instances that meet ``which`` (still queued, held by no worker) to the
    worker ``b_claimer`` at ``b_now``; the rows it took."""
    return (
        _TI.update()
        .where(*which, _TI.c.state == TaskInstanceState.QUEUED.value, _TI.c.worker_id.is_(None))
        .values(worker_id=bindparam("b_claimer"), claimed_at=bindparam("b_now"))
        .returning(*_CLAIMED)
    )


@dataclass(frozen=True, slots=True)
class _Full:
    """The limited pools with no slot left and the DAGs with no task instance left to claim under their
    ``max_active_tasks``, read once per look."""

    pools: list[str]
    dags: list[str]

    @classmethod
    async def load(cls, reader: Reader) -> _Full:
        """Read the full pools and DAGs; one statement (:data:`_FULL`)."""
        full = cls([], [])
        for kind, name in await _rows(reader, _FULL, {}):
            (full.pools if kind == "pool" else full.dags).append(name)
        return full


_POOLS = cast(Table, PoolRecord.__table__)
_DAGS = cast(Table, DagRecord.__table__)


def _full(kind: str, of: str, name: Column[str], most: Column[int | None]) -> Select[str, str]:
    """The pools (``of="pool"``) or DAGs (``of="dag_id"``) whose limit ``most`` what is taken has reached:
    only those something is taken of are counted (a semi-join with the partial index of the task
    instances taking a slot), so that the read follows the work rather than how many pools and DAGs are
    limited; PostgreSQL chooses from which side to join."""
    holding = _TI.alias("holding")
    return select(literal(kind).label("kind"), name.label("name")).where(
        most.is_not(None),
        name.in_(select(holding.c[of]).where(taking_a_slot(holding))),
        slots_taken(of, name) >= most,
    )


_FULL_NOW = union_all(
    _full("pool", "pool", _POOLS.c.name, _POOLS.c.slots),
    _full("dag", "dag_id", _DAGS.c.dag_id, _DAGS.c.max_active_tasks),
).subquery("full_now")
_FULL = Direct(select(*_FULL_NOW.c))
"""The full pools and DAGs: (kind, name)."""
_CLAIM_BY_KEYS = Direct(_given(_TI.c.id == any_(bindparam("b_ids", type_=postgresql.ARRAY(Uuid)))))
"""On PostgreSQL: give the claimable task instances of the ids ``b_ids`` (already locked by the claim) to
the worker ``b_claimer`` at ``b_now``; the rows it took."""
_NAMES = postgresql.ARRAY(String)
_LOCK_POOLS = Direct(
    select(_POOLS.c.name, _POOLS.c.slots)
    .where(_POOLS.c.name == any_(bindparam("b_pools", type_=_NAMES)))
    .order_by(_POOLS.c.name)
    .with_for_update()
)
"""On PostgreSQL: lock the rows of the pools ``b_pools``, in name order, so that their claimers count one
after another; their slots as they are once locked."""
_LOCK_DAGS = Direct(
    select(_DAGS.c.dag_id, _DAGS.c.max_active_tasks)
    .where(_DAGS.c.dag_id == any_(bindparam("b_dags", type_=_NAMES)))
    .order_by(_DAGS.c.dag_id)
    .with_for_update()
)
"""On PostgreSQL: lock the rows of the DAGs ``b_dags``, in id order, likewise; their ``max_active_tasks``."""
_CANDIDATE = (
    _TI.c.id,
    _TI.c.pool,
    _TI.c.pool_slots,
    _TI.c.dag_id,
    select(_POOLS.c.slots).where(_POOLS.c.name == _TI.c.pool).scalar_subquery().label("pool_most"),
    select(_DAGS.c.max_active_tasks)
    .where(_DAGS.c.dag_id == _TI.c.dag_id)
    .scalar_subquery()
    .label("dag_most"),
)
"""What a claim under limits reads of each candidate: its id, pool, slots and DAG, and the limits of its
pool and DAG (None: no limit)."""


def _taken_of(pools: ColumnElement[bool], dags: ColumnElement[bool]) -> Select[Any]:
    """What the task instances taking a slot take of the pools that meet ``pools`` and of the DAGs that
    meet ``dags``: (kind, name, taken) (:func:`taken_by_name`)."""
    counts = union_all(
        *(
            by_name.with_only_columns(literal(kind).label("kind"), *by_name.selected_columns)
            for kind, by_name in (
                ("pool", taken_by_name("pool", pools)),
                ("dag", taken_by_name("dag_id", dags)),
            )
        )
    ).subquery("taken_of")
    return select(*counts.c)


_TAKEN_OF = Direct(
    _taken_of(
        _TI.c.pool == any_(bindparam("b_pools", type_=_NAMES)),
        _TI.c.dag_id == any_(bindparam("b_dags", type_=_NAMES)),
    )
)
"""On PostgreSQL: what is taken of the pools ``b_pools`` and the DAGs ``b_dags`` (:func:`_taken_of`)."""


def _candidates_within_limits(
    queues: int, more: Sequence[ColumnElement[bool]] = (), full: _Full | None = None, *, postgres: bool
) -> Select[Any]:
    """The candidates of a claim under limits (:data:`_CANDIDATE`) that meet ``more``, passing over the
    ``full`` pools and DAGs (so that they do not hold up the rest of the queue); on PostgreSQL locked as
    they are read, skipping those another claim holds.

    The full ones are written into the statement as literals, so that the database plans with what it
    knows of them. As parameters, a prepared statement's generic plan (a claim's transaction runs those)
    took them to exclude nearly every row, and sorted every queued row of the queue instead of reading
    the claimable index in order."""
    wanted = list(more)
    if full is not None:
        for column, names in ((_TI.c.pool, full.pools), (_TI.c.dag_id, full.dags)):
            if names:
                literals: BindParameter[list[str]] = bindparam(
                    f"b_full_{column.key}", names, expanding=True, literal_execute=True
                )
                wanted.append(column.not_in(literals))
    return _candidates(queues, wanted, _CANDIDATE, lock=postgres)


@functools.cache
def _given_within(pool: bool, dag: bool) -> Direct:
    """Give the candidate ``b_id`` to the worker ``b_claimer`` at ``b_now`` if what is taken of its pool
    ``b_pool`` leaves room for its slots under ``b_pool_most`` (``pool``) and of its DAG ``b_dag`` under
    ``b_dag_most`` (``dag``); the row it took, if it did."""
    room = []
    if pool:
        taken = slots_taken("pool", bindparam("b_pool", type_=String))
        room.append(taken + _TI.c.pool_slots <= bindparam("b_pool_most", type_=Integer))
    if dag:
        counted = slots_taken("dag_id", bindparam("b_dag", type_=String))
        room.append(counted < bindparam("b_dag_most", type_=Integer))
    return Direct(_given(_TI.c.id == bindparam("b_id", type_=Uuid), *room))


async def _claim_within_limits(
    reader: Reader,
    candidates: Direct | Select[Any],
    params: dict[str, Any],
    worker_id: uuid.UUID,
    now: datetime,
    *,
    postgres: bool,
) -> list[Row[*tuple[Any, ...]]]:
    """Claim the ``candidates`` (:func:`_candidates_within_limits`) of no limited pool or DAG in one UPDATE,
    and the others under the locks of their limited pools and DAGs: one in a conditional UPDATE, several
    by counting what is taken of their pools and DAGs and taking those that fit in one UPDATE.

    On PostgreSQL the candidates are locked as they are read, skipping those another claim holds
    (``FOR UPDATE SKIP LOCKED``, as the claim without limits does), so concurrent claimers take
    different candidates rather than all reaching for the first ones; the rows of the limited pools and
    DAGs among the candidates are locked (``FOR UPDATE``, in name order) before any count, so claimers on
    every replica count one after another; a candidate is then taken only if its pool's slots and its
    DAG's ``max_active_tasks`` still have room, counted after the locks. On SQLite the claim runs under the
    database's write lock, taken by the worker's sign of life that starts its transaction.
    """
    rows = await _rows(reader, candidates, params)
    limited = [row for row in rows if row[4] is not None or row[5] is not None]
    free = [row[0] for row in rows if row[4] is None and row[5] is None]
    claimed: list[Row[*tuple[Any, ...]]] = []
    given = {"b_claimer": worker_id, "b_now": now}
    if free:
        taken = _CLAIM_BY_KEYS if postgres else _given(_TI.c.id.in_(free))
        claimed += await _rows(reader, taken, {"b_ids": free, **given})
    pools = {row[1]: int(row[4]) for row in limited if row[4] is not None}
    dags = {row[3]: int(row[5]) for row in limited if row[5] is not None}
    if postgres:
        # Counted against the limits read with the locks: one lowered (or lifted) while the candidates
        # were read, or while the lock was waited for, is the one that holds now.
        if pools:
            pools = _limits(await _rows(reader, _LOCK_POOLS, {"b_pools": sorted(pools)}))
        if dags:
            dags = _limits(await _rows(reader, _LOCK_DAGS, {"b_dags": sorted(dags)}))
    if len(limited) == 1:
        [(ti_id, pool, _, dag_id, _, _)] = limited
        pool_most, dag_most = pools.get(pool), dags.get(dag_id)
        room = {"b_pool": pool, "b_pool_most": pool_most, "b_dag": dag_id, "b_dag_most": dag_most}
        statement = _given_within(pool_most is not None, dag_most is not None)
        record = await _first(reader, statement, {"b_id": ti_id, **room, **given})
        claimed += [] if record is None else [record]
    elif limited:
        # What is taken of their pools and DAGs, counted now that they are locked (on SQLite the write
        # lock has held since the look); those that fit, taken in one UPDATE.
        names = {"b_pools": sorted(pools), "b_dags": sorted(dags)}
        counts = (
            _TAKEN_OF
            if postgres
            else _taken_of(_TI.c.pool.in_(names["b_pools"]), _TI.c.dag_id.in_(names["b_dags"]))
        )
        left = {("pool", name): most for name, most in pools.items()}
        left.update((("dag", name), most) for name, most in dags.items())
        for kind, name, count in await _rows(reader, counts, names):
            left[kind, name] -= int(count)
        fitting = _fitting(limited, left)
        if fitting:
            taken = _CLAIM_BY_KEYS if postgres else _given(_TI.c.id.in_(fitting))
            claimed += await _rows(reader, taken, {"b_ids": fitting, **given})
    return claimed


def _limits(locked: Sequence[Any]) -> dict[str, int]:
    """The limits of the pools or DAGs whose rows a claim locked ((name, limit) rows), by name: those that
    still limit (a pool deleted or a limit lifted meanwhile limits nothing)."""
    return {name: int(most) for name, most in locked if most is not None}


def _fitting(candidates: Sequence[Any], room: dict[tuple[str, str], int]) -> list[uuid.UUID]:
    """The ids of the ``candidates`` (:data:`_CANDIDATE` rows, in claim order) that the ``room`` left in
    their limited pools and DAGs (by (kind, name)) takes, each taken in turn from what is left, as one
    conditional UPDATE each would."""
    left = dict(room)
    taken: list[uuid.UUID] = []
    for ti_id, pool, slots, dag_id, _, _ in candidates:
        if left.get(("pool", pool), slots) < slots or left.get(("dag", dag_id), 1) < 1:
            continue
        if ("pool", pool) in left:
            left["pool", pool] -= slots
        if ("dag", dag_id) in left:
            left["dag", dag_id] -= 1
        taken.append(ti_id)
    return taken
