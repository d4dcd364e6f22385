"""The metadata tables, as SQLAlchemy 2 declarative records.

Records are storage, not wire models: the API's schemas live in ``api/schemas`` and the services
translate between the two.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from baton_server.db.types import BigIntPK, JSONType, UTCDateTime, new_id, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 250
"""Longest DAG, task, run, variable, connection and XCom key id."""

CLAIMABLE = "state = 'queued' AND worker_id IS NULL"
"""A task instance a claim may take (migration 0010 indexes these alone)."""
HELD = "worker_id IS NOT NULL"
"""A task instance some worker holds (migration 0010 indexes these by worker)."""
STOPPING = "stopping_at IS NOT NULL"
"""An attempt an operator stopped while it ran, not yet known to be gone (migration 0016 indexes these)."""
TAKING_A_SLOT = "worker_id IS NOT NULL AND (state IN ('queued', 'running') OR stopping_at IS NOT NULL)"
"""A task instance that takes a slot of its pool and counts for its DAG's ``max_active_tasks``: claimed,
not yet finished, or its attempt stopped by an operator and not yet known to be gone (migration 0016
indexes these alone, by pool and by DAG)."""


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so migrations name constraints alike everywhere."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


LIMITED_DAG = "max_active_tasks IS NOT NULL"
"""A DAG whose ``max_active_tasks`` limits its claims (migration 0012 indexes these alone)."""
LIMITED_POOL = "slots IS NOT NULL"
"""A pool whose slots limit its claims (migration 0012 indexes these alone)."""


class DagRecord(Base):
    """A DAG known to the server: its id, the latest registered version and its schedule."""

    __tablename__ = "dags"
    # Every claim asks whether any DAG is limited, and a claim under limits reads the limited ones: of
    # many DAGs, few or none set a limit, and a scan of every DAG on every claim followed the number of
    # DAGs rather than the work.
    __table_args__ = (
        Index(
            "ix_dags_limited", "dag_id", postgresql_where=text(LIMITED_DAG), sqlite_where=text(LIMITED_DAG)
        ),
    )

    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    latest_version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    schedule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The worker credential that registered the latest version (None: registered before ownership).
    owner_credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    owner_name: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    # The latest version's limits (None: none), read by the scheduler and the claim path.
    max_active_runs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    max_active_tasks: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DagVersionRecord(Base):
    """One registered description of a DAG; a changed description makes a new version."""

    __tablename__ = "dag_versions"
    __table_args__ = (UniqueConstraint("dag_id", "version_number"), Index(None, "dag_id", "description_hash"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    dag_id: Mapped[str] = mapped_column(ForeignKey("dags.dag_id", ondelete="CASCADE"))
    version_number: Mapped[int] = mapped_column(Integer)
    description_hash: Mapped[str] = mapped_column(String(64))
    description: Mapped[dict[str, Any]] = mapped_column(JSONType)
    bundle_name: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DagRunRecord(Base):
    """One run of a DAG, pinned to the DAG version it started with."""

    __tablename__ = "dag_runs"
    __table_args__ = (UniqueConstraint("dag_id", "run_id"), Index(None, "state"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    dag_id: Mapped[str] = mapped_column(ForeignKey("dags.dag_id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    dag_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dag_versions.id"))
    run_type: Mapped[str] = mapped_column(String(20), default="manual")
    state: Mapped[str] = mapped_column(String(20), default="queued")
    logical_date: Mapped[datetime] = mapped_column(UTCDateTime)
    data_interval_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data_interval_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    conf: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The backfill that made the run (None: scheduled or triggered).
    backfill_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True, index=True)


class BackfillRecord(Base):
    """A backfill: one run per schedule tick in ``[from_date, to_date]``, made while fewer than
    ``max_active_runs`` of them are queued or running; ``next_logical_date`` is the next tick to handle."""

    __tablename__ = "backfills"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    dag_id: Mapped[str] = mapped_column(ForeignKey("dags.dag_id", ondelete="CASCADE"), index=True)
    from_date: Mapped[datetime] = mapped_column(UTCDateTime)
    to_date: Mapped[datetime] = mapped_column(UTCDateTime)
    max_active_runs: Mapped[int] = mapped_column(Integer)
    reprocess_behavior: Mapped[str] = mapped_column(String(20))
    total_intervals: Mapped[int] = mapped_column(Integer)
    runs_created: Mapped[int] = mapped_column(Integer, default=0)
    intervals_skipped: Mapped[int] = mapped_column(Integer, default=0)
    next_logical_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """None: every tick has been handled (a run made or skipped)."""
    state: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskInstanceRecord(Base):
    """One task of one DAG run; its attempts are counted by ``try_number``."""

    __tablename__ = "task_instances"
    __table_args__ = (
        UniqueConstraint("dag_run_id", "task_id", "map_index"),
        Index(None, "state", "queue"),
        Index(None, "dag_id", "task_id", "state"),
        Index(None, "pool", "state"),
        # The scheduler's deadlines: a running attempt's heartbeat (through its floor: see
        # ``heartbeat_floor``) and its execution timeout.
        Index(None, "state", "heartbeat_floor"),
        Index(None, "state", "timeout_at"),
        # A claim: a worker's active attempts (its free slots; only rows with a worker, so that the
        # many without one do not pile up under one key) and the claimable ones in claim order.
        Index(
            None,
            "worker_id",
            "state",
            postgresql_where=text(HELD),
            sqlite_where=text(HELD),
        ),
        Index(
            "ix_task_instances_claimable",
            "queue",
            "runtime",
            "queued_at",
            "id",
            postgresql_where=text(CLAIMABLE),
            sqlite_where=text(CLAIMABLE),
        ),
        # A claim under limits: what a pool's or a DAG's claimed, unfinished task instances take (only
        # those: a queue's unclaimed rows and every finished attempt stay out of the count's way).
        # The attempts an operator stopped whose end is not yet known, by worker (a claim frees those its
        # worker no longer holds; a pass, those past their heartbeat deadline): few rows, whatever the
        # history (``worker_id`` stays on every finished attempt).
        Index(
            "ix_task_instances_stopping",
            "worker_id",
            postgresql_where=text(STOPPING),
            sqlite_where=text(STOPPING),
        ),
        Index(
            "ix_task_instances_holding_a_pool_slot",
            "pool",
            postgresql_where=text(TAKING_A_SLOT),
            sqlite_where=text(TAKING_A_SLOT),
        ),
        Index(
            "ix_task_instances_holding_a_dag_slot",
            "dag_id",
            postgresql_where=text(TAKING_A_SLOT),
            sqlite_where=text(TAKING_A_SLOT),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    dag_run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dag_runs.id", ondelete="CASCADE"))
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    dag_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("dag_versions.id"))
    state: Mapped[str | None] = mapped_column(String(20), nullable=True)
    try_number: Mapped[int] = mapped_column(Integer, default=0)
    max_tries: Mapped[int] = mapped_column(Integer, default=0)
    queue: Mapped[str] = mapped_column(String(ID_LENGTH), default="default")
    runtime: Mapped[str] = mapped_column(String(20), default="python")
    pool: Mapped[str] = mapped_column(
        String(ID_LENGTH), default="default_pool", server_default="default_pool"
    )
    pool_slots: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    hostname: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    unix_user: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    start_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Log text stored by the attempt ``log_bytes_try`` (services/logs.py caps it per attempt).
    log_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    log_bytes_try: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    end_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A lower bound of ``last_heartbeat_at``, indexed for the scheduler's look for stopped heartbeats,
    # moved up only once it has fallen a quarter of the heartbeat timeout (at most a minute) behind
    # (services/task_instances.py, HEARTBEAT_FLOOR_LAG): most heartbeats then change no indexed
    # column, and PostgreSQL updates the row in its page without touching an index (a HOT update).
    # None: not moved since the column came (migration 0013).
    heartbeat_floor: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When an operator ended or cleared the attempt while it ran (clear, mark, cancel): until its worker
    # no longer lists it among what it holds, or its heartbeat deadline passes, its process may still
    # run, so it keeps ``worker_id`` and its pool's slots and a new try is not queued (None: no attempt
    # stopping).
    stopping_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # When the running attempt overruns its task's execution timeout (None: the task has none).
    timeout_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PoolRecord(Base):
    """A named pool: its task instances, claimed or running, together take at most ``slots`` slots."""

    __tablename__ = "pools"
    __table_args__ = (
        Index(
            "ix_pools_limited", "name", postgresql_where=text(LIMITED_POOL), sqlite_where=text(LIMITED_POOL)
        ),
    )

    name: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    slots: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """None: no limit."""
    description: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class XComRecord(Base):
    """A JSON value a task pushed under a key, addressed by DAG, run, task, map index and key."""

    __tablename__ = "xcoms"
    __table_args__ = (UniqueConstraint("dag_id", "run_id", "task_id", "map_index", "key"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    dag_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    run_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    task_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    key: Mapped[str] = mapped_column(String(ID_LENGTH))
    value: Mapped[str] = mapped_column(Text)
    task_instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VariableRecord(Base):
    """A named JSON value shared by all tasks."""

    __tablename__ = "variables"

    key: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The DAGs whose tasks may read / write it; None: every DAG (a global variable).
    read_dag_ids: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    write_dag_ids: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ConnectionRecord(Base):
    """Where and how to reach an external system; password and extra are encrypted at rest."""

    __tablename__ = "connections"

    conn_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    conn_type: Mapped[str] = mapped_column(String(500))
    host: Mapped[str | None] = mapped_column(String(500), nullable=True)
    port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    login: Mapped[str | None] = mapped_column(String(500), nullable=True)
    password_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    schema_name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    extra_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    allowed_dag_ids: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SigningKeyRecord(Base):
    """A key that signs task tokens, shared by every replica; the private half is encrypted at rest."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    private_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    """Encrypted with the server's secret cipher (as connection passwords are); empty for ``static``."""
    public_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    """An Ed25519 key's public half (PEM): verifies tokens, cannot mint them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When it started signing; the active key is the one activated last and not retired."""
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When a newer key replaced it; it verifies until its last token has expired."""


class ServerPresenceRecord(Base):
    """The API servers' sign that one of them is up: one row, marked by every server process every few
    seconds (``baton_server.presence``), read by a scheduler that runs apart from them."""

    __tablename__ = "server_presence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """The marking server's clock; a reader watches it change, so clocks need not agree."""


