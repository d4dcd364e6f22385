"""Encryption at rest for connection secrets and signing keys (Fernet: AES-128-CBC with HMAC-SHA256).

``BATON_ENCRYPTION_KEY`` holds one key, or several separated by commas while a key is rotated: the first
encrypts, every one decrypts, and :meth:`SecretCipher.reencrypt` moves a secret to the first.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from baton_server.errors import ConfigurationError, SecretUnreadableError

A_STORED_SECRET = "a stored secret"  # noqa: S105 - words for a message, not a secret


class SecretCipher:
    """Encrypts with the first configured key; decrypts with any of them."""

    def __init__(self, key: str) -> None:
        keys = [part.strip() for part in key.split(",") if part.strip()]
        if not keys:
            raise ConfigurationError("BATON_ENCRYPTION_KEY: no key", setting="BATON_ENCRYPTION_KEY")
        fernets: list[Fernet] = []
        for position, text in enumerate(keys, 1):
            try:
                fernets.append(Fernet(text.encode()))
            except ValueError:
                which = "" if len(keys) == 1 else f" key {position} of {len(keys)} is"
                raise ConfigurationError(
                    f"BATON_ENCRYPTION_KEY:{which} not a Fernet key (32 url-safe base64-encoded bytes)",
                    setting="BATON_ENCRYPTION_KEY",
                ) from None
        self._fernet = MultiFernet(fernets)
        self.keys = len(fernets)
        """How many keys it holds (the first encrypts)."""

    def encrypt(self, plaintext: str | None) -> bytes | None:
        """Ciphertext of a secret (None stays None)."""
        return None if plaintext is None else self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes | None, *, what: str = A_STORED_SECRET) -> str | None:
        """The secret back; a ciphertext of a key not held is a SecretUnreadableError naming ``what``."""
        if ciphertext is None:
            return None
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise SecretUnreadableError(what) from None

    def reencrypt(self, ciphertext: bytes) -> bytes:
        """The same secret encrypted with the first key, whichever held key encrypted it."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise SecretUnreadableError(A_STORED_SECRET) from None
