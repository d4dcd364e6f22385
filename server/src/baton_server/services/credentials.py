"""Admin and worker credentials: opaque bearer tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.db.tables import CredentialRecord
from baton_server.db.types import utcnow
from baton_server.errors import NotFoundError, UnauthorizedError

CredentialKind = Literal["admin", "worker"]


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


async def issue_credential(session: AsyncSession, kind: CredentialKind, name: str) -> IssuedCredential:
    """Create a credential and return its token (shown once, never stored)."""
    token = f"baton_{kind}_{secrets.token_urlsafe(32)}"
    record = CredentialRecord(kind=kind, name=name, token_hash=hash_token(token))
    session.add(record)
    await session.commit()
    return IssuedCredential(id=record.id, kind=kind, name=name, token=token)


async def authenticate(session: AsyncSession, token: str, kind: CredentialKind) -> CredentialRecord:
    """The live credential of that kind behind a bearer token, or UnauthorizedError."""
    record = await session.scalar(
        select(CredentialRecord).where(CredentialRecord.token_hash == hash_token(token))
    )
    if record is None or record.kind != kind:
        raise UnauthorizedError(f"not a valid {kind} credential", reason="invalid_credential")
    if record.revoked_at is not None:
        raise UnauthorizedError("this credential has been revoked", reason="credential_revoked")
    return record


async def revoke_credential(session: AsyncSession, credential_id: uuid.UUID) -> None:
    """Revoke a credential; its next request is refused with 401."""
    result = await session.execute(
        update(CredentialRecord)
        .where(CredentialRecord.id == credential_id, CredentialRecord.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        exists = await session.get(CredentialRecord, credential_id)
        if exists is None:
            raise NotFoundError(f"no credential {credential_id}")


async def list_credentials(session: AsyncSession) -> list[CredentialRecord]:
    """Every credential, newest first."""
    return list(
        (await session.scalars(select(CredentialRecord).order_by(CredentialRecord.created_at.desc()))).all()
    )
