"""A fast lane for the hottest request of all: a heartbeat that succeeds.

The heartbeat route is declared like any other, so it is in every version's spec and every
generated client, and all its errors come from the one error path. But a heartbeat that can be
answered ``204`` is answered here, ahead of the framework's routing, Cadwyn's two dependency
solves and its response migration: one token check, one body validation with the route's own
model, and one UPDATE through the same service function. Anything else — a malformed body, a
missing or bad token, a 404 or 409 — is replayed untouched to the declared route, which gives
the canonical answer. See docs/adr/0002-lean-request-path.md.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from cadwyn import VersionBundle, VersionChange
from pydantic import TypeAdapter, ValidationError
from starlette.types import Scope

from baton_server.api.schemas.execution import TIHeartbeatPayload
from baton_server.errors import DomainError
from baton_server.runtime import Runtime
from baton_server.services.task_instances import heartbeat

HEARTBEAT_PATH = "/execution/task-instances/{task_instance_id}/heartbeat"
_PATH_RE = re.compile(r"^/execution/task-instances/([0-9a-fA-F-]{32,36})/heartbeat$")
_PAYLOAD = TypeAdapter(TIHeartbeatPayload)


def _touches_heartbeat(change: type[VersionChange]) -> bool:
    return (
        any(getattr(i, "schema", None) is TIHeartbeatPayload for i in change.alter_schema_instructions)
        or any(
            getattr(i, "endpoint_path", None) == HEARTBEAT_PATH for i in change.alter_endpoint_instructions
        )
        or TIHeartbeatPayload in change.alter_request_by_schema_instructions
        or HEARTBEAT_PATH in change.alter_request_by_path_instructions
        or HEARTBEAT_PATH in change.alter_response_by_path_instructions
    )


def fast_path_versions(bundle: VersionBundle) -> frozenset[str]:
    """The versions whose heartbeat is HEAD's: no change since then touches its route or its body."""
    served: set[str] = set()
    for version in bundle.versions:  # newest first
        served.add(str(version.value))
        if any(_touches_heartbeat(change) for change in version.changes):
            break  # this version's changes migrate from older ones: those are not HEAD-shaped
    return frozenset(served)


def matches(scope: Scope) -> bool:
    """Whether the request is a heartbeat the fast lane may try."""
    return scope["method"] == "PUT" and _PATH_RE.match(scope["path"]) is not None


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


@dataclass(frozen=True, slots=True)
class Answered:
    """The heartbeat was recorded; ``refreshed_token`` goes out when the caller's token nears expiry."""

    refreshed_token: str | None


async def try_heartbeat(scope: Scope, body: bytes) -> Answered | None:
    """Record a heartbeat if it succeeds as is; None lets the declared route answer instead."""
    runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
    token = _bearer(scope)
    match = _PATH_RE.match(scope["path"])
    if runtime is None or token is None or match is None or not runtime.settings.heartbeat_fast_path:
        return None
    try:
        task_instance_id = uuid.UUID(match.group(1))
        payload: Any = _PAYLOAD.validate_json(body)
        claims = runtime.tokens.verify(token)
        async with runtime.autocommit.connect() as conn:
            await heartbeat(conn, claims, task_instance_id, hostname=payload.hostname, pid=payload.pid)
    except (ValueError, ValidationError, DomainError):
        return None
    return Answered(runtime.tokens.fresh_if_due(claims, within=runtime.settings.token_refresh_before))
