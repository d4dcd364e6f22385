"""Who may use the web UI: an admin token pasted once, kept as a signed session cookie.

The cookie holds the admin credential's id, an expiry and the session's CSRF token, signed with
HMAC-SHA256 under a key derived from ``BATON_ENCRYPTION_KEY`` (which every replica shares), so any
replica reads any replica's session. Nothing of a session is stored until it logs out: then a hash of
its CSRF token is, until the cookie expires, and the cookie is refused. The admin token itself is
never kept. Every request loads the credential again, so a revoked token ends its sessions at once.
A request may instead carry the admin token as ``Authorization: Bearer`` (no cookie, no CSRF).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from baton_server.api.deps import parse_bearer
from baton_server.db.tables import CredentialRecord, UiSessionEndedRecord
from baton_server.db.types import utcnow
from baton_server.errors import UnauthorizedError
from baton_server.services._sql import insert_ignoring_conflicts
from baton_server.services.credentials import authenticate, live_credential

SESSION_COOKIE = "baton_ui_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_KEY_CONTEXT = b"baton web UI session v1"


@dataclass(frozen=True, slots=True)
class UiSession:
    """What a session cookie says, once its signature and expiry are checked."""

    credential_id: uuid.UUID
    csrf_token: str
    expires_at: int

    @property
    def key(self) -> str:
        """What an ended session is stored under: a hash of its CSRF token, new at every login."""
        return hashlib.sha256(self.csrf_token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Operator:
    """The admin behind a UI request; ``csrf_token`` is None when a bearer token (not a cookie) was used."""

    credential: CredentialRecord
    csrf_token: str | None
    session: UiSession | None = None
    """The session of a cookie (None for a bearer token)."""


class LoginRequiredError(Exception):
    """The request carries no valid session or admin token."""


class CsrfRefusedError(Exception):
    """A state-changing request's CSRF token is missing or wrong."""


class SessionSigner:
    """Issues and reads session cookies under one key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def issue(self, credential_id: uuid.UUID, ttl: int, now: float | None = None) -> tuple[str, UiSession]:
        """A new session for the credential: the cookie value, and what it says."""
        session = UiSession(
            credential_id=credential_id,
            csrf_token=secrets.token_urlsafe(32),
            expires_at=int((now if now is not None else time.time()) + ttl),
        )
        payload = json.dumps(
            {"c": str(session.credential_id), "x": session.csrf_token, "e": session.expires_at},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}", session

    def read(self, value: str, now: float | None = None) -> UiSession | None:
        """The session a cookie value holds, or None when it is malformed, forged or expired."""
        encoded, _, signature = value.partition(".")
        try:
            payload, mac = _unb64(encoded), _unb64(signature)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            fields = json.loads(payload)
            session = UiSession(
                credential_id=uuid.UUID(fields["c"]), csrf_token=str(fields["x"]), expires_at=int(fields["e"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires_at <= (now if now is not None else time.time()):
            return None
        return session


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@lru_cache(maxsize=4)
def signer_for(encryption_key: str) -> SessionSigner:
    """The session signer of a server, its key derived from the encryption key that encrypts (the first of
    ``BATON_ENCRYPTION_KEY``'s keys), so that adding a key behind it ends no login."""
    first = encryption_key.split(",")[0].strip()
    return SessionSigner(hmac.new(first.encode(), _KEY_CONTEXT, hashlib.sha256).digest())


async def identify(
    session: AsyncSession, signer: SessionSigner, authorization: str | None, cookie: str | None
) -> Operator:
    """The operator of a request: by bearer admin token, else by session cookie (else LoginRequiredError).

    An ``Authorization`` header of another scheme is not ours: a proxy in front of the UI that asks
    for HTTP Basic auth makes the browser send one with every request, so it must neither end the
    session nor stand in for it (the session, and its CSRF check, decide then)."""
    if authorization and authorization.partition(" ")[0].lower() == "bearer":
        token = parse_bearer(authorization)
        if token is None:
            raise LoginRequiredError
        try:
            return Operator(await authenticate(session, token, "admin"), csrf_token=None)
        except UnauthorizedError:
            raise LoginRequiredError from None
    ui_session = signer.read(cookie) if cookie else None
    if ui_session is None:
        raise LoginRequiredError
    try:
        credential = await live_credential(session, ui_session.credential_id, "admin")
    except UnauthorizedError:
        raise LoginRequiredError from None
    if await session.get(UiSessionEndedRecord, ui_session.key) is not None:
        raise LoginRequiredError  # logged out: a copy of its cookie is no session
    return Operator(credential, csrf_token=ui_session.csrf_token, session=ui_session)


async def end_session(session: AsyncSession, ui_session: UiSession) -> None:
    """Log a session out: its cookie is refused until it expires (when the record of it goes too)."""
    await session.execute(
        insert_ignoring_conflicts(
            session,
            UiSessionEndedRecord,
            {
                "session_hash": ui_session.key,
                "expires_at": datetime.fromtimestamp(ui_session.expires_at, UTC),
            },
        )
    )
    await session.execute(delete(UiSessionEndedRecord).where(UiSessionEndedRecord.expires_at < utcnow()))
    await session.commit()


def check_csrf(operator: Operator, submitted: str | None) -> None:
    """Refuse a state-changing request from a session whose CSRF token was not sent back."""
    if operator.csrf_token is None:
        return  # a bearer token is no ambient credential: a forged cross-site request cannot carry it
    if not submitted or not hmac.compare_digest(submitted.encode(), operator.csrf_token.encode()):
        raise CsrfRefusedError
