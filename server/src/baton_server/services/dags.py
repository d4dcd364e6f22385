"""DAG registration and the DAG catalogue: versions, schedules, pausing.

A registration is idempotent: a description whose hash equals the DAG's latest version changes
nothing; a changed one becomes a new version (numbered from 1), which new runs use while runs
already started keep theirs. Registrations of one DAG are serialised by first creating-or-touching
its ``dags`` row, which takes the row lock on PostgreSQL and the write lock on SQLite.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.availability import is_foreign_key_violation
from baton_server.db.engine import Reader
from baton_server.db.tables import CredentialRecord, DagRecord, DagVersionRecord
from baton_server.db.types import utcnow
from baton_server.errors import InvalidInputError, NotFoundError
from baton_server.services._cache import BoundedCache
from baton_server.services._sql import upsert_touching
from baton_server.services.dag_specs import DagSpec, validate_dag
from baton_server.services.ownership import check_may_register

log = logging.getLogger("baton_server.dags")


@dataclass(frozen=True, slots=True)
class RegisteredDag:
    """The outcome of registering one DAG."""

    dag_id: str
    dag_version_id: uuid.UUID
    version_number: int
    created_version: bool


@dataclass(frozen=True, slots=True)
class DagVersion:
    """One stored version of a DAG, parsed."""

    id: uuid.UUID
    dag_id: str
    version_number: int
    bundle_name: str | None
    spec: DagSpec


@dataclass(frozen=True, slots=True)
class DagSummary:
    """A DAG with the facts of its latest version."""

    dag: DagRecord
    version: DagVersion


_VERSIONS: BoundedCache[uuid.UUID, DagVersion] = BoundedCache(512)
"""Parsed DAG versions by id. Versions are immutable, so an entry never goes stale."""

_TASK_DESCRIPTIONS: BoundedCache[uuid.UUID, dict[str, dict[str, Any]]] = BoundedCache(128)
"""Each DAG version's stored task descriptions by task id, as stored (immutable too)."""


_VERSION_COLUMNS = (
    DagVersionRecord.id,
    DagVersionRecord.dag_id,
    DagVersionRecord.version_number,
    DagVersionRecord.bundle_name,
    DagVersionRecord.description,
)


def _parse(record: Any) -> DagVersion:
    return DagVersion(
        id=record.id,
        dag_id=record.dag_id,
        version_number=record.version_number,
        bundle_name=record.bundle_name,
        spec=DagSpec.from_document(record.description),
    )


async def load_version(reader: Reader, version_id: uuid.UUID) -> DagVersion:
    """One DAG version, parsed (from a per-process cache after the first read)."""
    version = _VERSIONS.get(version_id)
    if version is None:
        record = (
            await reader.execute(select(*_VERSION_COLUMNS).where(DagVersionRecord.id == version_id))
        ).first()
        if record is None:
            raise NotFoundError(f"no DAG version {version_id}", reason="dag_version_not_found")
        version = _parse(record)
        _VERSIONS.put(version.id, version)
    return version


async def task_description(reader: Reader, version_id: uuid.UUID, task_id: str) -> dict[str, Any]:
    """A task's description as stored in its DAG version ({} when it has none); cached per version.

    A large DAG's description is a big JSON document: decoding it for every started attempt cost
    more than the rest of the request.
    """
    tasks = _TASK_DESCRIPTIONS.get(version_id)
    if tasks is None:
        description = await reader.scalar(
            select(DagVersionRecord.description).where(DagVersionRecord.id == version_id)
        )
        assert description is not None, f"no DAG version {version_id}"  # a foreign key of the attempt
        tasks = {}
        for task in description.get("tasks", []):
            if isinstance(task, dict) and isinstance(task.get("task_id"), str):
                tasks.setdefault(task["task_id"], task)
        _TASK_DESCRIPTIONS.put(version_id, tasks)
    return tasks.get(task_id, {})


async def load_version_or_none(reader: Reader, version_id: uuid.UUID) -> DagVersion | None:
    """Like :func:`load_version`, but None (logged) for a version that is missing or unreadable.

    The scheduler uses it so that one bad row costs one run its progress, not every DAG theirs.
    """
    try:
        return await load_version(reader, version_id)
    except (NotFoundError, KeyError, TypeError, ValueError):
        log.exception("DAG version %s cannot be read; skipping what depends on it", version_id)
        return None


