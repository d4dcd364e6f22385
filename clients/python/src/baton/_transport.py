"""httpx transports that add what every Baton request needs around the generated client.

They send the pinned API version, the current token and a request id; swap in the token the
server returns in ``Refreshed-API-Token``; retry transport errors and 5xx answers of requests that
are safe to send again, with exponential backoff that honours ``Retry-After`` (a 503 while the
server's database is unreachable); and turn error answers into typed :mod:`baton._errors`.

Safe to send again: every GET, PUT, PATCH and DELETE (idempotent by contract), and the POSTs the
API makes safe: worker and DAG registrations (upserts), claims (a claim that lists what the worker
holds gets back workloads whose answer was lost) and log batches (a ``batch_id`` stores a batch once).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass

import httpx

from baton._errors import REQUEST_ID_HEADER, TransportError, error_from_response
from baton._generated.api_version import API_VERSION

VERSION_HEADER = "Baton-API-Version"
REFRESHED_TOKEN_HEADER = "Refreshed-API-Token"  # noqa: S105 - a header name, not a secret
# Every PATCH of the Baton API is idempotent by contract (`run` replays its answer for the same host
# and pid, `state` repeats harmlessly, a DAG update sets fields); the server's tests hold it to that.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
RETRYABLE_POSTS = re.compile(
    r"/workers/(registrations|dags|[^/]+/claims)$|/execution/task-instances/[^/]+/logs$"
)
"""POST routes whose repeat is harmless (see above); matched against the path after the base URL's."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently idempotent requests are retried."""

    attempts: int = 4
    """Tries in all, the first included; 1 turns retries off."""
    backoff: float = 0.2
    """Seconds before the first retry; doubled for each further one."""
    max_backoff: float = 5.0
    give_up_after: float | None = None
    """Seconds from the first try after which no retry starts (the request fails with its last error);
    None: only ``attempts`` bounds the retries."""

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RetryPolicy: attempts must be at least 1, not {self.attempts}")
        for name in ("backoff", "max_backoff", "give_up_after"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"RetryPolicy: {name} must be a finite number of seconds ≥ 0, not {value}")

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), with jitter; at least ``Retry-After``
        seconds when the server said so, but never more than ``max_backoff``."""
        base: float = min(self.max_backoff, self.backoff * (2 ** min(retry - 1, 20)))
        jittered = base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography
        asked = _seconds(retry_after)
        return jittered if asked is None else min(self.max_backoff, max(jittered, asked))

    def allows(self, attempt: int, started: float, delay: float) -> bool:
        """Whether retry ``attempt + 1`` may start after waiting ``delay`` seconds, the first try having
        started at ``started`` (``time.monotonic()``)."""
        if attempt >= self.attempts:
            return False
        return self.give_up_after is None or time.monotonic() - started + delay <= self.give_up_after


TASK_RETRY_POLICY = RetryPolicy(attempts=1000, backoff=0.2, max_backoff=5.0, give_up_after=60.0)
"""The policy of the client a task's own code calls the API through (variables, connections, XComs): it
rides out a server that is away for up to a minute — a restart, an upgrade, a replica replaced — where
the default policy gives up after about a second, failing the task."""


def _seconds(retry_after: str | None) -> float | None:
    try:
        return max(0.0, float(retry_after)) if retry_after else None
    except ValueError:
        return None  # an HTTP date: ignored, the backoff applies


class _Credentials:
    """The current token, shared by the sync and async transports of one client; thread-safe."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._lock = threading.Lock()

    @property
    def token(self) -> str | None:
        with self._lock:
            return self._token

    def replace(self, token: str | None) -> None:
        with self._lock:
            self._token = token

    def update_from(self, response: httpx.Response) -> None:
        refreshed = response.headers.get(REFRESHED_TOKEN_HEADER)
        if refreshed:
            with self._lock:
                self._token = refreshed


def _prepare(request: httpx.Request, credentials: _Credentials, version: str) -> None:
    request.headers[VERSION_HEADER] = version
    token = credentials.token
    if token:
        request.headers["Authorization"] = f"Bearer {token}"
    if REQUEST_ID_HEADER not in request.headers:
        # One id for every try of this request: the server's logs tie the retries together.
        request.headers[REQUEST_ID_HEADER] = uuid.uuid4().hex


def _may_retry(request: httpx.Request, error: httpx.TransportError | None) -> bool:
    if request.method in IDEMPOTENT_METHODS:
        return True
    if request.method == "POST" and RETRYABLE_POSTS.search(request.url.path):
        return True
    # A request that never reached the server can be sent again whatever its method.
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


_SENT_TOKEN = re.compile(r"Bearer[^'\"]*")
"""A token in an error's text: httpx's refusal of a header quotes the header's value, token and all."""


def _transport_error(request: httpx.Request, error: httpx.TransportError) -> TransportError:
    said = _SENT_TOKEN.sub("Bearer <token>", str(error))
    return TransportError(f"{request.method} {request.url}: {type(error).__name__}: {said}")


