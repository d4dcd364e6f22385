"""The transport's retry, token-refresh and error-mapping rules, against scripted server answers."""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from baton import (
    API_VERSION,
    AsyncClient,
    Client,
    ConflictError,
    InvalidRequestError,
    RetryPolicy,
    ServerError,
    TransportError,
    UnauthorizedError,
    _transport,
)
from baton._generated.models.log_line_level import check_log_line_level
from baton._transport import TASK_RETRY_POLICY, SharedConnections
from baton.models import LogBatch, LogLine, TIStatePayload

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, backoff=0.001)
HEALTHY = {"status": "ok", "database": "ok"}


def _script(*answers: httpx.Response | Exception) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each request with the next scripted answer, and the requests it saw."""
    seen: list[httpx.Request] = []
    pending = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler), seen


def _error(status: int, reason: str, message: str = "m", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"reason": reason, "message": message}, headers=headers)


def test__refreshed_token_header__used_from_the_next_request_on() -> None:
    transport, seen = _script(
        httpx.Response(200, json=HEALTHY, headers={"Refreshed-API-Token": "fresh"}),
        httpx.Response(200, json=HEALTHY),
    )
    with Client("http://baton.test", "stale", transport=transport) as client:
        client.health()
        assert client.token == "fresh"
        client.health()
    assert [r.headers["Authorization"] for r in seen] == ["Bearer stale", "Bearer fresh"]
    assert {r.headers["Baton-API-Version"] for r in seen} == {API_VERSION}


def test__get_5xx_then_ok__retried_with_the_same_request_id() -> None:
    transport, seen = _script(_error(503, "unavailable"), httpx.Response(200, json=HEALTHY))
    with Client("http://baton.test", retry=FAST, transport=transport) as client:
        assert client.health().status == "ok"
    assert len(seen) == 2
    assert seen[0].headers["X-Request-ID"] == seen[1].headers["X-Request-ID"]


def test__get_5xx_every_time__server_error_after_all_attempts() -> None:
    transport, seen = _script(*[_error(500, "internal_error", **{"X-Request-ID": "r1"})] * 3)
    with (
        Client("http://baton.test", retry=FAST, transport=transport) as client,
        pytest.raises(ServerError) as e,
    ):
        client.health()
    assert len(seen) == 3
    assert (e.value.status, e.value.reason, e.value.request_id) == (500, "internal_error", "r1")


def _post(client: Client) -> httpx.Response:
    return client.generated.get_httpx_client().post("/execution/things", json={})


def test__post_5xx__not_retried() -> None:
    transport, seen = _script(_error(502, "bad_gateway"), httpx.Response(200))
    with Client("http://baton.test", retry=FAST, transport=transport) as client, pytest.raises(ServerError):
        _post(client)
    assert len(seen) == 1


def test__finish_5xx_then_ok__retried_because_every_patch_is_idempotent() -> None:
    transport, seen = _script(
        _error(502, "bad_gateway"), httpx.Response(200, json={"state": "success", "try_number": 1})
    )
    with Client("http://baton.test", "t", retry=FAST, transport=transport) as client:
        done = client.finish(uuid.uuid4(), TIStatePayload(state="success", end_date=NOW))
    assert done.state == "success"
    assert [r.method for r in seen] == ["PATCH", "PATCH"]
    assert seen[0].headers["X-Request-ID"] == seen[1].headers["X-Request-ID"]


def test__post_connect_error__retried_because_never_sent() -> None:
    transport, seen = _script(httpx.ConnectError("refused"), httpx.Response(201, json={}))
    with Client("http://baton.test", retry=FAST, transport=transport) as client:
        assert _post(client).status_code == 201
    assert len(seen) == 2


def test__post_read_timeout__not_retried() -> None:
    transport, seen = _script(httpx.ReadTimeout("slow"), httpx.Response(201))
    with (
        Client("http://baton.test", retry=FAST, transport=transport) as client,
        pytest.raises(TransportError),
    ):
        _post(client)
    assert len(seen) == 1


class _CutShort(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that ends before its Content-Length: the server was killed after sending its headers."""

    def __iter__(self) -> Iterator[bytes]:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")
        yield b""  # pragma: no cover - makes this an async generator


def _cut_short() -> httpx.Response:
    return httpx.Response(200, headers={"Content-Length": "607"}, stream=_CutShort())


FINISHED = {"state": "success", "try_number": 1}


def test__finish_answer_cut_short__retried_as_a_transport_error() -> None:
    transport, seen = _script(_cut_short(), httpx.Response(200, json=FINISHED))
    with Client("http://baton.test", "t", retry=FAST, transport=transport) as client:
        done = client.finish(uuid.uuid4(), TIStatePayload(state="success", end_date=NOW))
    assert done.state == "success"
    assert len(seen) == 2
    assert seen[0].headers["X-Request-ID"] == seen[1].headers["X-Request-ID"]


