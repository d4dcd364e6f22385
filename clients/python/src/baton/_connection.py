"""Connections: how to reach an external system, as a task reads it (:class:`Connection`).

A connection can be written as a URI, ``<type>://<login>:<password>@<host>:<port>/<schema>?<extra>``,
with every part optional and percent-encoded; query parameters become ``extra`` (strings), and
``__extra__=<JSON object>`` supplies an ``extra`` of any JSON. Example:
``postgres://etl:s3cr%40t@db.internal:5432/warehouse?sslmode=require``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from baton._errors import ConnectionURIError


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection's fields; the password is left out of ``repr``. ``Connection.get(id)`` reads one."""

    conn_id: str
    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = field(default=None, repr=False)
    schema: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def get(cls, conn_id: str) -> Connection:
        """The connection of that id: from the worker's environment, its secrets file, then the API."""
        from baton._context import current_runtime

        return current_runtime("Connection.get").get_connection(conn_id)

    @classmethod
    def from_uri(cls, conn_id: str, uri: str) -> Connection:
        """Read a connection URI (see the module docstring); ConnectionURIError when it is not one."""
        parts = urlsplit(uri)
        if not parts.scheme or "://" not in uri:
            raise ConnectionURIError(
                f"connection {conn_id!r}: not a URI like type://user:pass@host:port/schema"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise ConnectionURIError(f"connection {conn_id!r}: bad port: {exc}") from None
        extra: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key == "__extra__":
                try:
                    loaded = json.loads(value)
                except ValueError:
                    raise ConnectionURIError(f"connection {conn_id!r}: __extra__ is not JSON") from None
                if not isinstance(loaded, dict):
                    raise ConnectionURIError(f"connection {conn_id!r}: __extra__ must be a JSON object")
                extra.update(loaded)
            else:
                extra[key] = value
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        return cls(
            conn_id=conn_id,
            conn_type=parts.scheme,
            host=unquote(parts.hostname) if parts.hostname else None,
            port=port,
            login=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            schema=unquote(path) if path else None,
            extra=extra,
        )

    @classmethod
    def from_json(cls, conn_id: str, data: Any) -> Connection:
        """Read the JSON-object form: ``{"conn_type": ..., "host": ..., "port": ..., "extra": {...}}``."""
        if not isinstance(data, dict) or not isinstance(data.get("conn_type"), str):
            raise ConnectionURIError(f"connection {conn_id!r}: a JSON connection needs a string 'conn_type'")
        known = {"conn_type", "host", "port", "login", "password", "schema", "extra"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConnectionURIError(f"connection {conn_id!r}: unknown field(s) {', '.join(unknown)}")
        port = data.get("port")
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise ConnectionURIError(f"connection {conn_id!r}: port must be an integer")
        extra = data.get("extra") or {}
        if not isinstance(extra, dict):
            raise ConnectionURIError(f"connection {conn_id!r}: extra must be a JSON object")
        return cls(
            conn_id=conn_id,
            conn_type=data["conn_type"],
            host=data.get("host"),
            port=port,
            login=data.get("login"),
            password=data.get("password"),
            schema=data.get("schema"),
            extra=extra,
        )

    @classmethod
    def parse(cls, conn_id: str, text: str) -> Connection:
        """A connection from its URI, or from its JSON-object form when ``text`` starts with ``{``."""
        stripped = text.strip()
        if stripped.startswith("{"):
            try:
                data = json.loads(stripped)
            except ValueError as exc:
                raise ConnectionURIError(f"connection {conn_id!r}: not valid JSON: {exc}") from None
            return cls.from_json(conn_id, data)
        return cls.from_uri(conn_id, stripped)

    def get_uri(self) -> str:
        """This connection as a URI (extra values that are not strings go into ``__extra__``)."""
        credentials = ""
        if self.login is not None or self.password is not None:
            credentials = quote(self.login or "", safe="")
            if self.password is not None:
                credentials += ":" + quote(self.password, safe="")
            credentials += "@"
        host = quote(self.host or "", safe="")
        port = f":{self.port}" if self.port is not None else ""
        schema = "/" + quote(self.schema, safe="") if self.schema else ""
        plain = {k: v for k, v in self.extra.items() if isinstance(v, str) and k != "__extra__"}
        query = (
            urlencode(plain)
            if len(plain) == len(self.extra)
            else urlencode({"__extra__": json.dumps(self.extra)})
        )
        return f"{self.conn_type}://{credentials}{host}{port}{schema}" + (f"?{query}" if query else "")


__all__ = ["Connection"]
