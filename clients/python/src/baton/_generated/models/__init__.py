"""Contains all the data models used in inputs/outputs"""

from .health_status import HealthStatus
from .http_validation_error import HTTPValidationError
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext

__all__ = (
    "HTTPValidationError",
    "HealthStatus",
    "ValidationError",
    "ValidationErrorContext",
)
