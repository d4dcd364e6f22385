"""Server settings, read from ``BATON_*`` environment variables.

There is no module-level settings instance: :func:`load_settings` builds one, and every component
receives it as an argument.
"""

from __future__ import annotations

import base64
import math
import os
import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from baton_server.errors import ConfigurationError

_SUPPORTED_DRIVERS = {"sqlite+aiosqlite", "postgresql+asyncpg"}
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
"""What ``BATON_LOG_LEVEL`` may be (uvicorn's levels; any case)."""
HOUR, DAY = 3600, 24 * 3600
WEEK = 7 * DAY
"""Bounds of the durations in seconds: past them a deadline the server computes (now minus a timeout)
leaves the calendar, and every scheduler pass failed (``inf`` passed ``gt=0``)."""
MIN_SIGNING_KEY_BYTES = 32
"""The shortest ``BATON_SIGNING_KEY`` the server takes: HS256's output size (RFC 7518, 3.2)."""


class Settings(BaseSettings):
    """Everything the server can be configured with; each field is ``BATON_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="BATON_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path(".baton"), description="Folder for the SQLite file and generated keys."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default: a SQLite file in the data folder."
    )
    signing_key: SecretStr | None = Field(
        default=None, description="Key that signs task tokens; generated into the data folder when unset."
    )
    encryption_key: SecretStr | None = Field(
        default=None,
        description="Fernet key that encrypts connection secrets; generated into the data folder when unset.",
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8080
    keep_alive_timeout: Annotated[int, Field(ge=1, le=3600)] = Field(
        default=65,
        description="Seconds an idle HTTP connection stays open. Longer than a client's pool keeps one idle "
        "(httpx: 5 s) and than a load balancer's idle timeout (often 60 s), so that the server never closes "
        "a connection just as a client sends on it.",
    )
    processes: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="Server processes answering on the port (forked once the app is built; Linux). They "
        "share `db_pool_size` between them, and the first one runs the scheduler.",
    )
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        default=10,
        description="The most database connections the server opens, over all its processes.",
    )
    db_pool_timeout: Annotated[float, Field(gt=0, le=HOUR)] = 30.0
    auto_migrate: bool = Field(default=True, description="Apply pending migrations when the server starts.")

    workload_token_ttl: Annotated[int, Field(ge=60, le=30 * DAY)] = 24 * 3600
    execution_token_ttl: Annotated[int, Field(ge=30, le=WEEK)] = 600
    token_refresh_before: Annotated[int, Field(ge=5, le=DAY)] = 120
    signing_key_refresh: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10.0,
        description="Seconds between two reloads of the rotated signing keys from the database; at most "
        "300, the grace a retired key keeps verifying past its tokens' lifetime.",
    )
    xcom_max_bytes: Annotated[int, Field(ge=1024)] = 1024 * 1024
    request_max_bytes: Annotated[int, Field(ge=4096)] = 4 * 1024 * 1024
    variable_max_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=1024 * 1024, description="The largest variable value, as compact JSON in UTF-8."
    )
    log_max_bytes_per_attempt: Annotated[int, Field(ge=64 * 1024)] = Field(
        default=32 * 1024 * 1024,
        description="The most log text one attempt may store (messages and fields, as UTF-8 JSON); "
        "a batch past it is refused with `413 log_limit_exceeded`.",
    )

    heartbeat_timeout: Annotated[float, Field(gt=0, le=WEEK)] = 300.0
    fast_lanes: bool = Field(
        default=True,
        description="Answer successful heartbeats and variable reads ahead of the framework's routing.",
    )
    scheduler_interval: Annotated[float, Field(gt=0, le=HOUR)] = 1.0
    run_scheduler: bool = Field(default=True, description="Run the scheduler inside the API server process.")
    claim_max_wait: Annotated[float, Field(ge=0, le=60)] = 20.0
    claim_timeout: Annotated[float, Field(gt=0, le=WEEK)] = Field(
        default=300.0,
        description="Seconds a claimed workload may wait to be started before it is queued again.",
    )
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`json`: server logs as JSON lines (time, level, logger, message, request_id).",
    )
    retention: str | None = Field(
        default=None,
        description=(
            "Delete finished DAG runs (with their task instances, logs and XComs) older than this "
            "duration (`30d`, `12h`), on a schedule. Unset: keep everything."
        ),
    )
    retention_clean_interval: Annotated[float, Field(gt=0, le=WEEK)] = Field(
        default=3600.0, description="Seconds between scheduled cleans when `retention` is set."
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at `GET /metrics`.")
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, `/metrics` asks for `Authorization: Bearer <this token>`."
    )
    ui_enabled: bool = Field(default=True, description="Serve the web UI at `/ui` (admin login required).")
    ui_session_ttl: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = Field(
        default=8 * 3600, description="Seconds a web UI login lasts before the operator logs in again."
    )
    max_api_version: str | None = Field(
        default=None,
        description=(
            "Serve only the API versions up to this date, as a server released before the newer ones would. "
            "Unset: every version the code knows."
        ),
    )

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not a log level; one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        # Set but empty (a template's missing variable): `Bearer ` with nothing after it would be let in.
        if value is not None and not value.get_secret_value().strip():
            raise ValueError("empty; unset it to serve /metrics without a token, or give a token")
        return value

    @field_validator("signing_key")
    @classmethod
    def _check_signing_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SIGNING_KEY_BYTES:
            raise ValueError(
                f"at least {MIN_SIGNING_KEY_BYTES} bytes (HS256's own size; a shorter key can be guessed "
                "from the tokens it signed); generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @field_validator("retention")
    @classmethod
    def _check_retention(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from baton_server.services.retention import parse_duration

        try:
            parse_duration(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"not a database URL: {value!r}") from None
        if url.drivername == "postgresql":
            # A plain postgresql:// URL is what operators copy from elsewhere: pick the async driver.
            return str(url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False))
        if url.drivername == "sqlite":
            return str(url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False))
        if url.drivername not in _SUPPORTED_DRIVERS:
            raise ValueError(
                f"unsupported driver {url.drivername!r}; use postgresql+asyncpg or sqlite+aiosqlite"
            )
        return value

    @field_validator("max_api_version")
    @classmethod
    def _check_max_api_version(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        from baton_server.api.versions import supported_versions

        known = supported_versions()
        if value not in known:
            raise ValueError(f"{value!r} is not an API version of this server; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _check_pool_shares(self) -> Settings:
        if self.db_pool_size < self.processes:
            raise ValueError(
                f"BATON_DB_POOL_SIZE ({self.db_pool_size}) must be at least BATON_PROCESSES "
                f"({self.processes}): each process needs a connection of its own"
            )
        return self

    def for_process(self, index: int) -> Settings:
        """The settings of server process ``index`` of ``processes``: its share of the pool, and the
        scheduler (when it runs in the server) in the first process only."""
        if self.processes == 1:
            return self
        return self.model_copy(
            update={
                "db_pool_size": self.db_pool_size // self.processes,
                "run_scheduler": self.run_scheduler and index == 0,
            }
        )

    @property
    def heartbeat_refresh_before(self) -> int:
        """Seconds before expiry from which a heartbeat's answer carries a fresh execution token: the
        refresh window, or the heartbeat timeout when longer. A worker whose heartbeats come often enough
        to keep its attempt alive then keeps its token alive too, however far apart they are."""
        return max(self.token_refresh_before, math.ceil(self.heartbeat_timeout))

    @property
    def served_api_versions(self) -> list[str]:
        """The API versions this server answers, oldest first (all known ones unless capped)."""
        from baton_server.api.versions import supported_versions

        known = supported_versions()
        if self.max_api_version is None:
            return known
        return [v for v in known if v <= self.max_api_version]

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one, or the embedded SQLite file."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'baton.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        """Whether the metadata database is SQLite."""
        return self.effective_database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, turning validation errors into one clear line."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        # A validator's own message comes as "Value error, <message>": pydantic's wording, not ours.
        message = str(first["msg"]).removeprefix("Value error, ")
        if not first["loc"]:  # a rule across settings: its message names them
            raise ConfigurationError(message, setting=message.split(" ", 1)[0]) from None
        field = str(first["loc"][0])
        setting = f"BATON_{field.upper()}"
        raise ConfigurationError(f"{setting}: {message}", setting=setting) from None


def _read_or_create_secret(path: Path, make: bytes) -> str:
    try:
        return _read_or_write_secret(path, make)
    except OSError as exc:
        raise ConfigurationError(
            f"BATON_DATA_DIR: cannot keep the generated key {path}: {exc.strerror or exc}",
            setting="BATON_DATA_DIR",
        ) from None


def _read_or_write_secret(path: Path, make: bytes) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = base64.urlsafe_b64encode(make).decode()
    # Written whole under a private name, then linked into place: link() fails if the file exists, so
    # two processes starting at once never overwrite each other's key, and neither reads a half-written one.
    fd, staged = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(staged, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        os.unlink(staged)
    return value


def resolve_secrets(settings: Settings) -> Settings:
    """Settings whose signing and encryption keys are set, generating missing ones in the data folder."""
    updates: dict[str, SecretStr] = {}
    if settings.signing_key is None:
        updates["signing_key"] = SecretStr(
            _read_or_create_secret(settings.data_dir / "signing.key", secrets.token_bytes(32))
        )
    if settings.encryption_key is None:
        updates["encryption_key"] = SecretStr(
            _read_or_create_secret(settings.data_dir / "encryption.key", secrets.token_bytes(32))
        )
    if not updates:
        return settings
    return settings.model_copy(update=updates)
