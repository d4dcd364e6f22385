"""Task tokens: JWTs scoped to one attempt of one task instance.

A *workload* token travels with the workload through the queue and is good only for starting
the attempt (``run``); ``run`` answers with a short-lived *execution* token that every other
execution route requires. Claims: ``sub`` (task instance id), ``aud``, ``scope``, ``try``,
``iat``, ``exp``, ``jti``, and in a workload token ``wid``, the worker it was handed to.

Every token names its signing key in the header's ``kid``. The service signs with its active key
and verifies with any key it holds: the configured one (``kid`` ``static``, and every token
without a ``kid``, minted before key ids existed), and the rotated keys of the database
(:mod:`baton_server.services.signing_keys`), HS256 or Ed25519. A token naming a key the service
does not hold yet (another replica rotated first) is looked up through ``key_source`` before it
is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from jwt.algorithms import get_default_algorithms
from jwt.utils import base64url_encode

from baton_server.errors import UnauthorizedError

AUDIENCE = "baton:execution"
ALGORITHM = "HS256"
"""The algorithm of the configured key."""
STATIC_KID = "static"
"""The key id of the configured key (``BATON_SIGNING_KEY`` or the data folder's ``signing.key``)."""
ALGORITHMS = ("HS256", "EdDSA")
"""The algorithms a rotated key may use: a shared secret, or Ed25519 (its public half cannot mint)."""
KID_PATTERN = re.compile(r"[0-9]{14}-[0-9a-f]{8}")
"""The shape of a rotated key's id: only such ids are worth a database lookup."""
UNKNOWN_KID_RETRY = 1.0
"""Seconds before a key id the database did not know is looked up again."""
TokenScope = Literal["workload", "execution"]
VERIFIED_CACHE_SIZE = 16384
"""Tokens whose verified claims are kept: a running task sends the same token every few seconds."""


def _expired() -> UnauthorizedError:
    return UnauthorizedError("the task token has expired", reason="token_expired")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key: ``signing`` mints (None for a key that only verifies), ``verifying`` checks."""

    kid: str
    algorithm: str
    verifying: Any
    signing: Any = None


@dataclass(frozen=True, slots=True)
class _Minter:
    """Signing with one key, prepared once: its JWS header segment, its algorithm and its key as the
    algorithm takes it. ``jwt.encode`` rebuilds and checks all three for every token (three quarters
    of its time); the tokens are the same, byte for byte (``tests/unit/test_tokens.py``)."""

    key: SigningKey
    header: bytes
    algorithm: Any
    prepared: Any

    @classmethod
    def of(cls, key: SigningKey) -> _Minter:
        """Prepare ``key``, a key that signs."""
        algorithm = get_default_algorithms()[key.algorithm]
        header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
        segment = base64url_encode(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())
        return cls(key, segment, algorithm, algorithm.prepare_key(key.signing))

    def sign(self, claims: dict[str, object]) -> str:
        """The compact JWS of ``claims``."""
        payload = base64url_encode(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = self.header + b"." + payload
        return (
            signing_input + b"." + base64url_encode(self.algorithm.sign(signing_input, self.prepared))
        ).decode()


_COMPACT = re.compile(r"([A-Za-z0-9_-]*={0,2})\.([A-Za-z0-9_-]*={0,2})\.([A-Za-z0-9_-]*={0,2})")
"""A compact JWS: three base64url segments, each with the padding PyJWT accepts at most."""
_REQUIRED_CLAIMS = ("sub", "aud", "exp", "iat", "scope", "try")
_SUPPORTED_CRITICAL = frozenset({"b64"})


class _RefusedError(Exception):
    """A token the verifier refuses: ``reason`` picks the service's answer (``TokenService._verify``)."""

    def __init__(self, reason: Literal["malformed", "expired", "audience"]) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Verifier:
    """Verifying with one key, prepared once, as ``jwt.decode`` verifies with our options — the same
    checks in the same order, so a token gets the same answer (``tests/unit/test_tokens.py`` compares
    them). ``jwt.decode`` prepares the key again for every token and checks each segment's alphabet
    character by character in Python; this takes a third of its time for an HS256 token."""

    key: SigningKey
    algorithm: Any
    prepared: Any

    @classmethod
    def of(cls, key: SigningKey) -> _Verifier:
        """Prepare ``key`` for verifying."""
        algorithm = get_default_algorithms()[key.algorithm]
        try:
            return cls(key, algorithm, algorithm.prepare_key(key.verifying))
        except jwt.PyJWTError:  # a key PyJWT will not verify with: its tokens are refused, as before
            raise _RefusedError("malformed") from None

    def claims(self, token: str, now: float) -> dict[str, Any]:
        """The claims of ``token`` signed with this key and valid at ``now``, or :class:`_RefusedError`."""
        match = _COMPACT.fullmatch(token)
        if match is None:
            raise _RefusedError("malformed")
        header = _json_object(_segment(match[1]))
        if header.get("b64", True) is False or header.get("alg") != self.key.algorithm:
            raise _RefusedError("malformed")  # no detached payloads; only the key's algorithm
        if "kid" in header and not isinstance(header["kid"], str):
            raise _RefusedError("malformed")
        if "crit" in header and not _critical_understood(header):
            raise _RefusedError("malformed")
        payload, signature = _segment(match[2]), _segment(match[3])
        if not self.algorithm.verify(token[: match.end(2)].encode(), self.prepared, signature):
            raise _RefusedError("malformed")
        claims = _json_object(payload)
        _check_claims(claims, now)
        return claims


def _segment(segment: str) -> bytes:
    """A base64url segment's bytes: padding only to a multiple of four, and only in its one canonical
    spelling (the unused bits of the last character zero), as PyJWT decodes it."""
    stripped = segment.rstrip("=")
    if (stripped != segment and len(segment) % 4) or len(stripped) % 4 == 1:
        raise _RefusedError("malformed")
    try:
        decoded = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error:
        raise _RefusedError("malformed") from None
    if base64url_encode(decoded) != stripped.encode():
        raise _RefusedError("malformed")
    return decoded


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise _RefusedError("malformed") from None
    if not isinstance(value, dict):
        raise _RefusedError("malformed")
    return value


def _critical_understood(header: dict[str, Any]) -> bool:
    """A ``crit`` header PyJWT understands: a non-empty list of the extensions it supports, each present."""
    critical = header["crit"]
    return (
        isinstance(critical, list)
        and len(critical) > 0
        and all(isinstance(ext, str) and ext in _SUPPORTED_CRITICAL and ext in header for ext in critical)
    )


def _check_claims(claims: dict[str, Any], now: float) -> None:
    """PyJWT's checks of the claims with our options, in its order: the required ones present, the
    issue and not-before times past, the expiry ahead, the audience ours, the subject and id strings."""
    if any(claims.get(name) is None for name in _REQUIRED_CLAIMS):
        raise _RefusedError("malformed")
    if _instant(claims["iat"]) > now:
        raise _RefusedError("malformed")
    if "nbf" in claims and _instant(claims["nbf"]) > now:
        raise _RefusedError("malformed")
    if _instant(claims["exp"]) <= now:
        raise _RefusedError("expired")
    audience = claims["aud"]
    if not audience:
        raise _RefusedError("malformed")
    if isinstance(audience, str):
        audience = [audience]
    if not isinstance(audience, list) or any(not isinstance(a, str) for a in audience):
        raise _RefusedError("audience")
    if AUDIENCE not in audience:
        raise _RefusedError("audience")
    if not isinstance(claims["sub"], str) or ("jti" in claims and not isinstance(claims["jti"], str)):
        raise _RefusedError("malformed")


def _instant(value: Any) -> int:
    """A time claim as PyJWT reads it (``int(value)``), refused as malformed where ``int`` fails (PyJWT
    lets the ``OverflowError`` of an infinite one escape)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise _RefusedError("malformed") from None


KeySource = Callable[[str], Awaitable[SigningKey | None]]
"""Looks one key up by id (in the database), None when there is no such live key."""


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
    kid: str = STATIC_KID
    """The key that signed the token."""


class TokenService:
    """Signs task tokens with the active key and verifies them with any key it holds."""

    def __init__(
        self,
        signing_key: str | None,
        *,
        workload_ttl: int,
        execution_ttl: int,
        clock: Callable[[], float] = time.time,
        key_source: KeySource | None = None,
    ) -> None:
        self._ttl: dict[TokenScope, int] = {"workload": workload_ttl, "execution": execution_ttl}
        self._clock = clock
        self._key_source = key_source
        self._static: SigningKey | None = None
        self._keys: dict[str, SigningKey] = {}
        if signing_key is not None:
            self._static = SigningKey(STATIC_KID, ALGORITHM, signing_key, signing_key)
            self._keys[STATIC_KID] = self._static
        self._active: SigningKey | None = self._static
        self._minter: _Minter | None = None  # the active key's, prepared at its first token
        self._verifiers: dict[str, _Verifier] = {}  # key id → the key prepared, at its first token
        # Token → its verified claims, oldest first. A hit skips the signature check and the
        # decoding (a quarter of a heartbeat's CPU); only the expiry is checked again.
        self._verified: dict[str, TaskClaims] = {}
        # Key id → when it may be looked up again: a forged key id costs one query a second at most.
        self._unknown: dict[str, float] = {}

    @property
    def max_ttl(self) -> int:
        """The longest a token lives: how long a retired key must keep verifying."""
        return max(self._ttl.values())

    @property
    def active_kid(self) -> str | None:
        """The id of the key that signs new tokens (None: this service only verifies)."""
        return self._active.kid if self._active is not None else None

    def kids(self) -> list[str]:
        """The ids of every key the service verifies with."""
        return sorted(self._keys)

    def install(self, keys: list[SigningKey], active: str | None, *, keep_static: bool = True) -> None:
        """Hold ``keys``, and the configured one unless expired; ``active`` (None: configured) signs."""
        held = {key.kid: key for key in keys}
        if self._static is not None and keep_static:
            held.setdefault(STATIC_KID, self._static)
        chosen = held.get(active) if active is not None else self._static
        if chosen is None or chosen.signing is None:
            raise ValueError(f"the active key {active!r} cannot sign")
        self._keys = held
        self._active = chosen
        # A key no longer held must no longer verify, the tokens it signed that are cached included.
        self._verified = {t: c for t, c in self._verified.items() if c.kid in held}
        self._verifiers = {kid: v for kid, v in self._verifiers.items() if held.get(kid) is v.key}

    def add(self, key: SigningKey) -> None:
        """Verify with one more key (learnt from the database, or a public key)."""
        self._keys[key.kid] = key
        self._unknown.pop(key.kid, None)

    def issue(
        self,
        task_instance_id: uuid.UUID,
        try_number: int,
        scope: TokenScope,
        *,
        worker_id: uuid.UUID | None = None,
    ) -> str:
        """A new token for one attempt, valid for the scope's lifetime (a workload's names its worker)."""
        key = self._active
        if key is None or key.signing is None:
            raise RuntimeError("this token service holds no key that signs")
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
        minter = self._minter
        if minter is None or minter.key is not key:
            minter = self._minter = _Minter.of(key)
        token = minter.sign(claims)
        # Its first use (the attempt's ``run``, then its first log batch) is minutes or milliseconds
        # away, on this server most often: what was just signed needs no signature check then. Claims
        # verifying would refuse (a try number beyond the column's) are left to be refused.
        if _well_formed(scope, try_number, now, now + self._ttl[scope]):
            self._remember(
                token,
                TaskClaims(
                    task_instance_id=task_instance_id,
                    try_number=try_number,
                    scope=scope,
                    issued_at=now,
                    expires_at=now + self._ttl[scope],
                    worker_id=worker_id,
                    kid=key.kid,
                ),
            )
        return token

    def _remember(self, token: str, claims: TaskClaims) -> None:
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims

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
        verified = self._verify(token, self._key_for(token))
        self._remember(token, verified)
        return verified

    async def verify_async(self, token: str) -> TaskClaims:
        """Like :meth:`verify`, but a key this service does not hold yet is first looked up."""
        if token not in self._verified and self._key_source is not None:
            kid = _kid_of(token)
            if (
                kid is not None
                and kid not in self._keys
                and KID_PATTERN.fullmatch(kid)
                and self._unknown.get(kid, 0.0) <= self._clock()
            ):
                key = await self._key_source(kid)
                if key is not None:
                    self.add(key)
                else:
                    if len(self._unknown) >= 1024:
                        self._unknown.clear()
                    self._unknown[kid] = self._clock() + UNKNOWN_KID_RETRY
        return self.verify(token)

    def _key_for(self, token: str) -> SigningKey:
        try:
            kid = _unverified_header(token).get("kid", STATIC_KID)
        except ValueError:
            raise UnauthorizedError(
                "the task token is malformed or not signed by this server", reason="token_invalid"
            ) from None
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise UnauthorizedError(
                "the task token is signed with a key this server does not hold", reason="token_invalid"
            )
        return key

    def _verify(self, token: str, key: SigningKey) -> TaskClaims:
        try:
            verifier = self._verifiers.get(key.kid)
            if verifier is None or verifier.key is not key:
                verifier = self._verifiers[key.kid] = _Verifier.of(key)
            claims = verifier.claims(token, time.time())
        except _RefusedError as refused:
            if refused.reason == "expired":
                raise _expired() from None
            if refused.reason == "audience":
                raise UnauthorizedError(
                    "the token is not meant for the execution API", reason="token_invalid"
                ) from None
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
        if not _well_formed(scope, try_number, issued_at, expires_at):
            raise UnauthorizedError("the task token's claims are malformed", reason="token_invalid")
        return TaskClaims(
            task_instance_id=ti_id,
            try_number=try_number,
            scope=scope,
            issued_at=issued_at,
            expires_at=expires_at,
            worker_id=worker_id,
            kid=key.kid,
        )


MAX_TRY_NUMBER = 2**31 - 1
"""The largest try number the database stores (a 32-bit column): a token claiming more is malformed."""
MAX_TIMESTAMP = 253402300799
"""9999-12-31T23:59:59Z in seconds since 1970: the last instant a date-time column holds."""


def _unverified_header(token: str) -> dict[str, Any]:
    """A token's header, read without checking anything else (ValueError when it is not a JSON object).

    It only says which key checks the signature — that key's verifier then checks the whole token. Parsing
    the header alone costs a tenth of ``jwt.get_unverified_header``, which also decodes and checks
    the payload and the signature's encoding (per character, in Python).
    """
    segment, dot, _ = token.partition(".")
    if not dot:
        raise ValueError("not a JWT")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError("not a JWT header") from exc
    if not isinstance(header, dict):
        raise ValueError("not a JWT header")
    return header


def _kid_of(token: str) -> str | None:
    try:
        kid = _unverified_header(token).get("kid")
    except ValueError:
        return None
    return kid if isinstance(kid, str) else None


def _well_formed(scope: object, try_number: object, issued_at: object, expires_at: object) -> bool:
    return (
        scope in ("workload", "execution")
        and _is_int_within(try_number, MAX_TRY_NUMBER)
        and _is_int_within(issued_at, MAX_TIMESTAMP)
        and _is_int_within(expires_at, MAX_TIMESTAMP)
    )


def _is_int_within(value: object, maximum: int) -> bool:
    return type(value) is int and 0 <= value <= maximum
