"""The audit trail: every operator control is recorded with who did it, when, and on what."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import AuditEventRecord, CredentialRecord
from baton_server.db.types import utcnow

log = logging.getLogger("baton_server.audit")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: the admin credential of the request."""

    credential_id: uuid.UUID | None
    name: str

    @classmethod
    def of(cls, credential: CredentialRecord) -> Actor:
        """The actor behind an authenticated admin credential."""
        return cls(credential_id=credential.id, name=credential.name)


def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    *,
    dag_id: str | None = None,
    run_id: str | None = None,
    task_instance_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEventRecord:
    """Add an audit event to the session: it commits with the control it records, or not at all."""
    event = AuditEventRecord(
        created_at=utcnow(),
        credential_id=actor.credential_id,
        credential_name=actor.name,
        action=action,
        dag_id=dag_id,
        run_id=run_id,
        task_instance_id=task_instance_id,
        details=details or {},
    )
    session.add(event)
    target = "/".join(str(part) for part in (dag_id, run_id, task_instance_id) if part is not None)
    log.info("control %s on %s by %s: %s", action, target or "-", actor.name, event.details)
    return event


async def list_events(
    session: AsyncSession, *, dag_id: str | None, action: str | None, limit: int, offset: int
) -> tuple[list[AuditEventRecord], int]:
    """A page of audit events, newest first, with the total under the same filters."""
    conditions = []
    if dag_id is not None:
        conditions.append(AuditEventRecord.dag_id == dag_id)
    if action is not None:
        conditions.append(AuditEventRecord.action == action)
    total = await session.scalar(select(func.count()).select_from(AuditEventRecord).where(*conditions))
    events = await session.scalars(
        select(AuditEventRecord)
        .where(*conditions)
        .order_by(AuditEventRecord.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(events.all()), int(total or 0)
