"""The long-lived objects of one server process, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from baton_server.config import Settings, resolve_secrets
from baton_server.db.engine import create_engine, create_sessionmaker


@dataclass(frozen=True, slots=True)
class Runtime:
    """Settings with resolved secrets, the database engine and its session factory."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Resolve secrets and build the engine; no connection is opened yet."""
        settings = resolve_secrets(settings)
        engine = create_engine(settings)
        return cls(settings=settings, engine=engine, sessions=create_sessionmaker(engine))

    async def close(self) -> None:
        """Release every pooled connection."""
        await self.engine.dispose()
