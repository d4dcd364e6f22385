"""The log shipper sends a batch whose answer was lost again, unchanged and under the same batch id,
and ships whatever a task writes or logs in lines and batches the server takes."""

from __future__ import annotations

import json
import logging
import os
import uuid
from datetime import UTC, datetime

import httpx
from baton import AsyncClient, Client, RetryPolicy
from baton._generated.api.admin import get_task_instance_logs
from baton._logship import LogEntry, LogShipper, entry_from_record
from baton.models import LogPage, TIRunPayload
from live_server import LiveServer

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


async def test__server_unreachable__at_most_64_mib_held_oldest_dropped_and_said() -> None:
    """1,000 lines of 100 KB (100 MB) logged during an outage: at most 64 MiB of them are held and
    shipped once the server is back, the newest kept, and a line says how many were dropped."""
    reachable = False
    sent: list[dict[str, object]] = []
    shipped_bytes = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal shipped_bytes
        if not reachable:
            raise httpx.ConnectError("connection refused")
        shipped_bytes += len(request.content)
        lines = json.loads(request.content)["lines"]
        sent.extend(lines)
        return httpx.Response(200, json={"accepted": len(lines)})

    async with AsyncClient(
        "http://baton.test", "t", retry=FAST, transport=httpx.MockTransport(handler)
    ) as client:
        shipper = LogShipper(client, uuid.uuid4(), patience=60)
        for i in range(1000):
            shipper.add(_entry(f"{i:04d}" + "x" * 100_000))
        assert await shipper.flush() is False
        reachable = True
        assert await shipper.close() is True
    assert shipped_bytes <= 64 * 2**20 + 100_000  # the 64 MiB of docs/python-sdk.md, and the drop line
    note = sent[0]
    assert note["fields"] == {"source": "worker"}
    dropped = int(str(note["message"]).split()[0])
    assert note["message"] == f"{dropped} log lines were dropped while the server was unreachable"
    assert dropped + len(sent) - 1 == 1000
    assert [str(line["message"])[:4] for line in sent[1:]] == [f"{i:04d}" for i in range(dropped, 1000)]


def _record(message: str, **extra: object) -> LogEntry:
    record = logging.LogRecord("task", logging.WARNING, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    return entry_from_record(record)


async def test__hostile_lines__every_line_stored_none_refused_the_supervisor_unharmed(
    live_server: LiveServer,
) -> None:
    """A NaN, a NUL, a lone surrogate, a huge or deep field cost at most that field, never the batch.

    Before: a NaN field (``extra=`` in the task, or sent as such by a task process) raised out of the
    upload and killed the attempt's supervisor (no final state, no line stored); a NUL or a surrogate
    had the server refuse the whole batch (422), fields were not counted in a batch's size (413), and
    either way up to 1000 lines, the worker's own among them, were dropped.
    """
    (ti,) = live_server.queue_run("hostile")["task_instances"]
    ti_id = uuid.UUID(ti["id"])
    with Client(live_server.base_url, ti["workload_token"]) as starter:
        starter.start(
            ti_id, TIRunPayload(hostname="h", pid=os.getpid(), unix_user="u", start_date=datetime.now(UTC))
        )
        token = starter.token or ""
    cyclic: list[object] = []
    cyclic.append(cyclic)
    deep: list[object] = []
    for _ in range(200):
        deep = [deep]
    entries = [
        _entry("first"),
        _entry("a NUL \x00 in the middle"),
        _entry("a lone surrogate \udcff from os.fsdecode"),
        _record("nan extra", nan=float("nan"), inf=float("-inf"), ok=1),
        _record("cyclic and deep", cyclic=cyclic, deep=deep, huge=2**70),
        # What a task process sends down its channel is read with json.loads, which takes NaN.
        LogEntry.from_json(json.loads('{"message": "from a channel", "fields": {"x": NaN, "y": "\\u0000"}}')),
        *[_record(f"big {i}", big="y" * 90_000) for i in range(50)],  # 4.5 MB: more than one request
        _record("bigger", big="y" * 400_000),
        *[_entry("\x01" * 100_000) for _ in range(10)],  # 6 MB as JSON (\\u0001)
        _entry("last"),
    ]
    async with AsyncClient(live_server.base_url, token) as client:
        shipper = LogShipper(client, ti_id, patience=30)
        for entry in entries:
            shipper.add(entry)
        assert await shipper.close() is True
    assert shipper.shipped == len(entries)
    with Client(live_server.base_url, live_server.admin_token) as admin:
        page = get_task_instance_logs.sync(ti_id, client=admin.generated, limit=1000)
    assert isinstance(page, LogPage), page
    stored = {line.message: (line.fields.to_dict() if line.fields else {}) for line in page.lines}
    assert len(page.lines) == len(entries)
    assert "a NUL \ufffd in the middle" in stored
    assert "a lone surrogate \ufffd from os.fsdecode" in stored
    assert stored["nan extra"] == {"logger": "task", "ok": 1}  # not JSON: left out where logged
    assert stored["cyclic and deep"] == {"logger": "task", "fields_left_out": ["deep", "huge"]}
    assert stored["from a channel"] == {"y": "\ufffd", "fields_left_out": ["x"]}
    assert len(stored["big 49"]["big"]) == 90_000
    assert stored["bigger"] == {"logger": "task", "fields_left_out": ["big"]}  # past MAX_FIELDS


async def test__huge_field_names__cut_and_listed_within_bounds_every_line_stored(
    live_server: LiveServer,
) -> None:
    """A field name is cut at 1,000 bytes, and ``fields_left_out`` lists 100,000 bytes of names at most.

    Before: names were never cut, so one of 5 MB (a key built from data), or 150 of 100 KB left out and
    listed whole, made a line past the server's request limit: its batch was refused (413) and lost.
    """
    (ti,) = live_server.queue_run("names")["task_instances"]
    ti_id = uuid.UUID(ti["id"])
    with Client(live_server.base_url, ti["workload_token"]) as starter:
        starter.start(
            ti_id, TIRunPayload(hostname="h", pid=os.getpid(), unix_user="u", start_date=datetime.now(UTC))
        )
        token = starter.token or ""
    many = {f"{i}" + "n" * 100_000: "v" * 100_000 for i in range(150)}
    entries = [
        _entry("first"),
        _record("huge name", **{"é" * 2_500_000: 1}),  # 5 MB of UTF-8, two bytes a character
        _record("many names", **many),
        _entry("last"),
    ]
    async with AsyncClient(live_server.base_url, token) as client:
        shipper = LogShipper(client, ti_id, patience=30)
        for entry in entries:
            shipper.add(entry)
        assert await shipper.close() is True
    with Client(live_server.base_url, live_server.admin_token) as admin:
        page = get_task_instance_logs.sync(ti_id, client=admin.generated, limit=1000)
    assert isinstance(page, LogPage), page
    stored = {line.message: (line.fields.to_dict() if line.fields else {}) for line in page.lines}
    assert list(stored) == ["first", "huge name", "many names", "last"]
    (name,) = set(stored["huge name"]) - {"logger"}
    assert len(name.encode()) <= 1_000
    assert name.startswith("éé")
    assert name.endswith(" … (truncated)")
    left_out = stored["many names"]["fields_left_out"]
    assert len(left_out) == 101
    assert all(len(name.encode()) == 1_000 for name in left_out[:-1])
    assert left_out[-1] == "… and 50 more"  # 100 names of 1,000 bytes listed, then how many more
