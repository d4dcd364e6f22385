"""The thin client layer against a live server: version pinning, request ids, typed errors."""

from __future__ import annotations

import socket

import httpx
import pytest
from baton import (
    API_VERSION,
    AsyncClient,
    Client,
    InvalidKeyError,
    NotFoundError,
    RetryPolicy,
    ServerTooOldError,
    TransportError,
    UnauthorizedError,
    VersionMismatchError,
)
from baton._generated.api.health import check_execution_health
from live_server import LiveServer


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that keeps the requests it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.mark.parametrize("api", ["execution", "workers", "admin"])
def test__health__each_api__answers_ok(live_server: LiveServer, api: str) -> None:
    with Client(live_server.base_url) as client:
        status = client.health(api)  # type: ignore[arg-type]
    assert (status.status, status.database) == ("ok", "ok")


async def test__async_health__answers_ok(live_server: LiveServer) -> None:
    async with AsyncClient(live_server.base_url) as client:
        status = await client.health("workers")
    assert (status.status, status.database) == ("ok", "ok")


def test__every_request__sends_pinned_version_token_and_request_id(live_server: LiveServer) -> None:
    recorder = RecordingTransport()
    with Client(live_server.base_url, "tok", transport=recorder) as client:
        response = check_execution_health.sync_detailed(client=client.generated)
        client.health("admin")
    assert [r.headers["Baton-API-Version"] for r in recorder.requests] == [API_VERSION, API_VERSION]
    assert {r.headers["Authorization"] for r in recorder.requests} == {"Bearer tok"}
    assert response.headers["Baton-API-Version"] == API_VERSION
    assert response.headers["X-Request-ID"] == recorder.requests[0].headers["X-Request-ID"]


def test__unknown_route__not_found_error_with_request_id(live_server: LiveServer) -> None:
    with Client(live_server.base_url) as client, pytest.raises(NotFoundError) as caught:
        client.generated.get_httpx_client().get("/execution/no-such-route")
    error = caught.value
    assert (error.status, error.reason) == (404, "not_found")
    assert error.request_id is not None
    assert len(error.request_id) == 32
    assert error.request_id in str(error)


_BAD_KEYS = ["", "a/b", "../x", "a b", ".hidden", "k" * 251]


@pytest.mark.parametrize("key", _BAD_KEYS)
def test__key_the_api_cannot_take__invalid_key_error_nothing_sent(live_server: LiveServer, key: str) -> None:
    """A key with ``/`` (or empty) reached no route: the server's 404 read as "not set"."""
    recorder = RecordingTransport()
    calls = {
        "XCom key": lambda c: c.pull_xcom("d", "r", "t", key),
        "XCom key ": lambda c: c.push_xcom("d", "r", "t", key, 1),
        "task id": lambda c: c.pull_xcom("d", "r", key, "k"),
        "variable key": lambda c: c.get_variable(key),
        "variable key ": lambda c: c.set_variable(key, 1),
        "connection id": lambda c: c.get_connection(key),
    }
    with Client(live_server.base_url, "tok", transport=recorder) as client:
        for kind, call in calls.items():
            with pytest.raises(InvalidKeyError, match=f"^{kind.strip()} .* is not valid: use 1 to 250"):
                call(client)
        assert recorder.requests == []
        with pytest.raises(UnauthorizedError):  # a valid key is sent (and this token refused)
            client.pull_xcom("d", "r", "t", "k")
    assert len(recorder.requests) == 1


async def test__async_key_with_slash__invalid_key_error(live_server: LiveServer) -> None:
    async with AsyncClient(live_server.base_url, "tok") as client:
        with pytest.raises(InvalidKeyError, match=r"^XCom key 'a/b' is not valid"):
            await client.pull_xcom("d", "r", "t", "a/b")
        with pytest.raises(InvalidKeyError, match=r"^run id 'r/1' is not valid"):
            await client.pull_xcom("d", "r/1", "t", "k")
        with pytest.raises(InvalidKeyError, match=r"^variable key '' is not valid"):
            await client.get_variable("")
        with pytest.raises(InvalidKeyError, match=r"^connection id 'a/b' is not valid"):
            await client.get_connection("a/b")


def test__client_newer_than_server__server_too_old_error(live_server: LiveServer) -> None:
    # A client generated for a version the server has never heard of: the transport of a future SDK.
    from baton._transport import BatonTransport, _Credentials

    transport = BatonTransport(_Credentials(None), version="2999-01-01")
    with (
        httpx.Client(base_url=live_server.base_url, transport=transport) as http,
        pytest.raises(ServerTooOldError) as caught,
    ):
        http.get("/execution/health")
    assert isinstance(caught.value, VersionMismatchError)
    assert caught.value.reason == "client_version_too_new"
    assert caught.value.message.startswith("upgrade the Baton server")
    assert API_VERSION in caught.value.message


def test__server_unreachable__transport_error_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        recorder = RecordingTransport()
        retry = RetryPolicy(attempts=3, backoff=0.01)
        with (
            Client(f"http://127.0.0.1:{port}", retry=retry, transport=recorder) as client,
            pytest.raises(TransportError, match="ConnectError"),
        ):
            client.health()
    assert len(recorder.requests) == 3
