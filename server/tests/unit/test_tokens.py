"""Task tokens: verified claims are kept per token, but never past the token's expiry."""

from __future__ import annotations

import time
import uuid

import pytest
from baton_server.errors import UnauthorizedError
from baton_server.services import tokens
from baton_server.services.tokens import TokenService

KEY = "k" * 64


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test__verify__known_token__same_claims_until_expiry_then_expired() -> None:
    clock = Clock()
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60, clock=clock)
    token = service.issue(uuid.uuid4(), 2, "execution")
    first = service.verify(token)
    assert service.verify(token) is first  # kept, not decoded again
    clock.now = first.expires_at - 0.001
    assert service.verify(token) is first
    clock.now = first.expires_at
    with pytest.raises(UnauthorizedError) as expired:
        service.verify(token)
    assert expired.value.reason == "token_expired"
    assert token not in service._verified


def test__verify__refused_tokens__never_kept() -> None:
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    forged = TokenService("x" * 64, workload_ttl=3600, execution_ttl=60).issue(uuid.uuid4(), 1, "execution")
    for _ in range(2):
        with pytest.raises(UnauthorizedError) as refused:
            service.verify(forged)
        assert refused.value.reason == "token_invalid"
    assert service._verified == {}


def test__verify__cache_is_bounded__oldest_dropped_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    service = TokenService(KEY, workload_ttl=3600, execution_ttl=60)
    issued = [service.issue(uuid.uuid4(), 1, "execution") for _ in range(5)]
    for token in issued:
        service.verify(token)
    assert list(service._verified) == issued[2:]
    assert service.verify(issued[0]).scope == "execution"  # dropped ones still verify, the long way