def test__post_answer_cut_short__not_retried_and_raised_as_the_sdks_transport_error() -> None:
    transport, seen = _script(_cut_short(), httpx.Response(201))
    with (
        Client("http://baton.test", retry=FAST, transport=transport) as client,
        pytest.raises(TransportError, match="RemoteProtocolError"),
    ):
        _post(client)
    assert len(seen) == 1


async def test__async__answer_cut_short__retried_or_raised_like_sync() -> None:
    answers: list[Callable[[], httpx.Response]] = [
        _cut_short,
        lambda: httpx.Response(200, json=FINISHED),
        *[_cut_short] * FAST.attempts,
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)()

    body = TIStatePayload(state="success", end_date=NOW)
    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        assert (await client.finish(uuid.uuid4(), body)).state == "success"
        with pytest.raises(TransportError, match="RemoteProtocolError"):
            await client.finish(uuid.uuid4(), body)
    assert len(seen) == 2 + FAST.attempts


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (_error(401, "token_expired", "the token expired"), UnauthorizedError),
        (_error(409, "not_running", "the task instance is not running"), ConflictError),
        (_error(422, "validation_error", "pid: field required"), InvalidRequestError),
        (httpx.Response(409, text="<html>proxy</html>"), ConflictError),
    ],
)
def test__error_status__typed_error_with_reason_and_message(
    response: httpx.Response, expected: type[Exception]
) -> None:
    transport, _ = _script(response)
    with Client("http://baton.test", transport=transport) as client, pytest.raises(expected) as caught:
        client.health()
    body = response.content
    if body.startswith(b"{"):
        assert caught.value.reason == json.loads(body)["reason"]  # type: ignore[attr-defined]
        assert caught.value.message == json.loads(body)["message"]  # type: ignore[attr-defined]
    else:
        assert caught.value.reason == "http_409"  # type: ignore[attr-defined]


