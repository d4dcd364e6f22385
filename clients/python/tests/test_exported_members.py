"""The public surface of ``baton`` is exactly this list: a change here is an API change."""

from __future__ import annotations

import baton

EXPECTED = [
    "APIError",
    "API_VERSION",
    "AsyncClient",
    "BadRequestError",
    "BatonError",
    "BundleError",
    "Client",
    "ConflictError",
    "Connection",
    "ConnectionNotFoundError",
    "ConnectionURIError",
    "DAG",
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


def test__public_surface__frozen() -> None:
    assert sorted(baton.__all__) == EXPECTED
    assert all(hasattr(baton, name) for name in baton.__all__)


def test__api_version__is_a_date_string() -> None:
    assert isinstance(baton.API_VERSION, str)
    year, month, day = baton.API_VERSION.split("-")
    assert (len(year), len(month), len(day)) == (4, 2, 2)
