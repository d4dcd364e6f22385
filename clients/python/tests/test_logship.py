"""The log shipper sends a batch whose answer was lost again, unchanged and under the same batch id."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
from baton import AsyncClient, RetryPolicy
from baton._logship import LogEntry, LogShipper

FAST = RetryPolicy(attempts=2, backoff=0.001)


def _entry(message: str) -> LogEntry:
    return LogEntry(datetime(2026, 12, 2, tzinfo=UTC), "info", message)


async def test__lost_answer__same_batch_sent_again_before_newer_lines() -> None:
    answers: list[httpx.Response | Exception] = [
        httpx.ReadTimeout("answer lost"),
        httpx.ReadTimeout("answer lost"),
        httpx.Response(200, json={"accepted": 2}),
        httpx.Response(200, json={"accepted": 1}),
    ]
    bodies: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        shipper = LogShipper(client, uuid.uuid4(), patience=0)
        shipper.add(_entry("one"))
        shipper.add(_entry("two"))
        assert await shipper.flush() is False  # both tries lost: the lines stay with their batch
        shipper.add(_entry("three"))
        assert await shipper.close() is True
    messages = [[line["message"] for line in body["lines"]] for body in bodies]  # type: ignore[attr-defined]
    assert messages == [["one", "two"], ["one", "two"], ["one", "two"], ["three"]]
    ids = [body["batch_id"] for body in bodies]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert shipper.shipped == 3


async def test__attempt_over__close_gives_up_at_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"reason": "task_attempt_finished", "message": "over"})

    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        shipper = LogShipper(client, uuid.uuid4(), patience=3600)
        shipper.add(_entry("late"))
        assert await shipper.close() is False


async def test__attempt_log_limit__shipping_stops_for_the_attempt() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append([line["message"] for line in json.loads(request.content)["lines"]])
        if len(sent) == 1:
            return httpx.Response(200, json={"accepted": 1})
        return httpx.Response(413, json={"reason": "log_limit_exceeded", "message": "full"})

    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        shipper = LogShipper(client, uuid.uuid4(), patience=3600)
        shipper.add(_entry("one"))
        assert await shipper.flush() is True
        shipper.add(_entry("two"))
        assert await shipper.flush() is False
        shipper.add(_entry("three"))  # the attempt's logs are full: kept out of the upload
        assert await shipper.close() is True
    assert sent == [["one"], ["two"]]
    assert shipper.shipped == 1


async def test__one_batch_too_large__dropped_and_later_lines_shipped() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append([line["message"] for line in json.loads(request.content)["lines"]])
        if len(sent) == 1:
            return httpx.Response(413, json={"reason": "payload_too_large", "message": "big"})
        return httpx.Response(200, json={"accepted": 1})

    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        shipper = LogShipper(client, uuid.uuid4(), patience=0)
        shipper.add(_entry("big"))
        assert await shipper.flush() is True
        shipper.add(_entry("small"))
        assert await shipper.close() is True
    assert sent == [["big"], ["small"]]
