"""Workers: registration with queues and capacity, liveness, and the operator's listing.

A worker acts under the worker credential it registered with: another credential may not
heartbeat it or claim for it (403). A name is owned by its credential while that credential is
live; once it is revoked, a worker restarted with a new credential may take the name over — as a new
worker, under a new id, so that nothing handed to the old one (a workload token names its worker)
works for the new one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import CredentialRecord, TaskInstanceRecord, WorkerRecord
from baton_server.db.types import new_id, utcnow
from baton_server.errors import ConflictError, ForbiddenError, NotFoundError
from baton_server.services.ownership import may_serve
from baton_server.services.states import TaskInstanceState
from baton_server.services.tokens import TokenService

ACTIVE_TI_STATES = (TaskInstanceState.QUEUED.value, TaskInstanceState.RUNNING.value)
"""States in which a task instance holds a slot of the worker that claimed it."""


class WorkerState(StrEnum):
    """Whether a worker has been heard from within the heartbeat timeout."""

    ACTIVE = "active"
    OFFLINE = "offline"


class TokenRefusal(StrEnum):
    """Why a worker got no fresh execution token for a task instance it asked one for."""

    UNKNOWN = "unknown"
    NOT_HELD = "not_held"
    NOT_RUNNING = "not_running"


@dataclass(frozen=True, slots=True)
class ReissuedToken:
    """A fresh execution token for the running attempt ``try_number`` of a task instance."""

    task_instance_id: uuid.UUID
    try_number: int
    token: str


@dataclass(frozen=True, slots=True)
class ReissuedTokens:
    """The fresh execution tokens a worker got, and why it got none for each other task instance."""

    tokens: list[ReissuedToken]
    refused: list[tuple[uuid.UUID, TokenRefusal]]


@dataclass(frozen=True, slots=True)
class WorkerRegistration:
    """What a worker says about itself when it starts."""

    name: str
    queues: list[str]
    capacity: int
    runtime: str
    hostname: str | None


@dataclass(frozen=True, slots=True)
class WorkerLoad:
    """A worker with the number of task instances it holds (claimed or running)."""

    worker: WorkerRecord
    active_task_instances: int


async def register_worker(
    session: AsyncSession, credential: CredentialRecord, registration: WorkerRegistration
) -> WorkerRecord:
    """Create or refresh the worker of that name; work it claimed but never started goes back to the queue."""
    now = utcnow()
    worker = await session.scalar(select(WorkerRecord).where(WorkerRecord.name == registration.name))
    if worker is not None and worker.credential_id != credential.id:
        owner = await session.get(CredentialRecord, worker.credential_id)
        if owner is not None and owner.revoked_at is None:
            raise ConflictError(
                f"worker name {registration.name!r} belongs to another live worker credential",
                reason="worker_name_taken",
            )
    if worker is None:
        worker = WorkerRecord(name=registration.name, registered_at=now)
        session.add(worker)
        previous_ids: list[uuid.UUID] = []
    else:
        previous_ids = [worker.id]
        if worker.credential_id != credential.id:
            # The name is taken over from a revoked credential: a new worker, under a new id. Under the
            # old one, the workload tokens its claims were handed out with would start what it claims.
            worker.id = new_id()
    worker.credential_id = credential.id
    worker.queues = list(dict.fromkeys(registration.queues))
    worker.capacity = registration.capacity
    worker.runtime = registration.runtime
    worker.hostname = registration.hostname
    worker.state = WorkerState.ACTIVE.value
    worker.registered_at = now
    worker.last_heartbeat_at = now
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(
            f"worker {registration.name!r} is being registered concurrently; retry",
            reason="worker_name_taken",
        ) from None
    # A (re)starting worker runs nothing yet: what it had claimed but not started is free again.
    await session.execute(
        update(TaskInstanceRecord)
        .where(
            TaskInstanceRecord.worker_id.in_([worker.id, *previous_ids]),
            TaskInstanceRecord.state == TaskInstanceState.QUEUED.value,
        )
        .values(worker_id=None, claimed_at=None)
    )
    await session.commit()
    return worker


async def owned_worker(
    session: AsyncSession, credential: CredentialRecord, worker_id: uuid.UUID
) -> WorkerRecord:
    """The worker, provided it was registered under this credential (404 or 403 otherwise)."""
    worker = await session.get(WorkerRecord, worker_id)
    if worker is None:
        raise NotFoundError(f"no worker {worker_id}; register first", reason="worker_not_found")
    if worker.credential_id != credential.id:
        raise ForbiddenError(
            f"worker {worker_id} was registered with another credential", reason="worker_not_owned"
        )
    return worker


async def heartbeat_worker(
    session: AsyncSession, credential: CredentialRecord, worker_id: uuid.UUID, *, now: datetime | None = None
) -> WorkerRecord:
    """Record that the worker is alive."""
    worker = await owned_worker(session, credential, worker_id)
    worker.last_heartbeat_at = now or utcnow()
    worker.state = WorkerState.ACTIVE.value
    await session.commit()
    return worker


async def reissue_task_tokens(
    session: AsyncSession,
    tokens: TokenService,
    credential: CredentialRecord,
    worker_id: uuid.UUID,
    task_instance_ids: list[uuid.UUID],
) -> ReissuedTokens:
    """Fresh execution tokens for the running attempts of ``task_instance_ids`` that the worker holds.

    The worker's live credential stands in for an attempt's token that expired while no server
    answered (a downtime): an attempt of another worker, of a DAG the credential may not serve, or
    one no longer running (finished, ended by the server, or claimed and not started) gets none."""
    worker = await owned_worker(session, credential, worker_id)
    wanted = list(dict.fromkeys(task_instance_ids))
    rows = {
        row.id: row
        for row in await session.execute(
            select(
                TaskInstanceRecord.id,
                TaskInstanceRecord.worker_id,
                TaskInstanceRecord.dag_id,
                TaskInstanceRecord.state,
                TaskInstanceRecord.try_number,
            ).where(TaskInstanceRecord.id.in_(wanted))
        )
    }
    reissued: list[ReissuedToken] = []
    refused: list[tuple[uuid.UUID, TokenRefusal]] = []
    for ti_id in wanted:
        row = rows.get(ti_id)
        if row is None:
            refused.append((ti_id, TokenRefusal.UNKNOWN))
        elif row.worker_id != worker.id or not may_serve(credential.dag_patterns, row.dag_id):
            refused.append((ti_id, TokenRefusal.NOT_HELD))
        elif row.state != TaskInstanceState.RUNNING.value:
            refused.append((ti_id, TokenRefusal.NOT_RUNNING))
        else:
            token = tokens.issue(ti_id, row.try_number, "execution")
            reissued.append(ReissuedToken(ti_id, row.try_number, token))
    return ReissuedTokens(reissued, refused)


async def list_workers(
    session: AsyncSession, *, limit: int, offset: int, client_runtimes: str | None = None
) -> tuple[list[WorkerLoad], int]:
    """A page of workers by name, each with the task instances it holds, and the total count.

    With ``client_runtimes`` (those an older API version can express, comma-separated), only the
    workers of these runtimes, counted and paged as one listing."""
    conditions = [] if client_runtimes is None else [WorkerRecord.runtime.in_(client_runtimes.split(","))]
    total = await session.scalar(select(func.count()).select_from(WorkerRecord).where(*conditions))
    workers = list(
        (
            await session.scalars(
                select(WorkerRecord)
                .where(*conditions)
                .order_by(WorkerRecord.name)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    )
    loads: dict[uuid.UUID, int] = {}
    if workers:
        rows = await session.execute(_held_counts([w.id for w in workers]))
        loads = {worker_id: int(count) for worker_id, count in rows if worker_id is not None}
    return [WorkerLoad(w, loads.get(w.id, 0)) for w in workers], int(total or 0)


def _held_counts(worker_ids: list[uuid.UUID]) -> Select[uuid.UUID | None, int]:
    """(worker id, its queued and running task instances) for those of ``worker_ids`` holding any."""
    return (
        select(TaskInstanceRecord.worker_id, func.count())
        .where(
            TaskInstanceRecord.worker_id.in_(worker_ids),
            TaskInstanceRecord.state.in_(ACTIVE_TI_STATES),
        )
        .group_by(TaskInstanceRecord.worker_id)
    )


def require_runtime_known_to_client(name: str, runtime: str, client_runtimes: str | None) -> None:
    """409 when the worker's runtime is not among ``client_runtimes`` (the runtimes an older API
    version can express, comma-separated; None: the client's version expresses every runtime)."""
    if client_runtimes is not None and runtime not in client_runtimes.split(","):
        raise ConflictError(
            f"worker {name!r} runs {runtime!r}, which this API version cannot express "
            f"(it knows {client_runtimes.replace(',', ', ')}); use API version 2026-12-02 or later",
            reason="runtime_not_in_api_version",
        )
