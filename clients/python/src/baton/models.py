"""The wire models of the API version this package was generated for (attrs classes, generated)."""

from baton._generated.models import *  # noqa: F403 - the generated package's own export list
from baton._generated.models import __all__ as _generated_all

__all__ = list(_generated_all)
