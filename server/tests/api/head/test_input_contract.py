"""The input contract: hostile but well-formed input is a 4xx that stores nothing, never a 500.

The probes an outside tester found (U+0000, NaN, 1e400, lone surrogates, deep nesting, dates past
UTC's range, huge integers, oversized variables and logs), then a walk over every operation of
every API version with such values, which asserts: no 5xx, no row written on a 4xx, and every
listing still answers 200 afterwards. Runs on SQLite and on PostgreSQL (``BATON_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.api.input_contract import (
    MAX_JSON_DEPTH,
    ParsedBody,
    Refusal,
    check_path_and_query,
    parse_json_body,
)
from baton_server.api.versions import supported_versions
from baton_server.db.tables import Base
from sqlalchemy import func, select

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import Attempt, started
from tests.orchestration import new_admin_token, new_worker_token
from tests.spec_documents import operations

LATEST = supported_versions()[-1]
OLDEST = supported_versions()[0]


def check_json_body(body: bytes) -> Refusal | None:
    """The contract's refusal of a request body; None when it keeps it (or is empty)."""
    checked = parse_json_body(body)
    return checked if isinstance(checked, Refusal) else None


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# Raw JSON texts that parse in a lax reader but break the contract, each with the reason it gets.
HOSTILE_VALUES: dict[str, str] = {
    "nan": "NaN",
    "infinity": "Infinity",
    "minus_infinity": "-Infinity",
    "overflowing_double": "1e400",
    "lone_surrogate": '"\\ud800"',
    "nul_in_text": '"a\\u0000b"',
    "nul_in_key": '{"a\\u0000b": 1}',
    "integer_past_64_bits": str(2**64),
    "five_thousand_digits": "9" * 5000,
    "nested_past_the_cap": _deep(MAX_JSON_DEPTH + 1),
    "nested_255": _deep(255),
    "nested_2000": _deep(2000),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_VALUES))
def test__contract__refuses_each_hostile_value_as_invalid_json(name: str) -> None:
    refusal = check_json_body(f'{{"value": {HOSTILE_VALUES[name]}}}'.encode())
    assert refusal is not None
    assert refusal.reason == "invalid_json", refusal


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
        b'{"value": "\xff"}',  # not UTF-8
        '{"value": 1}'.encode("utf-16"),
        b'{"value": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 bytes
    ],
)
def test__contract__refuses_what_is_not_plain_utf8(body: bytes) -> None:
    refusal = check_json_body(body)
    assert refusal is not None
    assert refusal.reason == "invalid_json"


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": -0.0, "c": 1.5e300, "d": 9223372036854775807, "e": [true, null, "\\u00e9t\\u00e9"]}',
        '{"sch\u00e9ma": "d\u00e9j\u00e0 \u2603", "n": 12345678901234567, "f": 0.1}'.encode(),
        b'[{"deep": [[[{"x": -1e-300}]]]}, 3, "x"]',
        b'"just text"',
    ],
)
def test__contract__a_body_it_keeps_is_parsed_as_json_loads_parses_it(body: bytes) -> None:
    # The lanes take this document instead of parsing the body again: it must be json.loads's.
    parsed = parse_json_body(body)
    assert isinstance(parsed, ParsedBody)
    assert json.dumps(parsed.document) == json.dumps(json.loads(body))
    assert parse_json_body(b"") is None


def test__contract__names_the_field() -> None:
    refusal = check_json_body(b'{"conf": {"items": [1, "x\\u0000"]}}')
    assert refusal is not None
    assert "body.conf.items[1]" in refusal.message
    key = check_json_body(b'{"conf": {"a\\u0000": 1}}')
    assert key is not None
    assert "a key of body.conf" in key.message


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"value": 1.5e308, "n": -9223372036854775808, "m": 9223372036854775807}',
        b'{"value": "caf\\u00e9 \\ud83d\\ude00 \\\\u0000 is text"}',  # a pair, and an escaped backslash
        ("{" + '"a": {' * (MAX_JSON_DEPTH - 1) + "}" * MAX_JSON_DEPTH).encode(),
    ],
)
def test__contract__accepts_what_json_allows(body: bytes) -> None:
    assert check_json_body(body) is None


