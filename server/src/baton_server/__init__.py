"""Baton API server: the only component with database credentials."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("baton-server")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
    __version__ = "0.0.0"
