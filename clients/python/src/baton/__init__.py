"""Baton Task SDK: the client of the Baton API, pinned to the API version it was generated for."""

from baton._client import AsyncClient, Client
from baton._errors import (
    APIError,
    BadRequestError,
    BatonError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    ServerError,
    ServerTooOldError,
    TransportError,
    UnauthorizedError,
    VersionMismatchError,
)
from baton._generated.api_version import API_VERSION
from baton._transport import RetryPolicy

__all__ = [
    "API_VERSION",
    "APIError",
    "AsyncClient",
    "BadRequestError",
    "BatonError",
    "Client",
    "ConflictError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ServerTooOldError",
    "TransportError",
    "UnauthorizedError",
    "VersionMismatchError",
]
