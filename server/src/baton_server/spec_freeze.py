"""The freeze of released API versions, and the one exception to it: a recorded amendment.

A released version's ``spec/<version>.json`` never changes, with one exception: an *amendment*
that documents what the server already did, and changes no field. Two records, both reviewed
like any code change, enforce that:

- ``WIRE`` holds, per released version, the SHA-256 of its *wire*: every operation's method,
  path, id, parameters (but the version header), request body and success-response schemas, and
  every component schema they reach. It is written once, at release, and never changes: a
  change of the code that would alter it is refused, amendment or not.
- ``AMENDMENTS`` lists each amendment with, per version it touches, the SHA-256 of the amended
  document. ``nox -s spec`` rewrites a released document only when the code renders exactly
  that document; anything else is refused as before.

What an amendment may change is therefore what lies outside the wire: descriptions, summaries and
tags of operations, the ``servers`` entry, ``security: []`` on operations that need no
credential, the version header's documentation, response headers, error responses, links.
See docs/adr/released-spec-amendments.md.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

VERSION_HEADER = "Baton-API-Version"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True, slots=True)
class Amendment:
    """A recorded documentation-only change of released documents."""

    name: str
    date: str
    description: str
    documents: dict[str, str]
    """Released version → SHA-256 of its document as amended."""


WIRE: dict[str, str] = {
    "2026-09-01": "94cb0db3374551c2f1db4d5e58f6032a46e59b9ce6802705c39360115e11dfe4",
    "2026-10-15": "1b19564ad9d9ad34f211477d594bca6085efb60fbc3aa1bef72d04a311e999f5",
    "2026-11-24": "6a66d55ec543a08c8b7ce5d403df48ddb6bb25286942e5dd8108a528c2a875b4",
}
"""Released version → SHA-256 of its wire (:func:`wire_fingerprint`), recorded at release."""

AMENDMENTS: tuple[Amendment, ...] = (
    Amendment(
        name="DocumentHeadersErrorsAndTags",
        date="2026-12-02",
        description=(
            "The document now says what the server has always done: `Baton-API-Version` is optional (without "
            "it the server answers in its latest version); every answer's `Baton-API-Version` and "
            "`X-Request-ID` headers, and task operations' `Refreshed-API-Token`; every error status of every "
            "operation, with the `reason` codes it sends (503 `database_unavailable` with `Retry-After` "
            "during a database outage included); `security: []` on the health checks; a `servers` "
            "entry, the license, and a description and tag on every operation."
        ),
        documents={
            "2026-09-01": "d3640b26c9c68dc4132c5065496cb4434e5bcdca7fd3a037d23cae0d003271b7",
            "2026-10-15": "46e57af476e626e2a246680285684a564d751ce4434be0b86b116f7aa8e67bea",
            "2026-11-24": "f70edfeb46deb6d821b0ffd0cc273cbd1f2b38912979a77670cc2e7debc46465",
        },
    ),
    Amendment(
        name="DocumentVariableGrantRefusals",
        date="2026-12-07",
        description=(
            "A task's variable read, write or delete lists the `403` reasons a server sends in every version "
            "once an operator narrows a variable's grants: `variable_not_granted` (reading) and "
            "`variable_not_writable` (writing or deleting). Older documents listed only "
            "`execution_token_required`, so a client checking the reason against its document met a code "
            "it did not know."
        ),
        documents={
            "2026-09-01": "cab8b8462d4c5b98e3e70993c889b8fe9e4bbcc60ccc6d38393080752369a984",
            "2026-10-15": "7ef5cf6ff815bb65af4d224ed3a0b8545cf43d779b56b7b1eebdf722ebafe375",
            "2026-11-24": "f732e1d0624a50896bdf0f272b96b7aec4d997e66fe96ef164491872e5230ea8",
        },
    ),
)
"""Every amendment of released documents, oldest first."""


def sha256(text: str) -> str:
    """The hex SHA-256 of a document's exact text."""
    return hashlib.sha256(text.encode()).hexdigest()


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node)) if node else set()
    return set()


def wire(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a document that defines what goes over the wire (see the module docstring)."""
    operations: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [
                {key: p.get(key) for key in ("name", "in", "required", "schema")}
                for p in [*item.get("parameters", []), *operation.get("parameters", [])]
                if not (p.get("in") == "header" and p.get("name") == VERSION_HEADER)
            ]
            operations[f"{method.upper()} {path}"] = {
                "operationId": operation.get("operationId"),
                "parameters": sorted(parameters, key=lambda p: (str(p["in"]), str(p["name"]))),
                "requestBody": operation.get("requestBody"),
                "responses": {
                    status: response.get("content")
                    for status, response in operation.get("responses", {}).items()
                    if not str(status).startswith(("4", "5"))
                },
            }
    schemas = document.get("components", {}).get("schemas", {})
    reached: set[str] = set()
    pending = _refs(operations)
    while pending:
        name = pending.pop()
        if name in reached or name not in schemas:
            continue
        reached.add(name)
        pending |= _refs(schemas[name])
    return {"operations": operations, "schemas": {name: schemas[name] for name in sorted(reached)}}


def wire_fingerprint(document: dict[str, Any]) -> str:
    """The SHA-256 of a document's wire."""
    return sha256(json.dumps(wire(document), sort_keys=True, separators=(",", ":")))


def amended_document(version: str) -> tuple[Amendment, str] | None:
    """The latest amendment of ``version`` and the hash of the document it recorded, if any."""
    for amendment in reversed(AMENDMENTS):
        if version in amendment.documents:
            return amendment, amendment.documents[version]
    return None


def released_problem(version: str, committed: str | None, rendered: str) -> tuple[str | None, bool]:
    """Judge a released version's rendered document against the freeze: (problem, may be written).

    No problem and not writable: in sync. A problem that may be written: a recorded amendment
    the committed file has not taken yet. A problem that may not: a refused change.
    """
    recorded_wire = WIRE.get(version)
    if recorded_wire is None:
        return f"released version {version} has no recorded wire in spec_freeze.WIRE", False
    if wire_fingerprint(json.loads(rendered)) != recorded_wire:
        return (
            f"the wire of released version {version} would change (a field, parameter, body or success "
            "response): released versions are immutable; make it a new version with migrations "
            "(docs/versioning.md)"
        ), False
    if committed == rendered:
        return None, False
    amended = amended_document(version)
    if amended is not None and sha256(rendered) == amended[1]:
        return (
            f"released version {version} takes the recorded amendment {amended[0].name}; run `nox -s spec`",
            True,
        )
    return (
        f"the released version {version} would change. Released versions are immutable: revert the "
        "change, make it a new version with migrations (docs/versioning.md), or, for documentation of what "
        "the server already does, record an amendment in spec_freeze.AMENDMENTS (the rendered document's "
        f"SHA-256 is {sha256(rendered)})"
    ), False
