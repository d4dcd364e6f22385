"""``Client`` and ``AsyncClient``: the generated Baton API client, wired for real use.

Construct one from the server's base URL and a token; every generated operation is then callable
with ``client.generated`` as its ``client=`` argument, and the common ones have methods here.
"""

from __future__ import annotations

from types import TracebackType
from typing import Literal, Self, TypeVar

import httpx

from baton._errors import BatonError
from baton._generated.api.health import check_admin_health, check_execution_health, check_workers_health
from baton._generated.api_version import API_VERSION
from baton._generated.client import AuthenticatedClient
from baton._generated.models import HealthStatus
from baton._transport import AsyncBatonTransport, BatonTransport, RetryPolicy, _Credentials

T = TypeVar("T")
ApiName = Literal["execution", "workers", "admin"]

_HEALTH = {
    "execution": check_execution_health,
    "workers": check_workers_health,
    "admin": check_admin_health,
}


def _expect(parsed: object, kind: type[T]) -> T:
    # Error statuses were raised by the transport: anything else here is a contract violation.
    if not isinstance(parsed, kind):
        raise BatonError(f"unexpected response: wanted {kind.__name__}, got {type(parsed).__name__}")
    return parsed


def _generated_client(base_url: str, timeout: float) -> AuthenticatedClient:
    # Authentication is the transport's job (the token changes under it): the generated client's
    # own token is never sent, because its httpx clients are replaced below.
    return AuthenticatedClient(base_url=base_url, token="", timeout=httpx.Timeout(timeout))


class Client:
    """Synchronous Baton API client pinned to :data:`baton.API_VERSION`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._credentials = _Credentials(token)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=BatonTransport(self._credentials, inner=transport, retry=retry),
        )
        self.generated = _generated_client(base_url, timeout)
        """The generated client to pass as ``client=`` to any operation in ``baton._generated.api``."""
        self.generated.set_httpx_client(self._http)

    @property
    def api_version(self) -> str:
        """The API version sent on every request."""
        return API_VERSION

    @property
    def token(self) -> str | None:
        """The token in use: the one given, or the latest the server refreshed it to."""
        return self._credentials.token

    def health(self, api: ApiName = "execution") -> HealthStatus:
        """Check that the server and its database answer, through one of the three APIs."""
        return _expect(_HEALTH[api].sync(client=self.generated), HealthStatus)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient:
    """Asynchronous Baton API client pinned to :data:`baton.API_VERSION`."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._credentials = _Credentials(token)
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=AsyncBatonTransport(self._credentials, inner=transport, retry=retry),
        )
        self.generated = _generated_client(base_url, timeout)
        """The generated client to pass as ``client=`` to any operation's ``asyncio`` functions."""
        self.generated.set_async_httpx_client(self._http)

    @property
    def api_version(self) -> str:
        """The API version sent on every request."""
        return API_VERSION

    @property
    def token(self) -> str | None:
        """The token in use: the one given, or the latest the server refreshed it to."""
        return self._credentials.token

    async def health(self, api: ApiName = "execution") -> HealthStatus:
        """Check that the server and its database answer, through one of the three APIs."""
        return _expect(await _HEALTH[api].asyncio(client=self.generated), HealthStatus)

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
