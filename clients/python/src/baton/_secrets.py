"""Worker-side secrets: variables and connections found on the worker before the API is asked.

Looked up in this order, the first hit winning:

1. the environment: ``BATON_VAR_<KEY>`` holds a variable's value as JSON (a value that is not
   JSON is taken as a plain string), ``BATON_CONN_<ID>`` a connection as a URI or a JSON object;
   ``<KEY>``/``<ID>`` is the key upper-cased, with ``.`` and ``-`` written as ``_``;
2. the secrets file (``--secrets-file`` / ``BATON_SECRETS_FILE``), a JSON object::

       {"variables":   {"greeting": "hello", "limits": {"rows": 1000}},
        "connections": {"warehouse": "postgres://etl:secret@db:5432/dw",
                        "api": {"conn_type": "http", "host": "api.example", "extra": {"timeout": 5}}}}

3. the server, through the Task Execution API.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from baton._connection import Connection
from baton._errors import SecretsFileError

VARIABLE_PREFIX = "BATON_VAR_"
CONNECTION_PREFIX = "BATON_CONN_"
SECRETS_FILE_ENV = "BATON_SECRETS_FILE"
_MISSING = object()


def env_name(prefix: str, key: str) -> str:
    """The environment variable that overrides ``key``: prefix + key upper-cased, ``.``/``-`` as ``_``."""
    return prefix + re.sub(r"[.\-]", "_", key).upper()


def _read_file(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SecretsFileError(f"secrets file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise SecretsFileError(f"secrets file {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) - {"variables", "connections"}:
        raise SecretsFileError(f"secrets file {path}: expected an object with 'variables' and 'connections'")
    variables, connections = data.get("variables", {}), data.get("connections", {})
    if not isinstance(variables, dict) or not isinstance(connections, dict):
        raise SecretsFileError(f"secrets file {path}: 'variables' and 'connections' must be objects")
    return variables, connections


@dataclass(slots=True)
class LocalSecrets:
    """The worker's own variables and connections: an environment and an optional secrets file."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    file: Path | None = None
    _variables: dict[str, Any] | None = None
    _connections: dict[str, Any] | None = None

    def _load(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._variables is None or self._connections is None:
            self._variables, self._connections = _read_file(self.file) if self.file else ({}, {})
        return self._variables, self._connections

    def check(self) -> None:
        """Read the secrets file now, so that a broken one is reported when the worker starts."""
        self._load()

    def variable(self, key: str) -> Any:
        """The variable's value if the worker defines it, else :data:`NOT_FOUND`."""
        raw = self.environ.get(env_name(VARIABLE_PREFIX, key))
        if raw is not None:
            try:
                return json.loads(raw)
            except ValueError:
                return raw
        variables, _ = self._load()
        return variables.get(key, _MISSING)

    def connection(self, conn_id: str) -> Connection | None:
        """The connection if the worker defines it, else None."""
        raw = self.environ.get(env_name(CONNECTION_PREFIX, conn_id))
        if raw is not None:
            return Connection.parse(conn_id, raw)
        _, connections = self._load()
        value = connections.get(conn_id)
        if value is None:
            return None
        if isinstance(value, str):
            return Connection.parse(conn_id, value)
        return Connection.from_json(conn_id, value)


NOT_FOUND = _MISSING
"""What :meth:`LocalSecrets.variable` returns for a variable the worker does not define."""

__all__ = ["NOT_FOUND", "SECRETS_FILE_ENV", "LocalSecrets", "SecretsFileError", "env_name"]
