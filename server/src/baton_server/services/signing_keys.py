"""Signing keys that rotate, shared by every replica through the database.

``rotate`` creates a key (HS256, or Ed25519 whose public half lets a component verify tokens
without being able to mint them) and makes it the active one; the key it replaces is *retired*:
it no longer signs but keeps verifying until every token it signed has expired (the longest
token lifetime plus a grace of :data:`GRACE_SECONDS`), after which it is deleted. The configured
key (``kid`` ``static``) is retired the same way by the first rotation.

``rotate(drop_previous=True)`` is for a key that may have leaked: every previous key, the
configured one included, stops verifying at once (on each replica at its next reload), and the
tokens they signed are refused.

Each replica reloads the keys every ``BATON_SIGNING_KEY_REFRESH`` seconds, and looks up at once
a key it meets in a token but does not hold yet, so a token signed by a replica that has
already switched is never refused by one that has not. See docs/security.md.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from baton_server.db.tables import SigningKeyRecord
from baton_server.db.types import utcnow
from baton_server.errors import InvalidInputError
from baton_server.services._sql import is_postgres
from baton_server.services.cipher import SecretCipher
from baton_server.services.tokens import ALGORITHMS, STATIC_KID, KeySource, SigningKey, TokenService

GRACE_SECONDS = 300
"""How long past its last token's expiry a retired key still verifies: covers replicas that sign
with it until their next reload."""

DROPPED_AT = datetime(2000, 1, 1, tzinfo=UTC)
"""The retirement time of a dropped key: its tokens expired long ago, whatever their lifetime."""

ROTATION_LOCK_KEY = 0x62_61_74_6F_6E_6B_72
"""PostgreSQL advisory lock key ("batonkr") that lets one rotation run at a time."""


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as the operator sees it (never its private half)."""

    kid: str
    algorithm: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    public_key: str | None


def _material(record: SigningKeyRecord, cipher: SecretCipher) -> SigningKey:
    private = cipher.decrypt(record.private_encrypted, what=f"signing key {record.kid!r}") or ""
    if record.algorithm == "EdDSA":
        signing = serialization.load_pem_private_key(private.encode(), password=None)
        assert isinstance(signing, Ed25519PrivateKey)
        return SigningKey(record.kid, "EdDSA", signing.public_key(), signing)
    return SigningKey(record.kid, "HS256", private, private)


def _expired(record: SigningKeyRecord, max_ttl: int, now: datetime) -> bool:
    return (
        record.retired_at is not None and record.retired_at + timedelta(seconds=max_ttl + GRACE_SECONDS) < now
    )


async def load_keys(
    sessions: async_sessionmaker[AsyncSession], tokens: TokenService, cipher: SecretCipher
) -> None:
    """Install the database's keys in ``tokens``: the active one signs, the retired ones verify."""
    now = utcnow()
    async with sessions() as session:
        records = list((await session.scalars(select(SigningKeyRecord))).all())
    live = [r for r in records if not _expired(r, tokens.max_ttl, now)]
    static_row = next((r for r in records if r.kid == STATIC_KID), None)
    keep_static = static_row is None or static_row in live
    keys = [_material(r, cipher) for r in live if r.kid != STATIC_KID]
    active = max(
        (r for r in live if r.kid != STATIC_KID and r.activated_at is not None and r.retired_at is None),
        key=lambda r: r.activated_at or now,
        default=None,
    )
    tokens.install(keys, active.kid if active is not None else None, keep_static=keep_static)


def key_source(sessions: async_sessionmaker[AsyncSession], cipher: SecretCipher, max_ttl: int) -> KeySource:
    """A lookup of one key by id, for tokens signed by a replica that rotated first."""

    async def lookup(kid: str) -> SigningKey | None:
        async with sessions() as session:
            record = await session.get(SigningKeyRecord, kid)
        if record is None or record.kid == STATIC_KID or _expired(record, max_ttl, utcnow()):
            return None
        return _material(record, cipher)

    return lookup


async def rotate(
    session: AsyncSession,
    cipher: SecretCipher,
    *,
    algorithm: str,
    max_ttl: int,
    drop_previous: bool = False,
) -> KeyInfo:
    """Make a new active key, retire the previous one, and delete keys whose last token expired.

    With ``drop_previous`` every previous key stops verifying at once instead (a leaked key)."""
    if algorithm not in ALGORITHMS:
        raise InvalidInputError(
            f"algorithm must be one of {', '.join(ALGORITHMS)}", reason="validation_error"
        )
    if is_postgres(session):
        # One rotation at a time: the next one's statements then see this one's new key (and
        # retire it), so two at once never leave two active keys. SQLite runs one writer anyway.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ROTATION_LOCK_KEY})
    now = utcnow()
    kid = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    public: str | None = None
    if algorithm == "EdDSA":
        private_key = Ed25519PrivateKey.generate()
        private = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = public_pem(private_key.public_key())
    else:
        private = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    await session.execute(
        update(SigningKeyRecord).where(SigningKeyRecord.retired_at.is_(None)).values(retired_at=now)
    )
    if await session.get(SigningKeyRecord, STATIC_KID) is None:
        # The configured key stops signing now: it verifies its tokens until they have expired.
        session.add(
            SigningKeyRecord(
                kid=STATIC_KID, algorithm="HS256", private_encrypted=b"", created_at=now, retired_at=now
            )
        )
    encrypted = cipher.encrypt(private)
    assert encrypted is not None
    record = SigningKeyRecord(
        kid=kid,
        algorithm=algorithm,
        private_encrypted=encrypted,
        public_key=public,
        created_at=now,
        activated_at=now,
    )
    session.add(record)
    cutoff = now - timedelta(seconds=max_ttl + GRACE_SECONDS)
    if drop_previous:
        # Retired long before any token lifetime: the configured key's row stays, marking it refused.
        await session.execute(
            update(SigningKeyRecord).where(SigningKeyRecord.kid != kid).values(retired_at=DROPPED_AT)
        )
    await session.execute(
        delete(SigningKeyRecord).where(
            SigningKeyRecord.retired_at.is_not(None),
            SigningKeyRecord.retired_at < cutoff,
            SigningKeyRecord.kid != STATIC_KID,
        )
    )
    await session.commit()
    return _info(record)


def public_pem(key: Ed25519PublicKey) -> str:
    """The PEM text of an Ed25519 public key."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _info(record: SigningKeyRecord) -> KeyInfo:
    return KeyInfo(
        kid=record.kid,
        algorithm=record.algorithm,
        created_at=record.created_at,
        activated_at=record.activated_at,
        retired_at=record.retired_at,
        public_key=record.public_key,
    )


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    """Every stored key, newest first."""
    rows = await session.scalars(select(SigningKeyRecord).order_by(SigningKeyRecord.created_at.desc()))
    return [_info(r) for r in rows.all()]
