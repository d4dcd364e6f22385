"""The long-lived objects of one server process, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from baton_server.config import Settings, resolve_secrets
from baton_server.db.engine import create_engine, create_sessionmaker
from baton_server.services.tokens import TokenService


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings with resolved secrets, the database engine, its session factory and the token service."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    tokens: TokenService

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Resolve secrets and build the engine; no connection is opened yet."""
        settings = resolve_secrets(settings)
        engine = create_engine(settings)
        assert settings.signing_key is not None
        tokens = TokenService(
            settings.signing_key.get_secret_value(),
            workload_ttl=settings.workload_token_ttl,
            execution_ttl=settings.execution_token_ttl,
        )
        return cls(settings=settings, engine=engine, sessions=create_sessionmaker(engine), tokens=tokens)

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
