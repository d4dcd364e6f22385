"""What each version's OpenAPI document says beyond what FastAPI derives from the routes.

FastAPI documents the routes' parameters, bodies and success responses. This module, run as
Cadwyn's ``openapi_customizer`` on every version's document, adds what the server does around
them, the same in every version:

- the ``Baton-API-Version`` request header: optional, and what the server does without it;
- the response headers every answer carries (``Baton-API-Version``, ``X-Request-ID``) and the
  token swap of task operations (``Refreshed-API-Token``);
- every error status of every operation, with the ``reason`` codes it sends as an enum, from
  the catalogue in :mod:`baton_server.api.reasons`;
- ``security: []`` on the health checks, a ``servers`` entry, and the tags' descriptions.

None of it is a field: released documents take it through the recorded amendment of
:mod:`baton_server.spec_freeze`.
"""

from __future__ import annotations

from typing import Any

from baton_server.api.errors import ErrorBody
from baton_server.api.middleware import REFRESHED_TOKEN_HEADER, REQUEST_ID_HEADER, VERSION_HEADER
from baton_server.api.reasons import Reason, reasons_of

_METHODS = ("get", "put", "post", "delete", "patch")
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
LICENSE = {"name": "Apache-2.0", "identifier": "Apache-2.0"}
ERROR_BODY_REF = "#/components/schemas/ErrorBody"

TAGS = [
    {"name": "task-instances", "description": "Start, heartbeat and finish an attempt (Task Execution API)."},
    {"name": "logs", "description": "Ship a running attempt's log lines (Task Execution API)."},
    {
        "name": "variables",
        "description": "Read and write variables from a running task (Task Execution API).",
    },
    {
        "name": "connections",
        "description": "Read a connection granted to the task's DAG (Task Execution API).",
    },
    {
        "name": "xcoms",
        "description": "Push and pull XComs between the tasks of a DAG run (Task Execution API).",
    },
    {"name": "workers", "description": "Register workers and DAGs, claim workloads (Worker API)."},
    {
        "name": "admin",
        "description": "Operate Baton: DAGs, runs, variables, connections, workers (admin API).",
    },
    {"name": "health", "description": "Whether the server and its database answer; no credential needed."},
]

SERVERS = [
    {
        "url": "/",
        "description": "The server that serves this document (`GET /openapi.json?version=...`): "
        "every path is relative to the server's base URL, `http://127.0.0.1:8080` for a local "
        "`baton-server serve`.",
    }
]

_STATUS_TITLES = {
    400: "Bad request",
    401: "Missing, invalid, expired or revoked credential",
    403: "The credential may not do this",
    404: "Not found",
    409: "Conflict with the resource's current state",
    413: "Payload too large",
    422: "Invalid input",
    500: "Internal error",
    503: "Unavailable",
}

RETRY_AFTER_HEADER = "Retry-After"

HEADERS: dict[str, dict[str, Any]] = {
    VERSION_HEADER: {
        "description": "The API version that served the request: the one the client named, or the server's "
        "latest when it named none.",
        "schema": {"type": "string", "format": "date", "examples": ["2026-12-02"]},
    },
    REQUEST_ID_HEADER: {
        "description": "The request's id: the client's `X-Request-ID` when it sent a valid one, else a new "
        "one. The server's log lines of the request carry it.",
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
    },
    RETRY_AFTER_HEADER: {
        "description": "How many seconds to wait before trying again (sent with 503: the metadata database "
        "cannot be reached right now).",
        "schema": {"type": "integer", "minimum": 0},
    },
    REFRESHED_TOKEN_HEADER: {
        "description": "A new task token for the caller to use from now on: the execution token on `run`, "
        "and a fresh one on any answer (errors included) when the caller's execution token nears expiry.",
        "schema": {"type": "string"},
    },
}


def _header_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _describe_version_header(parameter: dict[str, Any], version: str) -> None:
    parameter.pop("examples", None)
    parameter["required"] = False
    parameter["description"] = (
        f"The API version the client was built for: `{version}` for this document. Optional: without it "
        "(or empty) the server answers in its latest version, named in the response's `Baton-API-Version` "
        "header. A version the server does not serve is a 400 (`unsupported_api_version`, or "
        "`client_version_too_new` for a date after the server's latest)."
    )
    # `format: date`, not a pattern: schemathesis 4.32 takes any pattern on a header as a reason to judge
    # an unknown query parameter as negative data the server should refuse.
    parameter["schema"] = {"type": "string", "format": "date", "examples": [version], "title": VERSION_HEADER}


def _error_response(status: int, reasons: tuple[Reason, ...], headers: dict[str, Any]) -> dict[str, Any]:
    listing = "\n".join(f"- `{r.code}`: {r.meaning}" for r in reasons)
    return {
        "description": f"{_STATUS_TITLES.get(status, 'Error')}. The `reason` is one of:\n\n{listing}",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [{"$ref": ERROR_BODY_REF}],
                    "properties": {"reason": {"enum": [r.code for r in reasons]}},
                }
            }
        },
    }


def _document_operation(operation: dict[str, Any], version: str) -> None:
    parameters = operation.get("parameters", [])
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name") == VERSION_HEADER:
            _describe_version_header(parameter, version)
    credentials = [name for requirement in operation.get("security", []) for name in requirement]
    if not credentials:
        operation["security"] = []  # answers without a credential, whatever the document's default
    has_body = "requestBody" in operation
    has_input = has_body or any(p.get("name") != VERSION_HEADER for p in parameters)
    by_status = reasons_of(
        operation["operationId"],
        credentials=credentials,
        has_input=has_input,
        has_body=has_body,
        version=version,
    )
    success = {code: r for code, r in operation.get("responses", {}).items() if int(code) < 400}
    served = {VERSION_HEADER: _header_ref(VERSION_HEADER), REQUEST_ID_HEADER: _header_ref(REQUEST_ID_HEADER)}
    if "TaskToken" in credentials:
        served[REFRESHED_TOKEN_HEADER] = _header_ref(REFRESHED_TOKEN_HEADER)
    for response in success.values():
        response["headers"] = dict(served)
    responses: dict[str, Any] = dict(success)
    for status, reasons in by_status.items():
        # A refused version never reached a version, so a 400 names none.
        headers = {k: v for k, v in served.items() if status != 400 or k != VERSION_HEADER}
        if status == 503:
            headers[RETRY_AFTER_HEADER] = _header_ref(RETRY_AFTER_HEADER)
        responses[str(status)] = _error_response(status, reasons, headers)
    operation["responses"] = responses


def document_api(document: dict[str, Any], version: str | None) -> dict[str, Any]:
    """Cadwyn's ``openapi_customizer``: complete one version's document (see the module docstring)."""
    if version is None:
        return document
    for path_item in document.get("paths", {}).values():
        for method in _METHODS:
            if method in path_item:
                _document_operation(path_item[method], version)
    document["info"]["license"] = LICENSE
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in _FASTAPI_VALIDATION_SCHEMAS:  # its 422 body; ours is ErrorBody
        schemas.pop(unused, None)
    schemas["ErrorBody"] = ErrorBody.model_json_schema()
    components["headers"] = HEADERS
    first = {"openapi": document["openapi"], "info": document["info"], "servers": SERVERS, "tags": TAGS}
    return {**first, **{key: value for key, value in document.items() if key not in first}}
