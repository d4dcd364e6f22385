"""Encryption at rest for connection secrets (Fernet: AES-128-CBC with HMAC-SHA256)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from baton_server.errors import ConfigurationError


class SecretCipher:
    """Encrypts and decrypts connection passwords and extras with the configured key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except ValueError:
            raise ConfigurationError(
                "BATON_ENCRYPTION_KEY: not a Fernet key (32 url-safe base64-encoded bytes)",
                setting="BATON_ENCRYPTION_KEY",
            ) from None

    def encrypt(self, plaintext: str | None) -> bytes | None:
        """Ciphertext of a secret (None stays None)."""
        return None if plaintext is None else self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes | None) -> str | None:
        """The secret back; a ciphertext from another key is a configuration error."""
        if ciphertext is None:
            return None
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise ConfigurationError(
                "BATON_ENCRYPTION_KEY: a stored secret was encrypted with another key",
                setting="BATON_ENCRYPTION_KEY",
            ) from None