async def test__async__refresh_retry_and_errors_behave_like_sync() -> None:
    answers: list[Callable[[], httpx.Response]] = [
        lambda: _error(503, "unavailable"),
        lambda: httpx.Response(200, json=HEALTHY, headers={"Refreshed-API-Token": "fresh"}),
        lambda: _error(409, "conflict"),
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)()

    async with AsyncClient(
        "http://baton.test", "stale", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        assert (await client.health()).status == "ok"
        with pytest.raises(ConflictError):
            await client.health()
    assert [r.headers["Authorization"] for r in seen] == ["Bearer stale", "Bearer stale", "Bearer fresh"]


def test__retry_after__waited_at_least_that_long_but_never_past_max_backoff() -> None:
    policy = RetryPolicy(attempts=3, backoff=0.1, max_backoff=5.0)
    assert policy.delay(1, "2") == 2.0
    assert policy.delay(1, "600") == 5.0
    assert policy.delay(1, "Wed, 21 Oct 2026 07:28:00 GMT") <= 0.1  # a date: the backoff applies


class _Clock:
    """A clock the transport reads and sleeps on, which moves only when the transport sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(_transport.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(_transport.time, "sleep", fake.sleep)
    return fake


def _refused_for(clock: _Clock, seconds: float) -> tuple[httpx.MockTransport, list[float]]:
    """A server whose connections are refused until ``seconds`` have passed on ``clock``."""
    tries: list[float] = []
    until = clock.now + seconds

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(clock.now)
        if clock.now < until:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        return httpx.Response(200, json=HEALTHY)

    return httpx.MockTransport(handler), tries


def test__give_up_after__no_retry_starts_past_it_whatever_the_attempts_left(clock: _Clock) -> None:
    policy = RetryPolicy(attempts=1000, backoff=0.5, max_backoff=2.0, give_up_after=10.0)
    transport, tries = _refused_for(clock, 3600)
    with (
        Client("http://baton.test", retry=policy, transport=transport) as client,
        pytest.raises(TransportError),
    ):
        client.health()
    assert tries[-1] - tries[0] <= 10.0
    assert clock.now - tries[0] <= 10.0  # no wait after the last try
    assert len(tries) > 5  # attempts did not bound it


def test__default_policy__gives_up_within_seconds(clock: _Clock) -> None:
    transport, tries = _refused_for(clock, 3600)
    with Client("http://baton.test", transport=transport) as client, pytest.raises(TransportError):
        client.health()
    assert len(tries) == 4
    assert clock.now - tries[0] <= 1.4


def test__task_policy__rides_out_a_server_away_for_most_of_a_minute_and_no_longer(clock: _Clock) -> None:
    # A server restarting (an upgrade, a replica replaced) refuses connections for seconds: a task's
    # own calls wait for it rather than fail the task.
    transport, tries = _refused_for(clock, 55)
    with Client("http://baton.test", "t", retry=TASK_RETRY_POLICY, transport=transport) as client:
        assert client.health().status == "ok"
    assert tries[-1] - tries[0] >= 55
    transport, tries = _refused_for(clock, 3600)
    with (
        Client("http://baton.test", "t", retry=TASK_RETRY_POLICY, transport=transport) as client,
        pytest.raises(TransportError),
    ):
        client.health()
    assert 55 <= tries[-1] - tries[0] <= 60


async def test__async__give_up_after__bounds_the_retries_as_in_sync(
    clock: _Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def sleep(seconds: float) -> None:
        clock.sleep(seconds)

    monkeypatch.setattr(_transport.asyncio, "sleep", sleep)
    policy = RetryPolicy(attempts=1000, backoff=0.5, max_backoff=2.0, give_up_after=10.0)
    transport, tries = _refused_for(clock, 3600)
    async_transport = httpx.MockTransport(transport.handler)  # the same handler, served async
    async with AsyncClient("http://baton.test", retry=policy, transport=async_transport) as client:
        with pytest.raises(TransportError):
            await client.health()
    assert len(tries) > 5
    assert clock.now - tries[0] <= 10.0


@pytest.mark.parametrize(
    "fields",
    [
        {"attempts": 0},
        {"backoff": -1.0},
        {"max_backoff": math.inf},
        {"give_up_after": math.nan},
        {"give_up_after": -5.0},
    ],
)
def test__retry_policy__out_of_range__refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "path",
    [
        f"/workers/{uuid.uuid4()}/claims",
        "/workers/registrations",
        "/workers/dags",
        f"/execution/task-instances/{uuid.uuid4()}/logs",
    ],
)
def test__safe_post_503_or_read_timeout__retried(path: str) -> None:
    transport, seen = _script(
        _error(503, "database_unavailable", **{"Retry-After": "0"}),
        httpx.ReadTimeout("answer lost"),
        httpx.Response(200, json={}),
    )
    with Client("http://baton.test", retry=FAST, transport=transport) as client:
        assert client.generated.get_httpx_client().post(path, json={}).status_code == 200
    assert len(seen) == 3
    assert len({r.headers["X-Request-ID"] for r in seen}) == 1


def test__upload_logs__named_by_one_batch_id_across_retries() -> None:
    transport, seen = _script(_error(503, "database_unavailable"), httpx.Response(200, json={"accepted": 1}))
    line = LogLine(timestamp=NOW, level=check_log_line_level("info"), message="m")
    with Client("http://baton.test", "t", retry=FAST, transport=transport) as client:
        assert client.upload_logs(uuid.uuid4(), LogBatch(lines=[line])).accepted == 1
    ids = {json.loads(r.content)["batch_id"] for r in seen}
    assert len(seen) == 2
    assert len(ids) == 1
    assert uuid.UUID(ids.pop())


async def _counting_server() -> tuple[asyncio.Server, str, list[int]]:
    """A keep-alive HTTP/1.1 server answering every request ``200 {}``; the requests seen per connection."""
    per_connection: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        index = len(per_connection) - 1
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            per_connection[index] += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", per_connection


async def test__shared_connections__clients_one_after_another__one_connection_left_open_by_each() -> None:
    server, url, per_connection = await _counting_server()
    connections = SharedConnections()
    try:
        for token in ("attempt-1", "attempt-2", "attempt-3"):
            async with AsyncClient(url, token, transport=connections.lend()) as client:
                for _ in range(2):
                    await client.generated.get_async_httpx_client().get("/execution/health")
        assert per_connection == [6]  # each client closed, the connection stayed for the next
    finally:
        await connections.aclose()
        server.close()
        await server.wait_closed()


async def test__shared_connections__each_client_still_sends_its_own_token() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(200, json=HEALTHY)

    connections = SharedConnections(inner=httpx.MockTransport(handler))
    async with (
        AsyncClient("http://baton.test", "first", transport=connections.lend()) as first,
        AsyncClient("http://baton.test", "second", transport=connections.lend()) as second,
    ):
        await first.health()
        await second.health()
        await first.health()
    assert seen == ["Bearer first", "Bearer second", "Bearer first"]
    await connections.aclose()


def test__token_no_header_can_carry__the_error_does_not_show_it() -> None:
    import http.server
    import threading

    # A newline in a token (read from a file as it is): the HTTP layer refuses the header, quoting it.
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}"
            with (
                Client(url, "baton_admin_s3cr3t\n", retry=FAST) as client,
                pytest.raises(TransportError) as caught,
            ):
                client.health()
        finally:
            server.shutdown()
    assert "Illegal header value" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
