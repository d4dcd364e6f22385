"""The server's error hierarchy.

    BatonServerError
    ├── ConfigurationError          bad settings; the CLI prints one line and exits non-zero
    │   └── SecretUnreadableError   a stored secret BATON_ENCRYPTION_KEY cannot decrypt; the API answers 503
    └── DomainError                 raised by services; the API turns it into {"reason", "message"}
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── ForbiddenError          403
        ├── UnauthorizedError       401
        ├── PayloadTooLargeError    413
        └── InvalidInputError       422

Services raise these, never HTTP exceptions: the status lives on the class, the reason on the
instance, and only ``api/errors.py`` turns them into responses.
"""

from __future__ import annotations

from typing import ClassVar


class BatonServerError(Exception):
    """Base of every error the server raises on purpose."""


class ConfigurationError(BatonServerError):
    """A setting is missing, malformed or points at something unreachable."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class SecretUnreadableError(ConfigurationError):
    """A stored secret was encrypted with a key ``BATON_ENCRYPTION_KEY`` does not hold."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"BATON_ENCRYPTION_KEY: {what} was encrypted with a key it does not hold (list the key it was "
            "encrypted with after the new one, separated by a comma, while secrets are re-encrypted)",
            setting="BATON_ENCRYPTION_KEY",
        )
        self.what = what


class DomainError(BatonServerError):
    """A request cannot be honoured; carries a snake_case reason and a human sentence."""

    status_code: ClassVar[int] = 400
    default_reason: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason


class NotFoundError(DomainError):
    """The addressed resource does not exist."""

    status_code = 404
    default_reason = "not_found"


class ConflictError(DomainError):
    """The resource is in a state that does not allow the operation."""

    status_code = 409
    default_reason = "conflict"


class ForbiddenError(DomainError):
    """The caller is authenticated but may not touch this resource."""

    status_code = 403
    default_reason = "forbidden"


class UnauthorizedError(DomainError):
    """The caller's credential is missing, invalid, expired or revoked."""

    status_code = 401
    default_reason = "unauthorized"


class PayloadTooLargeError(DomainError):
    """A body or value exceeds its configured size limit."""

    status_code = 413
    default_reason = "payload_too_large"


class InvalidInputError(DomainError):
    """The input is well-formed but not acceptable (a DAG with a cycle, say)."""

    status_code = 422
    default_reason = "invalid_input"
