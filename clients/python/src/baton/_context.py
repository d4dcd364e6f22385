"""The running task's context and its link to the API (one per running task, in a context variable).

While a task runs, :func:`get_context` returns the facts of its attempt, and ``Variable``,
``Connection`` and ``XCom`` act through the :class:`TaskRuntime` set for it: worker-side secrets
first for reads of variables and connections, then the Task Execution API with the attempt's token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from baton._client import Client, _expect, check_key
from baton._connection import Connection
from baton._errors import (
    ConnectionNotFoundError,
    NoTaskContextError,
    NotFoundError,
    VariableNotFoundError,
    XComNotFoundError,
)
from baton._generated.api.connections import get_connection
from baton._generated.models import ConnectionResponse, TIRunContext
from baton._secrets import NOT_FOUND, LocalSecrets

RETURN_VALUE = "return_value"
"""The XCom key under which a task's return value is pushed."""

_current: ContextVar[TaskRuntime | None] = ContextVar("baton_task_runtime", default=None)


@dataclass(frozen=True, slots=True)
class TaskContext:
    """The facts of the running attempt: which task instance, which run, which try."""

    task_instance_id: uuid.UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    max_tries: int
    logical_date: datetime
    run_type: str
    data_interval_start: datetime | None
    data_interval_end: datetime | None
    conf: dict[str, Any] = field(default_factory=dict)

    @property
    def fencing_token(self) -> str:
        """This attempt's identity, ``<task_instance_id>:<try_number>``.

        Delivery is at least once: an attempt declared dead (its worker stopped heartbeating) is
        retried while its body may still be running. A task whose effects must happen once can record
        this token (or compare ``try_number``) where it writes, and refuse a write from an older try.
        """
        return f"{self.task_instance_id}:{self.try_number}"

    @property
    def is_last_try(self) -> bool:
        """Whether a failure of this attempt fails the task instance for good."""
        return self.try_number >= self.max_tries

    @classmethod
    def from_run_context(cls, context: TIRunContext) -> TaskContext:
        """Build from the run context the server answered ``run`` with."""
        ti, run = context.task_instance, context.dag_run
        return cls(
            task_instance_id=ti.id,
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index,
            try_number=ti.try_number,
            max_tries=context.max_tries,
            logical_date=run.logical_date,
            run_type=run.run_type,
            data_interval_start=run.data_interval_start,
            data_interval_end=run.data_interval_end,
            conf=run.conf.to_dict(),
        )


class TaskRuntime:
    """What a running task reaches the world through: its context, the API client, the local secrets."""

    def __init__(self, context: TaskContext, client: Client, secrets: LocalSecrets) -> None:
        self.context = context
        self.client = client
        self.secrets = secrets

    def get_variable(self, key: str, default: Any = NOT_FOUND) -> Any:
        """A variable's value: worker environment, secrets file, then the API."""
        local = self.secrets.variable(key)
        if local is not NOT_FOUND:
            return local
        try:
            return self.client.get_variable(key)
        except NotFoundError as exc:
            if default is not NOT_FOUND:
                return default
            raise VariableNotFoundError(key) from exc

    def set_variable(self, key: str, value: Any, description: str | None = None) -> None:
        """Store a variable through the API (a worker-side override still wins on reads)."""
        self.client.set_variable(key, value, description=description)

    def get_connection(self, conn_id: str) -> Connection:
        """A connection: worker environment, secrets file, then the API."""
        local = self.secrets.connection(conn_id)
        if local is not None:
            return local
        try:
            found = _expect(
                get_connection.sync(check_key("connection id", conn_id), client=self.client.generated),
                ConnectionResponse,
            )
        except NotFoundError as exc:
            raise ConnectionNotFoundError(conn_id) from exc
        extra = found.extra.to_dict() if found.extra is not None else {}
        return Connection(
            conn_id=found.conn_id,
            conn_type=found.conn_type,
            host=found.host,
            port=found.port,
            login=found.login,
            password=found.password,
            schema=found.schema,
            extra=extra,
        )

    def push_xcom(self, key: str, value: Any) -> None:
        """Push a JSON value as an XCom of this task instance."""
        ctx = self.context
        self.client.push_xcom(ctx.dag_id, ctx.run_id, ctx.task_id, key, value, map_index=ctx.map_index)

    def pull_xcom(self, task_id: str, key: str, run_id: str | None, default: Any = NOT_FOUND) -> Any:
        """An XCom of a task of this DAG (of this run unless ``run_id`` says otherwise)."""
        ctx = self.context
        try:
            return self.client.pull_xcom(ctx.dag_id, run_id or ctx.run_id, task_id, key)
        except NotFoundError as exc:
            if default is not NOT_FOUND:
                return default
            raise XComNotFoundError(task_id, key) from exc


def current_runtime(what: str) -> TaskRuntime:
    """The runtime of the task running in this context; NoTaskContextError naming ``what`` otherwise."""
    runtime = _current.get()
    if runtime is None:
        raise NoTaskContextError(f"{what} works only while a task runs (inside a task function)")
    return runtime


@contextmanager
def running(runtime: TaskRuntime) -> Iterator[TaskRuntime]:
    """Make ``runtime`` the current one for the block (one task's execution)."""
    token = _current.set(runtime)
    try:
        yield runtime
    finally:
        _current.reset(token)


def get_context() -> TaskContext:
    """The context of the running task: ids, logical date, conf, try number and max tries."""
    return current_runtime("get_context()").context


__all__ = ["RETURN_VALUE", "TaskContext", "TaskRuntime", "current_runtime", "get_context", "running"]