class UiSessionEndedRecord(Base):
    """A web UI session logged out before its cookie expires: the cookie is refused from then on."""

    __tablename__ = "ui_sessions_ended"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the session's CSRF token, which is new at every login (the token itself is not kept)."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """When the cookie expires anyway; the row may go then."""


class TaskLogRecord(Base):
    """One structured log line of one attempt of a task instance."""

    __tablename__ = "task_logs"
    __table_args__ = (
        Index(None, "task_instance_id", "try_number", "id"),
        # A batch sent again (its answer was lost) stores nothing twice; NULLs (old clients) never collide.
        Index(None, "task_instance_id", "batch_id", "batch_line", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    task_instance_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("task_instances.id", ondelete="CASCADE"))
    try_number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    level: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    batch_line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Whether the line arrived after the server had already ended its attempt (timeout, zombie, control)."""


class AuditEventRecord(Base):
    """One operator control: who (which admin credential), when, what, on which target."""

    __tablename__ = "audit_events"
    __table_args__ = (Index(None, "created_at"), Index(None, "dag_id", "created_at"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # No foreign key: the trail outlives the credentials, DAGs and runs it names.
    credential_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    credential_name: Mapped[str] = mapped_column(String(ID_LENGTH))
    action: Mapped[str] = mapped_column(String(50))
    dag_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), nullable=True)
    task_instance_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class CredentialRecord(Base):
    """An operator-issued bearer credential of an admin or a worker; only its hash is stored."""

    __tablename__ = "credentials"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(ID_LENGTH))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A worker credential's DAG id patterns (fnmatch globs): the DAGs it may register and serve.
    # None: every DAG (credentials issued before DAG scoping, and those issued without --dags).
    dag_patterns: Mapped[list[str] | None] = mapped_column(JSONType, nullable=True)


class WorkerRecord(Base):
    """A worker process that registered itself with its queues and capacity."""

    __tablename__ = "workers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(ID_LENGTH), unique=True)
    credential_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credentials.id", ondelete="CASCADE"))
    queues: Mapped[list[str]] = mapped_column(JSONType)
    capacity: Mapped[int] = mapped_column(Integer)
    runtime: Mapped[str] = mapped_column(String(20), default="python")
    hostname: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="active")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
