"""Task tokens: JWTs scoped to one attempt of one task instance.

A *workload* token travels with the workload through the queue and is good only for starting
the attempt (``run``); ``run`` answers with a short-lived *execution* token that every other
execution route requires. Claims: ``sub`` (task instance id), ``aud``, ``scope``, ``try``,
``iat``, ``exp``, ``jti``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import jwt

from baton_server.errors import UnauthorizedError

AUDIENCE = "baton:execution"
ALGORITHM = "HS256"
TokenScope = Literal["workload", "execution"]
VERIFIED_CACHE_SIZE = 16384
"""Tokens whose verified claims are kept: a running task sends the same token every few seconds."""


def _expired() -> UnauthorizedError:
    return UnauthorizedError("the task token has expired", reason="token_expired")


@dataclass(frozen=True, slots=True)
class TaskClaims:
    """The verified claims of a task token."""

    task_instance_id: uuid.UUID
    try_number: int
    scope: TokenScope
    issued_at: int
    expires_at: int
    worker_id: uuid.UUID | None = None
    """A workload token's worker: only that worker's claim may start the attempt (None: older tokens)."""


class TokenService:
    """Signs and verifies task tokens with the server's signing key."""

    def __init__(
        self,
        signing_key: str,
        *,
        workload_ttl: int,
        execution_ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = signing_key
        self._ttl: dict[TokenScope, int] = {"workload": workload_ttl, "execution": execution_ttl}
        self._clock = clock
        # Token → its verified claims, oldest first. A hit skips the signature check and the
        # decoding (a quarter of a heartbeat's CPU); only the expiry is checked again.
        self._verified: dict[str, TaskClaims] = {}

    def issue(
        self,
        task_instance_id: uuid.UUID,
        try_number: int,
        scope: TokenScope,
        *,
        worker_id: uuid.UUID | None = None,
    ) -> str:
        """A new token for one attempt, valid for the scope's lifetime (a workload's names its worker)."""
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": str(task_instance_id),
            "aud": AUDIENCE,
            "scope": scope,
            "try": try_number,
            "iat": now,
            "exp": now + self._ttl[scope],
            "jti": uuid.uuid4().hex,
        }
        if worker_id is not None:
            claims["wid"] = str(worker_id)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def fresh_if_due(self, claims: TaskClaims, *, within: int) -> str | None:
        """A fresh execution token when the caller's expires within ``within`` seconds, else None."""
        if claims.scope != "execution" or claims.expires_at - self._clock() > within:
            return None
        return self.issue(claims.task_instance_id, claims.try_number, "execution")

    def verify(self, token: str) -> TaskClaims:
        """The claims of a valid token, or UnauthorizedError saying what is wrong with it."""
        known = self._verified.get(token)
        if known is not None:
            if self._clock() < known.expires_at:
                return known
            del self._verified[token]
            raise _expired()
        verified = self._verify(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = verified
        return verified

    def _verify(self, token: str) -> TaskClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "aud", "exp", "iat", "scope", "try"]},
            )
        except jwt.ExpiredSignatureError:
            raise _expired() from None
        except jwt.InvalidAudienceError:
            raise UnauthorizedError(
                "the token is not meant for the execution API", reason="token_invalid"
            ) from None
        except jwt.PyJWTError:
            raise UnauthorizedError(
                "the task token is malformed or not signed by this server", reason="token_invalid"
            ) from None
        try:
            ti_id = uuid.UUID(str(claims["sub"]))
            worker_id = uuid.UUID(str(claims["wid"])) if "wid" in claims else None
        except ValueError:
            raise UnauthorizedError(
                "the task token's subject is not a task instance id", reason="token_invalid"
            ) from None
        scope, try_number = claims["scope"], claims["try"]
        issued_at, expires_at = claims["iat"], claims["exp"]
        if (
            scope not in ("workload", "execution")
            or not _is_int_within(try_number, MAX_TRY_NUMBER)
            or not _is_int_within(issued_at, MAX_TIMESTAMP)
            or not _is_int_within(expires_at, MAX_TIMESTAMP)
        ):
            raise UnauthorizedError("the task token's claims are malformed", reason="token_invalid")
        return TaskClaims(
            task_instance_id=ti_id,
            try_number=try_number,
            scope=scope,
            issued_at=issued_at,
            expires_at=expires_at,
            worker_id=worker_id,
        )


MAX_TRY_NUMBER = 2**31 - 1
"""The largest try number the database stores (a 32-bit column): a token claiming more is malformed."""
MAX_TIMESTAMP = 253402300799
"""9999-12-31T23:59:59Z in seconds since 1970: the last instant a date-time column holds."""


def _is_int_within(value: object, maximum: int) -> bool:
    return type(value) is int and 0 <= value <= maximum
