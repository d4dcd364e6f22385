"""Every stored secret moved to the first key of ``BATON_ENCRYPTION_KEY``, once a new key was put first:
connection passwords and extras, and the private halves of the rotated signing keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Column, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from baton_server.db.tables import ConnectionRecord, SigningKeyRecord
from baton_server.services.cipher import SecretCipher

BATCH = 500
"""Rows re-encrypted per transaction."""

_CONNECTIONS = cast(Table, ConnectionRecord.__table__)
_SIGNING_KEYS = cast(Table, SigningKeyRecord.__table__)


@dataclass(frozen=True, slots=True)
class Reencrypted:
    """How many rows of each kind had a secret re-encrypted."""

    connections: int
    signing_keys: int


async def reencrypt_secrets(sessions: async_sessionmaker[AsyncSession], cipher: SecretCipher) -> Reencrypted:
    """Re-encrypt every stored secret with the cipher's first key, whichever of its keys encrypted it."""
    connections = _CONNECTIONS.c
    keys = _SIGNING_KEYS.c
    return Reencrypted(
        connections=await _reencrypt(
            sessions,
            cipher,
            connections.conn_id,
            (connections.password_encrypted, connections.extra_encrypted),
        ),
        signing_keys=await _reencrypt(sessions, cipher, keys.kid, (keys.private_encrypted,)),
    )


async def _reencrypt(
    sessions: async_sessionmaker[AsyncSession],
    cipher: SecretCipher,
    key: Column[Any],
    secrets: tuple[Column[Any], ...],
) -> int:
    """Re-encrypt the ``secrets`` columns of ``key``'s table, :data:`BATCH` rows a transaction in key
    order, each row locked as it is read (on PostgreSQL), so that a change made meanwhile waits rather
    than being overwritten; the rows with a secret."""
    table = key.table
    done = 0
    after: Any = None
    while True:
        async with sessions() as session:
            query = select(key, *secrets).order_by(key).limit(BATCH).with_for_update()
            if after is not None:
                query = query.where(key > after)
            rows = (await session.execute(query)).all()
            for row in rows:
                # None: no such secret; empty: a key with no private half stored (the configured one).
                values = {
                    column.key: cipher.reencrypt(value)
                    for column, value in zip(secrets, row[1:], strict=True)
                    if value
                }
                if values:
                    await session.execute(update(table).where(key == row[0]).values(values))
                    done += 1
            await session.commit()
        if len(rows) < BATCH:
            return done
        after = rows[-1][0]
