"""Baton Task SDK: author DAGs in Python, run them with a worker, and talk to the Baton API.

Authoring: ``@dag``/``DAG``, ``@task``/``Task``, dependencies with ``>>`` or by passing one
task's result to another; in a running task, ``get_context()``, ``Variable``, ``Connection`` and
``XCom``. Running: ``Worker`` (or the ``baton worker`` command). Talking to the API: ``Client``
and ``AsyncClient``, pinned to :data:`API_VERSION`. Errors: see :mod:`baton._errors`.

The names are imported on first use (PEP 562), so that a task process importing ``baton`` pays
only for what its task uses (not for the worker, say).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        InvalidKeyError,
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

_SOURCES = {
    "Variable": "baton._accessors",
    "XCom": "baton._accessors",
    "AsyncClient": "baton._client",
    "Client": "baton._client",
    "Connection": "baton._connection",
    "TaskContext": "baton._context",
    "get_context": "baton._context",
    "DAG": "baton._dag",
    "dag": "baton._dag",
    "APIError": "baton._errors",
    "BadRequestError": "baton._errors",
    "BatonError": "baton._errors",
    "BundleError": "baton._errors",
    "ConflictError": "baton._errors",
    "ConnectionNotFoundError": "baton._errors",
    "ConnectionURIError": "baton._errors",
    "DagDefinitionError": "baton._errors",
    "ForbiddenError": "baton._errors",
    "InvalidKeyError": "baton._errors",
    "InvalidRequestError": "baton._errors",
    "NoTaskContextError": "baton._errors",
    "NotFoundError": "baton._errors",
    "PayloadTooLargeError": "baton._errors",
    "SecretsFileError": "baton._errors",
    "ServerError": "baton._errors",
    "ServerTooOldError": "baton._errors",
    "TaskSkipped": "baton._errors",
    "TransportError": "baton._errors",
    "UnauthorizedError": "baton._errors",
    "VariableNotFoundError": "baton._errors",
    "VersionMismatchError": "baton._errors",
    "WorkerError": "baton._errors",
    "XComNotFoundError": "baton._errors",
    "API_VERSION": "baton._generated.api_version",
    "ExternalTask": "baton._task",
    "Task": "baton._task",
    "TaskRef": "baton._task",
    "external_task": "baton._task",
    "task": "baton._task",
    "RetryPolicy": "baton._transport",
    "Worker": "baton._worker",
}
"""Where each public name lives."""


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'baton' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, imported or not."""
    return sorted(set(globals()) | set(__all__))


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
    "InvalidKeyError",
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