async def register_dags(
    session: AsyncSession,
    specs: list[DagSpec],
    *,
    bundle_name: str | None,
    owner: CredentialRecord | None = None,
    now: datetime | None = None,
) -> list[RegisteredDag]:
    """Validate every description, then store the changed ones as new versions, all or nothing.

    With an ``owner`` (the registering worker credential), every DAG must be one it may serve
    (403 ``dag_not_owned`` otherwise, nothing stored), and it becomes the owner of the versions it
    stores.
    """
    if owner is not None:
        check_may_register(owner, [spec.dag_id for spec in specs])
    seen: set[str] = set()
    for spec in specs:
        if spec.dag_id in seen:
            raise InvalidInputError(
                f"DAG id {spec.dag_id!r} appears more than once in this registration",
                reason="duplicate_dag_id",
            )
        seen.add(spec.dag_id)
        validate_dag(spec)
    now = now or utcnow()
    # In DAG id order, whatever the order of ``specs``: each DAG's row stays locked until the commit, and
    # two registrations of the same DAGs in different orders (two workers starting at once, with
    # bundles that list them differently) each waited for a row the other held, a deadlock that
    # PostgreSQL broke by failing one of them (a 500).
    registered = {
        spec.dag_id: await _register_one(session, spec, bundle_name, owner, now)
        for spec in sorted(specs, key=lambda spec: spec.dag_id)
    }
    await session.commit()
    return [registered[spec.dag_id] for spec in specs]


async def _register_one(
    session: AsyncSession,
    spec: DagSpec,
    bundle_name: str | None,
    owner: CredentialRecord | None,
    now: datetime,
) -> RegisteredDag:
    await session.execute(
        upsert_touching(
            session,
            DagRecord,
            {"dag_id": spec.dag_id, "is_paused": False, "created_at": now, "updated_at": now},
            keys=["dag_id"],
            touch={"updated_at": now},
        )
    )
    dag = await session.get(DagRecord, spec.dag_id, populate_existing=True)
    assert dag is not None
    digest = spec.content_hash()
    previous: DagSpec | None = None
    if dag.latest_version_id is not None:
        latest = await session.get(DagVersionRecord, dag.latest_version_id)
        assert latest is not None
        if latest.description_hash == digest:
            return RegisteredDag(spec.dag_id, latest.id, latest.version_number, created_version=False)
        previous = DagSpec.from_document(latest.description)
    number = await session.scalar(
        select(func.coalesce(func.max(DagVersionRecord.version_number), 0)).where(
            DagVersionRecord.dag_id == spec.dag_id
        )
    )
    version = DagVersionRecord(
        dag_id=spec.dag_id,
        version_number=int(number or 0) + 1,
        description_hash=digest,
        description=spec.to_document(),
        bundle_name=bundle_name,
        created_at=now,
    )
    session.add(version)
    await session.flush()
    dag.latest_version_id = version.id
    dag.updated_at = now
    if owner is not None:
        dag.owner_credential_id, dag.owner_name = owner.id, owner.name
    dag.max_active_runs, dag.max_active_tasks = spec.max_active_runs, spec.max_active_tasks
    old_schedule = previous.schedule if previous else None
    if spec.schedule != old_schedule:
        dag.schedule = spec.schedule.summary if spec.schedule else None
        dag.next_run_at = spec.schedule.first_run_at(now, catchup=spec.catchup) if spec.schedule else None
    await session.flush()
    return RegisteredDag(spec.dag_id, version.id, version.version_number, created_version=True)


def _cached(record: DagVersionRecord) -> DagVersion:
    version = _VERSIONS.get(record.id)
    if version is None:
        version = _parse(record)
        _VERSIONS.put(version.id, version)
    return version


async def list_dags(session: AsyncSession, *, limit: int, offset: int) -> tuple[list[DagSummary], int]:
    """A page of DAGs by id, with the total count."""
    total = await session.scalar(select(func.count()).select_from(DagRecord))
    rows = await session.execute(
        select(DagRecord, DagVersionRecord)
        .join(DagVersionRecord, DagVersionRecord.id == DagRecord.latest_version_id)
        .order_by(DagRecord.dag_id)
        .limit(limit)
        .offset(offset)
    )
    summaries = [DagSummary(dag=dag, version=_cached(version)) for dag, version in rows]
    return summaries, int(total or 0)


async def get_dag(session: AsyncSession, dag_id: str) -> DagSummary:
    """One DAG with its latest version, or NotFoundError."""
    row = (
        await session.execute(
            select(DagRecord, DagVersionRecord)
            .join(DagVersionRecord, DagVersionRecord.id == DagRecord.latest_version_id)
            .where(DagRecord.dag_id == dag_id)
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no DAG {dag_id!r}", reason="dag_not_found")
    dag, version = row
    return DagSummary(dag=dag, version=_cached(version))


async def set_paused(session: AsyncSession, dag_id: str, *, paused: bool) -> DagSummary:
    """Pause or unpause a DAG: a paused DAG gets no scheduled runs (triggered runs still run)."""
    summary = await get_dag(session, dag_id)
    summary.dag.is_paused = paused
    await session.commit()
    return summary


async def commit_unless_dag_gone(session: AsyncSession, dag_id: str) -> None:
    """Commit what was written for DAG ``dag_id``: 404 ``dag_not_found`` when the DAG was deleted
    meanwhile (its rows refused the reference); any other integrity error as it is. Rolled back on
    either."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if is_foreign_key_violation(exc):
            raise NotFoundError(f"no DAG {dag_id!r}", reason="dag_not_found") from None
        raise
