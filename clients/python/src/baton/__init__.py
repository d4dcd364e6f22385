"""Baton Task SDK: author DAGs in Python, run them with a worker, and talk to the Baton API.

Authoring: ``@dag``/``DAG``, ``@task``/``Task``, dependencies with ``>>`` or by passing one
task's result to another; in a running task, ``get_context()``, ``Variable``, ``Connection`` and
``XCom``. Running: ``Worker`` (or the ``baton worker`` command). Talking to the API: ``Client``
and ``AsyncClient``, pinned to :data:`API_VERSION`. Errors: see :mod:`baton._errors`.
"""

from baton._accessors import Variable, XCom
from baton._client import AsyncClient, Client
from baton._connection import Connection
from baton._context import TaskContext, get_context
from baton._dag import DAG, dag
from baton._errors import (
    APIError,
    BadRequestError,
    BatonError,
    BundleError,
    ConflictError,
    ConnectionNotFoundError,
    ConnectionURIError,
    DagDefinitionError,
    ForbiddenError,
    InvalidRequestError,
    NoTaskContextError,
    NotFoundError,
    PayloadTooLargeError,
    SecretsFileError,
    ServerError,
    ServerTooOldError,
    TaskSkipped,
    TransportError,
    UnauthorizedError,
    VariableNotFoundError,
    VersionMismatchError,
    WorkerError,
    XComNotFoundError,
)
from baton._generated.api_version import API_VERSION
from baton._task import ExternalTask, Task, TaskRef, external_task, task
from baton._transport import RetryPolicy
from baton._worker import Worker

__all__ = [
    "API_VERSION",
    "DAG",
    "APIError",
    "AsyncClient",
    "BadRequestError",
    "BatonError",
    "BundleError",
    "Client",
    "ConflictError",
    "Connection",
    "ConnectionNotFoundError",
    "ConnectionURIError",
    "DagDefinitionError",
    "ExternalTask",
    "ForbiddenError",
    "InvalidRequestError",
    "NoTaskContextError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RetryPolicy",
    "SecretsFileError",
    "ServerError",
    "ServerTooOldError",
    "Task",
    "TaskContext",
    "TaskRef",
    "TaskSkipped",
    "TransportError",
    "UnauthorizedError",
    "Variable",
    "VariableNotFoundError",
    "VersionMismatchError",
    "Worker",
    "WorkerError",
    "XCom",
    "XComNotFoundError",
    "dag",
    "external_task",
    "get_context",
    "task",
]
