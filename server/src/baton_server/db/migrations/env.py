"""Alembic environment: migrations always run on a connection handed over by ``db.migrate``."""

from __future__ import annotations

from alembic import context
from baton_server.db.tables import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `baton-server db migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    # Each migration and its revision stamp in a transaction of their own: a migration may leave it for
    # work no transaction may hold (an index built CONCURRENTLY on PostgreSQL), and what came before is
    # kept. On SQLite ``db.migrate`` runs them all in one transaction of its own.
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
