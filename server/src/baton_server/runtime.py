"""The long-lived objects of one server process, built once by the app's lifespan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from baton_server.claim_watch import ClaimWatch
from baton_server.config import Settings, resolve_secrets
from baton_server.db.engine import create_engine, create_sessionmaker, create_unpooled_engine
from baton_server.metrics import Metrics
from baton_server.services.cipher import SecretCipher
from baton_server.services.signing_keys import key_source, load_keys
from baton_server.services.tokens import TokenService
from baton_server.wakeup_relay import LocalWakeupRelay, ProcessRelay, WakeupRelay
from baton_server.wakeups import Wakeups


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings with resolved secrets, the engine and its sessions, the token service and the cipher."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    autocommit: AsyncEngine
    """The same pool, without transactions: a task request's bare connections (every write of a task
    request is one statement, its own transaction: one round trip)."""
    tokens: TokenService
    cipher: SecretCipher
    claim_watch: ClaimWatch
    """The one look at the queue for every claim long-polling in this process."""
    metrics: Metrics
    """The process's Prometheus metrics."""
    key_reloads: asyncio.Lock = field(default_factory=asyncio.Lock)
    """One reload of the signing keys at a time: a slow one never installs its rows over a newer one's."""
    wakeups: Wakeups = field(default_factory=Wakeups)
    """What requests tell the scheduler and the waiting claims of this process."""
    relay: ProcessRelay | None = None
    """Carries the wake-ups to and from the other processes on the database (on PostgreSQL when the
    process's share of the pool is at least two connections: the relay keeps one of them; on SQLite
    between the processes of this machine on the same database file)."""

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Resolve secrets and build the engine; no connection is opened yet."""
        settings = resolve_secrets(settings)
        relayed = not settings.is_sqlite and settings.db_pool_size >= 2
        # The relay's connection counts against db_pool_size: the process never opens more.
        engine = create_engine(
            settings.model_copy(update={"db_pool_size": settings.db_pool_size - 1}) if relayed else settings
        )
        assert settings.signing_key is not None
        assert settings.encryption_key is not None
        cipher = SecretCipher(settings.encryption_key.get_secret_value())
        sessions = create_sessionmaker(engine)
        max_ttl = max(settings.workload_token_ttl, settings.execution_token_ttl)
        tokens = TokenService(
            settings.signing_key.get_secret_value(),
            workload_ttl=settings.workload_token_ttl,
            execution_ttl=settings.execution_token_ttl,
            key_source=key_source(sessions, cipher, max_ttl),
        )
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        wakeups = Wakeups()
        relay: ProcessRelay | None = None
        if relayed:
            relay = WakeupRelay(create_unpooled_engine(settings, "baton-server wake-ups"), wakeups)
        elif settings.is_sqlite:
            relay = LocalWakeupRelay.for_database(settings.effective_database_url, wakeups)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            autocommit=autocommit,
            tokens=tokens,
            cipher=cipher,
            claim_watch=ClaimWatch(autocommit, wakeups.queue),
            metrics=Metrics(),
            wakeups=wakeups,
            relay=relay,
        )

    async def load_signing_keys(self) -> None:
        """Install the database's signing keys (after a rotation, on any replica)."""
        async with self.key_reloads:
            await load_keys(self.sessions, self.tokens, self.cipher)

    async def close(self) -> None:
        """Stop the claim watch; release every pooled connection, and the relay's."""
        await self.claim_watch.close()
        await self.engine.dispose()
        if self.relay is not None:
            await self.relay.close()