class _ByScheme(httpx.BaseTransport):
    """httpx's own transport, built per scheme when first needed: a plain ``http://`` server never
    costs an SSL context (loading the CA bundle is a tenth of a task process's start)."""

    def __init__(self) -> None:
        self._plain: httpx.HTTPTransport | None = None
        self._tls: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the transport of its scheme."""
        if request.url.scheme == "http":
            # No TLS is spoken on this transport, so it needs (and verifies) no certificate.
            self._plain = self._plain or httpx.HTTPTransport(verify=False)
            return self._plain.handle_request(request)
        self._tls = self._tls or httpx.HTTPTransport()
        return self._tls.handle_request(request)

    def close(self) -> None:
        """Close what was built."""
        for inner in (self._plain, self._tls):
            if inner is not None:
                inner.close()


_HTTPX_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)
"""httpx's default limits of a client's pool."""


class _AsyncByScheme(httpx.AsyncBaseTransport):
    """Asynchronous twin of :class:`_ByScheme`."""

    def __init__(self, limits: httpx.Limits | None = None) -> None:
        self._plain: httpx.AsyncHTTPTransport | None = None
        self._tls: httpx.AsyncHTTPTransport | None = None
        self._limits = limits or _HTTPX_LIMITS

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the transport of its scheme."""
        if request.url.scheme == "http":
            self._plain = self._plain or httpx.AsyncHTTPTransport(verify=False, limits=self._limits)
            return await self._plain.handle_async_request(request)
        self._tls = self._tls or httpx.AsyncHTTPTransport(limits=self._limits)
        return await self._tls.handle_async_request(request)

    async def aclose(self) -> None:
        """Close what was built."""
        for inner in (self._plain, self._tls):
            if inner is not None:
                await inner.aclose()


class SharedConnections:
    """One pool of keep-alive connections lent to many clients: closing a client that borrows it
    leaves the connections open for the next one; its owner closes them (:meth:`aclose`) once no
    borrower sends any more.

    The worker's attempts each have a client of their own (each its own token), one after the other
    or side by side; borrowing this pool, an attempt's ``run`` goes out on a connection that is
    already open instead of opening one (the address lookup and the connect, for the client and the
    server), and its log batches and final state follow on it.
    """

    def __init__(self, keep_open: int = 20, inner: httpx.AsyncBaseTransport | None = None) -> None:
        # No cap on connections in use (each attempt had a pool of its own before: none waits for
        # another's), up to ``keep_open`` kept open while idle.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=keep_open)
        self._inner = inner or _AsyncByScheme(limits)

    def lend(self) -> httpx.AsyncBaseTransport:
        """A transport for one client, sending through this pool; its ``aclose`` keeps the pool open."""
        return _Borrowed(self._inner)

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._inner.aclose()


class _Borrowed(httpx.AsyncBaseTransport):
    """A client's view of a :class:`SharedConnections` pool: the client closes it, the pool stays."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the shared pool."""
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Leave the shared connections open: they are their owner's to close."""


class BatonTransport(httpx.BaseTransport):
    """Synchronous transport: version and token headers, token refresh, retries, typed errors."""

    def __init__(
        self,
        credentials: _Credentials,
        *,
        inner: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        version: str = API_VERSION,
    ) -> None:
        self._credentials = credentials
        self._inner = inner or _ByScheme()
        self._retry = retry or RetryPolicy()
        self._version = version

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with Baton's headers, retrying and raising as described above."""
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            _prepare(request, self._credentials, self._version)
            try:
                response = self._inner.handle_request(request)
                # Read here, not by the caller: a body cut short (a server killed after its headers)
                # is a transport error that the rules above retry.
                body = response.read()
            except httpx.TransportError as exc:
                delay = self._retry.delay(attempt)
                if not (_may_retry(request, exc) and self._retry.allows(attempt, started, delay)):
                    raise _transport_error(request, exc) from exc
                time.sleep(delay)
                continue
            self._credentials.update_from(response)
            if response.status_code >= 500 and _may_retry(request, None):
                delay = self._retry.delay(attempt, response.headers.get("Retry-After"))
                if self._retry.allows(attempt, started, delay):
                    time.sleep(delay)
                    continue
            if response.status_code >= 400:
                raise error_from_response(response.status_code, body, response.headers.get(REQUEST_ID_HEADER))
            return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


class AsyncBatonTransport(httpx.AsyncBaseTransport):
    """Asynchronous twin of :class:`BatonTransport`."""

    def __init__(
        self,
        credentials: _Credentials,
        *,
        inner: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        version: str = API_VERSION,
    ) -> None:
        self._credentials = credentials
        self._inner = inner or _AsyncByScheme()
        self._retry = retry or RetryPolicy()
        self._version = version

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with Baton's headers, retrying and raising as described above."""
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            _prepare(request, self._credentials, self._version)
            try:
                response = await self._inner.handle_async_request(request)
                body = await response.aread()  # a body cut short is retried, as in the sync transport
            except httpx.TransportError as exc:
                delay = self._retry.delay(attempt)
                if not (_may_retry(request, exc) and self._retry.allows(attempt, started, delay)):
                    raise _transport_error(request, exc) from exc
                await asyncio.sleep(delay)
                continue
            self._credentials.update_from(response)
            if response.status_code >= 500 and _may_retry(request, None):
                delay = self._retry.delay(attempt, response.headers.get("Retry-After"))
                if self._retry.allows(attempt, started, delay):
                    await asyncio.sleep(delay)
                    continue
            if response.status_code >= 400:
                raise error_from_response(response.status_code, body, response.headers.get(REQUEST_ID_HEADER))
            return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()
