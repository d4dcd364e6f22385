"""Admin and worker credentials: opaque bearer tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ScalarSelect, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import ID_LENGTH, CredentialRecord, TaskInstanceRecord, WorkerRecord
from baton_server.db.types import utcnow
from baton_server.errors import InvalidInputError, NotFoundError, UnauthorizedError
from baton_server.services._sql import rowcount
from baton_server.services.ownership import check_patterns
from baton_server.services.states import TaskInstanceState, resolve_failure
from baton_server.services.workers import WorkerState

CredentialKind = Literal["admin", "worker"]


@dataclass(frozen=True, slots=True)
class Revoked:
    """What a revocation took back: claimed, unstarted workloads released, running attempts ended."""

    released: int
    ended: int


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """A credential just created: the only moment its token is known in clear."""

    id: uuid.UUID
    kind: CredentialKind
    name: str
    token: str


def hash_token(token: str) -> str:
    """The stored form of a bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_credential(
    session: AsyncSession, kind: CredentialKind, name: str, *, dag_patterns: list[str] | None = None
) -> IssuedCredential:
    """Create a credential and return its token (shown once, never stored).

    A worker credential with ``dag_patterns`` may register and serve only the DAGs they match.
    """
    if dag_patterns is not None and kind != "worker":
        raise ValueError("only worker credentials are scoped to DAGs")
    if not name.strip() or len(name) > ID_LENGTH:
        raise InvalidInputError(f"a credential's name is 1 to {ID_LENGTH} characters, not blank")
    if dag_patterns is not None and not dag_patterns:
        # An empty scope would serve no DAG while reading like a missing one: refused, never widened.
        raise InvalidInputError(
            "a worker credential scoped to DAGs needs at least one DAG id pattern (without a scope it serves "
            "every DAG)"
        )
    token = f"baton_{kind}_{secrets.token_urlsafe(32)}"
    record = CredentialRecord(
        kind=kind,
        name=name,
        token_hash=hash_token(token),
        dag_patterns=None if dag_patterns is None else check_patterns(dag_patterns),
    )
    session.add(record)
    await session.commit()
    return IssuedCredential(id=record.id, kind=kind, name=name, token=token)


_BY_TOKEN_HASH = select(CredentialRecord).where(CredentialRecord.token_hash == bindparam("b_hash"))
"""The credential behind a token's hash: built once, as every worker and admin request reads it."""


def live_credential_id(kind: CredentialKind) -> ScalarSelect[uuid.UUID]:
    """The id of the live credential of that kind behind the token hash bound as ``b_hash``, as a
    subquery: what :func:`authenticate` checks, for a statement that checks it itself."""
    return (
        select(CredentialRecord.id)
        .where(
            CredentialRecord.token_hash == bindparam("b_hash"),
            CredentialRecord.kind == kind,
            CredentialRecord.revoked_at.is_(None),
        )
        .scalar_subquery()
    )


async def authenticate(session: AsyncSession, token: str, kind: CredentialKind) -> CredentialRecord:
    """The live credential of that kind behind a bearer token, or UnauthorizedError."""
    record = await session.scalar(_BY_TOKEN_HASH, {"b_hash": hash_token(token)})
    return _live(record, kind)


async def live_credential(
    session: AsyncSession, credential_id: uuid.UUID, kind: CredentialKind
) -> CredentialRecord:
    """The credential of that id and kind, while it is not revoked, or UnauthorizedError."""
    return _live(await session.get(CredentialRecord, credential_id, populate_existing=True), kind)


def _live(record: CredentialRecord | None, kind: CredentialKind) -> CredentialRecord:
    """The credential, if it is one of that kind and not revoked, else UnauthorizedError."""
    if record is None or record.kind != kind:
        raise UnauthorizedError(f"not a valid {kind} credential", reason="invalid_credential")
    if record.revoked_at is not None:
        raise UnauthorizedError("this credential has been revoked", reason="credential_revoked")
    return record


async def revoke_credential(session: AsyncSession, credential_id: uuid.UUID) -> Revoked:
    """Revoke a credential, and what its workers hold, in one transaction.

    Its next request is refused with 401. The workloads its workers claimed and did not start go
    back to the queue, and their workload tokens no longer start them (``run`` answers 401
    ``claim_revoked``); the attempts its workers are running are ended by the server (retried
    while tries remain, as after a missed heartbeat), so their next heartbeat answers 409 and the
    worker stops them.
    """
    now = utcnow()
    result = await session.execute(
        update(CredentialRecord)
        .where(CredentialRecord.id == credential_id, CredentialRecord.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if rowcount(result) == 0:
        await session.rollback()
        if await session.get(CredentialRecord, credential_id) is None:
            raise NotFoundError(f"no credential {credential_id}")
        return Revoked(released=0, ended=0)
    workers = select(WorkerRecord.id).where(WorkerRecord.credential_id == credential_id).scalar_subquery()
    ti = TaskInstanceRecord
    released = await session.execute(
        update(ti)
        .where(ti.state == TaskInstanceState.QUEUED.value, ti.worker_id.in_(workers))
        .values(worker_id=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    running = (
        await session.execute(
            select(ti.id, ti.try_number, ti.max_tries).where(
                ti.state == TaskInstanceState.RUNNING.value, ti.worker_id.in_(workers)
            )
        )
    ).all()
    for ti_id, try_number, max_tries in running:
        target = resolve_failure(try_number, max_tries)
        await session.execute(
            update(ti)
            .where(ti.id == ti_id, ti.state == TaskInstanceState.RUNNING.value, ti.try_number == try_number)
            .values(
                state=target.value,
                end_date=now,
                next_attempt_at=now if target is TaskInstanceState.UP_FOR_RETRY else None,
            )
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(WorkerRecord)
        .where(WorkerRecord.credential_id == credential_id)
        .values(state=WorkerState.OFFLINE.value)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return Revoked(released=rowcount(released), ended=len(running))


async def list_credentials(session: AsyncSession) -> list[CredentialRecord]:
    """Every credential, newest first."""
    return list(
        (await session.scalars(select(CredentialRecord).order_by(CredentialRecord.created_at.desc()))).all()
    )