def test__contract__nul_in_the_path_or_a_query_parameter() -> None:
    assert check_path_and_query("/api/dags/a\x00b", b"") is not None
    refusal = check_path_and_query("/api/dag-runs", b"dag_id=a%00b")
    assert refusal is not None
    assert "dag_id" in refusal.message
    assert check_path_and_query("/api/dag-runs", b"dag_id=a%2500b") is None


# -- the probes, against the app -------------------------------------------------------------------


async def _row_counts(server: ServerHarness) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with server.runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            counts[table.name] = int(
                (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            )
    return counts


LISTINGS = ("/api/variables", "/api/connections", "/api/dags", "/api/dag-runs", "/api/workers")


async def _assert_listings_answer(server: ServerHarness, admin_token: str, attempt: Attempt) -> None:
    async with server.client(token=admin_token) as admin:
        for path in LISTINGS:
            response = await admin.get(path)
            assert response.status_code == 200, (path, response.text)
        for item in (await admin.get("/api/variables")).json()["variables"]:
            assert (await admin.get(f"/api/variables/{item['key']}")).status_code == 200
        logs = await admin.get(f"/api/task-instances/{attempt.id}/logs")
        assert logs.status_code == 200, logs.text


@pytest.fixture
async def world(server: ServerHarness, client: httpx.AsyncClient) -> dict[str, Any]:
    """A started attempt of DAG ``etl``, an admin token, a worker credential and a variable ``k``."""
    attempts = await started(server.runtime, client)
    admin_token = await new_admin_token(server)
    worker_token = await new_worker_token(server)
    async with server.client(token=admin_token) as admin:
        assert (await admin.put("/api/variables/k", json={"value": 1})).status_code == 200
    return {"attempt": attempts["extract"], "admin": admin_token, "worker": worker_token}


def _raw(value: str) -> bytes:
    return value.encode()


PROBES: list[tuple[str, str, str, bytes]] = [
    # (what, principal, method path, body)
    ("NaN variable", "task", "PUT /execution/variables/k", _raw('{"value": NaN}')),
    ("Infinity variable", "admin", "PUT /api/variables/k", _raw('{"value": Infinity}')),
    ("1e400 variable", "task", "PUT /execution/variables/k", _raw('{"value": 1e400}')),
    ("lone surrogate variable", "task", "PUT /execution/variables/k", _raw('{"value": "\\udc00"}')),
    (
        "NUL variable description",
        "admin",
        "PUT /api/variables/k",
        _raw('{"value": 1, "description": "a\\u0000"}'),
    ),
    ("NaN XCom", "task", "PUT /execution/xcoms/etl/manual__1/extract/rv", _raw('{"value": [1, NaN]}')),
    ("surrogate XCom", "task", "PUT /execution/xcoms/etl/manual__1/extract/rv", _raw('{"value": "\\ud800"}')),
    (
        "NUL connection host",
        "admin",
        "PUT /api/connections/c",
        _raw('{"conn_type": "http", "host": "a\\u0000", "allowed_dag_ids": null}'),
    ),
    ("NaN conf", "admin", "POST /api/dags/etl/dag-runs", _raw('{"conf": {"x": NaN}}')),
    ("NUL conf key", "admin", "POST /api/dags/etl/dag-runs", _raw('{"conf": {"a\\u0000": 1}}')),
    (
        "conf nested 255 deep",
        "admin",
        "POST /api/dags/etl/dag-runs",
        _raw('{"conf": {"x": ' + _deep(255) + "}}"),
    ),
    (
        "run date past UTC's last instant",
        "admin",
        "POST /api/dags/etl/dag-runs",
        _raw('{"logical_date": "9999-12-31T23:59:59-14:00"}'),
    ),
    (
        "run date before UTC's first instant",
        "admin",
        "POST /api/dags/etl/dag-runs",
        _raw('{"logical_date": "0001-01-01T00:00:00+14:00"}'),
    ),
    (
        "log timestamp past UTC's last instant",
        "task",
        "POST /execution/task-instances/{ti}/logs",
        _raw('{"lines": [{"timestamp": "9999-12-31T23:59:59-14:00", "level": "info", "message": "m"}]}'),
    ),
    (
        "NaN log field",
        "task",
        "POST /execution/task-instances/{ti}/logs",
        _raw(
            '{"lines": [{"timestamp": "2026-11-24T12:00:00Z", "level": "info", "message": "m", '
            '"fields": {"x": NaN}}]}'
        ),
    ),
    (
        "NUL log message",
        "task",
        "POST /execution/task-instances/{ti}/logs",
        _raw('{"lines": [{"timestamp": "2026-11-24T12:00:00Z", "level": "info", "message": "a\\u0000"}]}'),
    ),
    (
        "NUL hostname",
        "worker",
        "POST /workers/registrations",
        _raw(
            '{"name": "w", "queues": ["default"], "capacity": 1, "runtime": "python", "hostname": "h\\u0000"}'
        ),
    ),
    (
        "NUL entry point",
        "worker",
        "POST /workers/dags",
        _raw(
            '{"bundle_name": "b", "dags": [{"dag_id": "d", '
            '"tasks": [{"task_id": "t", "entry_point": "m:\\u0000"}]}]}'
        ),
    ),
    ("BOM", "task", "PUT /execution/variables/k", b"\xef\xbb\xbf" + _raw('{"value": 2}')),
    ("invalid UTF-8", "task", "PUT /execution/variables/k", b'{"value": "\xc3\x28"}'),
    ("nesting 1000 deep", "task", "PUT /execution/variables/k", _raw('{"value": ' + _deep(1000) + "}")),
    ("5000-digit integer", "task", "PUT /execution/variables/k", _raw('{"value": ' + "7" * 5000 + "}")),
    ("NUL in a path", "admin", "GET /api/dags/a%00b", b""),
    ("NUL in a query", "admin", "GET /api/dag-runs?dag_id=a%00b", b""),
]


def _token(world: dict[str, Any], principal: str) -> str:
    attempt: Attempt = world["attempt"]
    return {"task": attempt.execution_token, "admin": world["admin"], "worker": world["worker"]}[principal]


@pytest.mark.parametrize(("what", "principal", "request_line", "body"), PROBES, ids=[p[0] for p in PROBES])
async def test__probe__4xx_naming_the_problem_nothing_stored(
    server: ServerHarness,
    world: dict[str, Any],
    what: str,
    principal: str,
    request_line: str,
    body: bytes,
) -> None:
    method, path = request_line.split(" ", 1)
    path = path.replace("{ti}", str(world["attempt"].id))
    before = await _row_counts(server)
    async with server.client(token=_token(world, principal)) as http:
        response = await http.request(
            method, path, content=body or None, headers={"content-type": "application/json"} if body else {}
        )
    assert response.status_code == 422, (what, response.status_code, response.text)
    assert response.json()["reason"] in {"invalid_json", "validation_error"}, response.text
    assert await _row_counts(server) == before, what
    await _assert_listings_answer(server, world["admin"], world["attempt"])


# Content-Type headers the routes read as JSON (FastAPI takes the first header, and strips Unicode
# spaces at its ends) while the contract's check once read the last one, and stripped ASCII only.
JSON_READ_CONTENT_TYPES: dict[str, list[tuple[bytes, bytes]]] = {
    "JSON first, text last": [(b"content-type", b"application/json"), (b"content-type", b"text/plain")],
    "JSON first, form last": [
        (b"content-type", b"application/json"),
        (b"content-type", b"application/x-www-form-urlencoded"),
    ],
    "a no-break space after": [(b"content-type", b"application/json\xa0")],
    "a next-line before": [(b"content-type", b"\x85application/json; charset=utf-8")],
}


@pytest.mark.parametrize("content_type", sorted(JSON_READ_CONTENT_TYPES))
@pytest.mark.parametrize(
    ("principal", "request_line"),
    [("admin", "PUT /api/variables/k"), ("task", "PUT /execution/variables/k")],  # a route, a fast lane
)
async def test__probe__a_content_type_the_routes_read_as_json__checked_as_json(
    server: ServerHarness, world: dict[str, Any], principal: str, request_line: str, content_type: str
) -> None:
    method, path = request_line.split(" ", 1)
    for value in ("NaN", '"a\\u0000b"', str(2**70)):
        before = await _row_counts(server)
        async with server.client(token=_token(world, principal)) as http:
            headers = httpx.Headers(JSON_READ_CONTENT_TYPES[content_type])
            response = await http.request(method, path, content=f'{{"value": {value}}}', headers=headers)
        assert response.status_code == 422, (value, response.status_code, response.text)
        assert response.json()["reason"] == "invalid_json", response.text
        assert await _row_counts(server) == before, value
    async with server.client(token=world["admin"]) as admin:
        assert (await admin.get("/api/variables/k")).json()["value"] == 1
    await _assert_listings_answer(server, world["admin"], world["attempt"])


@pytest.mark.parametrize(
    ("principal", "request_line"),
    [("admin", "PUT /api/variables/k"), ("task", "PUT /execution/variables/k")],
)
@pytest.mark.parametrize("headers", [[], [(b"content-type", b"")], [(b"content-type", b"text/plain")]])
async def test__a_body_the_routes_do_not_read_as_json__refused_the_same_by_a_fast_lane(
    server: ServerHarness,
    world: dict[str, Any],
    principal: str,
    request_line: str,
    headers: list[tuple[bytes, bytes]],
) -> None:
    # FastAPI reads a body without a JSON content type as bytes, which no body model takes: a fast
    # lane must not parse it as JSON and store it (it did when the header was missing or empty).
    method, path = request_line.split(" ", 1)
    async with server.client(token=_token(world, principal)) as http:
        response = await http.request(method, path, content=b'{"value": 2}', headers=httpx.Headers(headers))
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == "validation_error", response.text
    async with server.client(token=world["admin"]) as admin:
        assert (await admin.get("/api/variables/k")).json()["value"] == 1


async def test__token_with_a_try_past_32_bits__refused_not_500(
    server: ServerHarness, world: dict[str, Any]
) -> None:
    attempt: Attempt = world["attempt"]
    token = server.runtime.tokens.issue(attempt.id, 2**40, "execution")  # validly signed
    async with server.client() as http:
        for path in (f"/execution/task-instances/{attempt.id}/heartbeat", "/execution/variables/k"):
            method = "PUT" if path.endswith("heartbeat") else "GET"
            response = await http.request(
                method,
                path,
                json={"hostname": "worker-1.example", "pid": 4242} if method == "PUT" else None,
                headers={"Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 401, response.text


async def test__variable_over_the_cap__413_in_its_own_words_payload_too_large_before(
    server: ServerHarness, world: dict[str, Any]
) -> None:
    big = {"value": "x" * (server.settings.variable_max_bytes + 1)}
    before = await _row_counts(server)
    async with server.client(token=world["attempt"].execution_token) as task:
        refused = await task.put("/execution/variables/big", json=big)
    assert refused.status_code == 413, refused.text
    assert refused.json()["reason"] == "variable_too_large", refused.text
    async with server.client(version=OLDEST, token=world["admin"]) as old_admin:
        old = await old_admin.put("/api/variables/big", json=big)
    assert old.status_code == 413, old.text
    assert old.json()["reason"] == "payload_too_large", old.text
    assert await _row_counts(server) == before
    fits = {"value": "x" * (server.settings.variable_max_bytes - 2)}  # two quotes: exactly the cap
    async with server.client(token=world["admin"]) as admin:
        assert (await admin.put("/api/variables/fits", json=fits)).status_code == 200


@pytest.fixture
async def small_log_cap(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[ServerHarness]:
    harness = ServerHarness(
        make_settings(await databases.create(), tmp_path, log_max_bytes_per_attempt=65536)
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.stop()


async def test__logs_past_the_attempt_cap__refused_whole_resent_batches_counted_once(
    small_log_cap: ServerHarness,
) -> None:
    server = small_log_cap
    async with server.client() as client:
        attempt = (await started(server.runtime, client))["extract"]
        path = f"/execution/task-instances/{attempt.id}/logs"

        def batch(batch_id: str, lines: int = 10) -> dict[str, Any]:
            line = {"timestamp": "2026-11-24T12:00:00Z", "level": "info", "message": "é" * 1000}  # 2000 bytes
            return {"batch_id": batch_id, "lines": [line] * lines}

        first = "00000000-0000-4000-8000-000000000001"
        assert (await client.post(path, json=batch(first), headers=attempt.headers())).status_code == 200
        for _ in range(5):  # its answer lost, the batch is sent again: stored and counted once
            assert (await client.post(path, json=batch(first), headers=attempt.headers())).status_code == 200
        sent = 20_000
        number = 2
        while sent + 20_000 <= 65536:
            batch_id = f"00000000-0000-4000-8000-{number:012d}"
            response = await client.post(path, json=batch(batch_id), headers=attempt.headers())
            assert response.status_code == 200, response.text
            sent += 20_000
            number += 1
        over = await client.post(
            path, json=batch("00000000-0000-4000-8000-999999999999"), headers=attempt.headers()
        )
        assert over.status_code == 413, over.text
        assert over.json()["reason"] == "log_limit_exceeded", over.text
        old = await client.post(
            path,
            json={"lines": batch("x")["lines"]},
            headers={**attempt.headers(), "Baton-API-Version": OLDEST},
        )
        assert old.status_code == 413, old.text
        assert old.json()["reason"] == "payload_too_large", old.text
        async with server.client(token=await new_admin_token(server)) as admin:
            stored = (
                await admin.get(f"/api/task-instances/{attempt.id}/logs", params={"limit": 1000})
            ).json()
        assert len(stored["lines"]) == 10 * (number - 1)


async def test__late_lines_of_a_replaced_try__stored_without_restarting_the_new_trys_count(
    small_log_cap: ServerHarness,
) -> None:
    from baton_server.db.tables import TaskInstanceRecord
    from sqlalchemy import update

    server = small_log_cap
    line = {"timestamp": "2026-11-24T12:00:00Z", "level": "info", "message": "é" * 1000}  # 2000 bytes
    batch = {"lines": [line] * 10}  # 20,000 bytes of a 65,536-byte cap
    async with server.client() as client:
        first = (await started(server.runtime, client))["extract"]
        path = f"/execution/task-instances/{first.id}/logs"
        # The server ended try 1 and try 2 now runs (scaffolding: straight into the database).
        async with server.runtime.sessions() as session:
            await session.execute(
                update(TaskInstanceRecord).where(TaskInstanceRecord.id == first.id).values(try_number=2)
            )
            await session.commit()
        second = {"Authorization": f"Bearer {server.runtime.tokens.issue(first.id, 2, 'execution')}"}
        for _ in range(2):
            assert (await client.post(path, json=batch, headers=second)).status_code == 200
        late = await client.post(path, json=batch, headers=first.headers())  # try 1's zombie, late
        assert late.status_code == 200, late.text
        assert (await client.post(path, json=batch, headers=second)).status_code == 200
        # Try 2 has stored 60,000 bytes: the late batch did not restart its count.
        over = await client.post(path, json=batch, headers=second)
        assert over.status_code == 413, over.text


async def test__an_unexpected_failure__answered_500_by_the_app_connection_kept(
    server: ServerHarness, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from baton_server.services import variables

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(variables, "list_variables", broken)
    async with server.client(token=world["admin"]) as admin:
        # The ASGI transport re-raises what the app lets escape: a 500 here is the app's own answer.
        response = await admin.get("/api/variables")
    assert response.status_code == 500
    assert response.json()["reason"] == "internal_error"
    assert response.headers["X-Request-ID"]


# -- every operation of every version --------------------------------------------------------------

VALID_BODIES: dict[str, dict[str, Any]] = {
    "admin_set_connection": {
        "conn_type": "http",
        "host": "h.example",
        "extra": {"a": "b"},
        "allowed_dag_ids": None,
    },
    "admin_set_variable": {"value": {"a": [1, 2.5, "s"]}, "description": "d"},
    "set_variable": {"value": {"a": [1, 2.5, "s"]}, "description": "d"},
    "push_xcom": {"value": {"a": [1, 2.5, "s"]}},
    "update_dag": {"is_paused": False},
    "trigger_dag_run": {"run_id": "probe", "conf": {"a": [1, "s"]}, "logical_date": "2026-11-24T12:00:00Z"},
    "upload_task_logs": {
        "lines": [
            {"timestamp": "2026-11-24T12:00:00Z", "level": "info", "message": "m", "fields": {"k": "v"}}
        ]
    },
    "heartbeat_task_instance": {"hostname": "worker-1.example", "pid": 4242},
    "update_task_instance_state": {"state": "success", "end_date": "2026-11-24T12:00:00Z"},
    "run_task_instance": {
        "hostname": "worker-1.example",
        "pid": 4242,
        "unix_user": "baton",
        "start_date": "2026-11-24T12:00:00Z",
    },
    "register_worker": {
        "name": "w",
        "queues": ["default"],
        "capacity": 1,
        "runtime": "python",
        "hostname": "h",
    },
    "register_dags": {
        "bundle_name": "b",
        "dags": [{"dag_id": "probe", "tasks": [{"task_id": "t", "entry_point": "m:f"}]}],
    },
    "claim_workloads": {"max_workloads": 1, "wait_seconds": 0},
}

PARAMETERS: dict[str, str] = {
    "dag_id": "etl",
    "run_id": "manual__1",
    "task_id": "extract",
    "key": "k",
    "connection_id": "c",
    "map_index": "-1",
    "limit": "10",
    "offset": "0",
    "after": "0",
    "try_number": "1",
    "state": "running",
}

HOSTILE_LEAVES = ("NaN", "1e400", '"\\ud800"', '"x\\u0000"', str(2**64), _deep(100))
OVERFLOWING_DATES = ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00")


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaf_paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaf_paths(item, (*prefix, index))
    else:
        yield prefix, value


_MARK = "\x01hostile\x01"


def _with_leaf(body: Any, where: tuple[Any, ...], raw: str) -> bytes:
    """The body with the leaf at ``where`` replaced by the raw JSON text ``raw``."""
    copy = json.loads(json.dumps(body))
    node = copy
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = _MARK
    return json.dumps(copy).replace(json.dumps(_MARK), raw).encode()


def _hostile_requests(operation: dict[str, Any]) -> Iterator[tuple[str, dict[str, str], bytes]]:
    """(label, parameter overrides, body) of each hostile variant of one operation."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] in ("path", "query") and parameter["name"] in PARAMETERS:
            yield f"NUL in {parameter['name']}", {parameter["name"]: "a%00b"}, b""
    if "requestBody" not in operation:
        return
    body = VALID_BODIES.get(operation["operationId"], {"value": 1})
    for where, leaf in _leaf_paths(body):
        for raw in HOSTILE_LEAVES:
            yield f"{raw[:12]} at {where}", {}, _with_leaf(body, where, raw)
        if isinstance(leaf, str) and leaf.startswith("2026-11-24T"):
            for date in OVERFLOWING_DATES:
                yield f"{date} at {where}", {}, _with_leaf(body, where, json.dumps(date))
    yield "a NUL key", {}, json.dumps({**body, "x\x00": 1}).encode()


def _url(path: str, operation: dict[str, Any], overrides: dict[str, str], ti: str) -> str:
    values = {**PARAMETERS, "task_instance_id": ti, "worker_id": "00000000-0000-4000-8000-000000000000"}
    values.update(overrides)
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    query = [
        f"{p['name']}={values[p['name']]}"
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] in values
    ]
    return path + ("?" + "&".join(query) if query else "")


def _credential(operation: dict[str, Any], world: dict[str, Any]) -> str | None:
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    attempt: Attempt = world["attempt"]
    if "TaskToken" in schemes:
        return (
            attempt.workload_token
            if operation["operationId"] == "run_task_instance"
            else attempt.execution_token
        )
    if "WorkerCredential" in schemes:
        return str(world["worker"])
    if "AdminToken" in schemes:
        return str(world["admin"])
    return None


@pytest.mark.parametrize("version", supported_versions())
async def test__every_operation__hostile_values_4xx_nothing_stored_listings_still_answer(
    server: ServerHarness, world: dict[str, Any], version: str
) -> None:
    attempt: Attempt = world["attempt"]
    tried = 0
    for method, path, operation in operations(version):
        token = _credential(operation, world)
        for label, overrides, body in _hostile_requests(operation):
            before = await _row_counts(server)
            async with server.client(version=version, token=token) as http:
                response = await http.request(
                    method,
                    _url(path, operation, overrides, str(attempt.id)),
                    content=body or None,
                    headers={"content-type": "application/json"} if body else {},
                )
            where = f"{version} {method} {path} with {label}"
            assert 400 <= response.status_code < 500, (where, response.status_code, response.text)
            assert await _row_counts(server) == before, where
            tried += 1
    assert tried > 300, tried
    await _assert_listings_answer(server, world["admin"], attempt)


async def test__logs_of_a_try_past_32_bits__an_empty_page(
    server: ServerHarness, world: dict[str, Any]
) -> None:
    attempt: Attempt = world["attempt"]
    async with server.client(token=world["admin"]) as admin:
        response = await admin.get(f"/api/task-instances/{attempt.id}/logs", params={"try_number": 2**63 - 2})
    assert response.status_code == 200, response.text
    assert response.json()["lines"] == []
