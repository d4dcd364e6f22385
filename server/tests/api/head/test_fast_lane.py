"""The fast lanes (heartbeats, run, logs, state, claims and the route lanes) answer successes only, as
the routes do."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.api import fast_lane
from baton_server.api.routes._orchestration import worker_model
from baton_server.api.schemas.execution import TIHeartbeatPayload, VariableResponse, XComPutBody
from baton_server.api.versioned_app import head_routes
from baton_server.api.versions import VERSIONS, supported_versions
from baton_server.api.versions.v2026_12_02 import RenameExecutionTimeoutToExecutionTimeoutSeconds
from baton_server.app import build_routers
from baton_server.db.tables import TaskInstanceRecord, WorkerRecord
from baton_server.services.credentials import issue_credential, revoke_credential
from baton_server.services.workloads import heartbeat_worker_by_token
from cadwyn import (
    HeadVersion,
    RequestInfo,
    ResponseInfo,
    Version,
    VersionBundle,
    VersionChange,
    convert_request_to_next_version_for,
    schema,
)
from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, attempt_of, make_dag_run, started
from tests.orchestration import dag, fake_worker, new_admin_token, new_worker_token, scheduler_pass, task

BODY = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}


VARIABLE = "/execution/variables/{key}"
XCOM = "/execution/xcoms/{dag_id}/{run_id}/{task_id}/{key}"
CONNECTION = "/execution/connections/{connection_id}"


def _lanes(bundle: VersionBundle = VERSIONS) -> fast_lane.Lanes:
    return fast_lane.lanes(bundle, head_routes(build_routers()))


def test__lanes__serve_every_version_today() -> None:
    lanes = _lanes()
    every, newest = frozenset(supported_versions()), frozenset(supported_versions()[-1:])
    assert lanes.heartbeat.versions == lanes.state.versions == every
    # Older versions' run contexts, log batches and claims differ from HEAD's ...
    assert lanes.run.versions == lanes.logs.versions == lanes.claims.versions == newest
    # ... in models Cadwyn migrates by schema: their lanes serve them with the request migrated to HEAD's
    # and the answer back. An older claim also gets a header by a migration by path, which the claim
    # lane runs and takes (the runtimes the version can express).
    assert lanes.run.migrated == lanes.logs.migrated == lanes.claims.migrated == every - newest
    assert lanes.heartbeat.migrated == lanes.state.migrated == frozenset()
    # A worker's heartbeat: its answer differs in older versions, whose migration by path names the
    # runtimes they can express, which the lane takes too.
    assert lanes.worker_heartbeat.versions == newest
    assert lanes.worker_heartbeat.migrated == every - newest
    served = {(lane.method, lane.route.path): lane.versions for lane in lanes.routes}
    assert {key: versions for key, versions in served.items() if versions == every}.keys() == {
        ("GET", VARIABLE),
        ("PUT", VARIABLE),
        ("DELETE", VARIABLE),
        ("GET", XCOM),
        ("PUT", XCOM),
        ("DELETE", XCOM),
        ("GET", "/execution/task-instances/{task_instance_id}/task-state-counts"),
    }
    # Connections answer with fields older versions lack; the previous run's facts too.
    assert (
        served[("GET", CONNECTION)]
        == served[("GET", "/execution/task-instances/{task_instance_id}/previous-successful-run")]
    )
    assert newest < served[("GET", CONNECTION)] < every
    # ... but only in their response models: the older versions are laned with the response migrated.
    assert lanes.route_lane("GET", CONNECTION).migrated == every - served[("GET", CONNECTION)]
    assert all(
        not lane.migrated for lane in lanes.routes if lane.route.path != CONNECTION
    )  # previous-successful-run did not exist before


def test__route_lanes__only_idempotent_task_routes_whose_dependencies_they_provide() -> None:
    laned = {(lane.method, lane.route.path) for lane in _lanes().routes}
    assert all(method in ("GET", "PUT", "DELETE") for method, _ in laned)
    assert all(path.startswith("/execution/") for _, path in laned)
    # The heartbeat is hand-laned; its route depends on the token's claims, not the running attempt.
    assert ("PUT", fast_lane.HEARTBEAT_PATH) not in laned


def test__lanes__stop_at_a_change_to_their_route() -> None:
    class AddSequenceToHeartbeat(VersionChange):
        """Heartbeats carry a sequence number."""

        description = "test"
        instructions_to_migrate_to_previous_version = (schema(TIHeartbeatPayload).field("pid").had(ge=1),)

    bundle = VersionBundle(
        HeadVersion(),
        Version("2030-01-01"),
        Version("2029-01-01", AddSequenceToHeartbeat),
        Version("2028-01-01"),
    )

    class DescribeVariables(VersionChange):
        """Variable reads answer with the description too."""

        description = "test"
        instructions_to_migrate_to_previous_version = (
            schema(VariableResponse).field("key").had(max_length=9),
        )

    bundle_with_variable_change = VersionBundle(
        HeadVersion(), Version("2030-01-01", DescribeVariables), Version("2029-01-01")
    )

    class PushXComsAsText(VersionChange):
        """XComs are pushed as text."""

        description = "test"
        instructions_to_migrate_to_previous_version = (schema(XComPutBody).field("value").had(type=str),)

    bundle_with_xcom_change = VersionBundle(
        HeadVersion(), Version("2030-01-01", PushXComsAsText), Version("2029-01-01")
    )
    assert _lanes(bundle).heartbeat.versions == frozenset({"2030-01-01", "2029-01-01"})
    # The older version validates with its own model, then as HEAD: served with the body migrated.
    assert _lanes(bundle).heartbeat.migrated == frozenset({"2028-01-01"})
    assert _lanes(bundle).route_lane("GET", VARIABLE).versions == frozenset(
        {"2030-01-01", "2029-01-01", "2028-01-01"}
    )
    assert _lanes(bundle_with_variable_change).route_lane("GET", VARIABLE).versions == frozenset(
        {"2030-01-01"}
    )
    # A change to a request body stops the lane of the route it is the body of, not of the others.
    assert _lanes(bundle_with_xcom_change).route_lane("PUT", XCOM).versions == frozenset({"2030-01-01"})
    assert _lanes(bundle_with_xcom_change).route_lane("PUT", XCOM).migrated == frozenset()
    # A change to a response model only: older versions are laned with the response migrated.
    assert _lanes(bundle_with_variable_change).route_lane("GET", VARIABLE).migrated == frozenset(
        {"2029-01-01"}
    )
    assert _lanes(bundle_with_xcom_change).route_lane("GET", XCOM).versions == frozenset(
        {"2030-01-01", "2029-01-01"}
    )


def test__hand_lanes__migrate_older_versions_by_schema_only() -> None:
    class ReportHeartbeatsFromAnyProcess(VersionChange):
        """Heartbeats carry a pid of any value."""

        description = "test"
        instructions_to_migrate_to_previous_version = (schema(TIHeartbeatPayload).field("pid").had(ge=1),)

        @convert_request_to_next_version_for(TIHeartbeatPayload)
        def keep(request: RequestInfo) -> None:  # noqa: N805
            pass

    class TagHeartbeatsByPath(VersionChange):
        """Older heartbeats are tagged by their path."""

        description = "test"
        instructions_to_migrate_to_previous_version = ()

        @convert_request_to_next_version_for(fast_lane.HEARTBEAT_PATH, ["PUT"])
        def tag(request: RequestInfo) -> None:  # noqa: N805
            request.headers["x-old"] = "1"

    bundle = VersionBundle(
        HeadVersion(),
        Version("2031-01-01"),
        Version("2030-01-01", ReportHeartbeatsFromAnyProcess),
        Version("2029-01-01", TagHeartbeatsByPath),
        Version("2028-01-01"),
    )
    lanes = _lanes(bundle)
    assert lanes.heartbeat.versions == frozenset({"2031-01-01", "2030-01-01"})
    # A migration by schema is run by the lane as by the route; one by path ends what the lane serves.
    assert lanes.heartbeat.migrated == frozenset({"2029-01-01"})
    # Without the declared route, nothing to validate an older version's body with: HEAD's only.
    assert fast_lane.lanes(bundle).heartbeat.migrated == frozenset()


def _scope(server: ServerHarness, ti_id: object, token: str | None) -> dict[str, Any]:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return {
        "method": "PUT",
        "path": f"/execution/task-instances/{ti_id}/heartbeat",
        "headers": headers,
        "app": server.app,
    }


async def test__try_heartbeat__answers_success_only(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    good = json.dumps(BODY).encode()
    assert (
        await fast_lane.try_heartbeat(_scope(server, attempt.id, attempt.execution_token), good) is not None
    )
    refusals = [
        (_scope(server, attempt.id, None), good),
        (_scope(server, attempt.id, "garbage"), good),
        (_scope(server, attempt.id, attempt.workload_token), good),
        (_scope(server, uuid.uuid4(), attempt.execution_token), good),
        (_scope(server, attempt.id, attempt.execution_token), b"{not json"),
        (_scope(server, attempt.id, attempt.execution_token), json.dumps({**BODY, "pid": 1}).encode()),
        (_scope(server, attempt.id, attempt.execution_token), json.dumps({**BODY, "pid": "4242"}).encode()),
        (_scope(server, attempt.id, attempt.execution_token), json.dumps({**BODY, "extra": 1}).encode()),
    ]
    for scope, body in refusals:
        assert await fast_lane.try_heartbeat(scope, body) is None, (scope["headers"], body)


@pytest.fixture(params=[True, False], ids=["fast-lane", "declared-route"])
async def either_path(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[ServerHarness]:
    harness = ServerHarness(make_settings(await databases.create(), tmp_path, fast_lanes=request.param))
    await harness.start()
    yield harness
    await harness.stop()


@pytest.mark.parametrize("version", supported_versions())
async def test__heartbeat__same_answers_on_both_paths(either_path: ServerHarness, version: str) -> None:
    async with either_path.client() as latest:
        attempts = await started(either_path.runtime, latest)
    a, b = attempts["extract"], attempts["transform"]
    async with either_path.client(version=version) as client:
        url = f"/execution/task-instances/{a.id}/heartbeat"
        ok = await client.put(url, json=BODY, headers=a.headers())
        assert (ok.status_code, ok.content, ok.headers["Baton-API-Version"]) == (204, b"", version)
        assert "X-Request-ID" in ok.headers
        cases = [
            (await client.put(url, json={**BODY, "pid": 1}, headers=a.headers()), 409, "attempt_mismatch"),
            (await client.put(url, json=BODY, headers=b.headers()), 403, "token_subject_mismatch"),
            (await client.put(url, json=BODY), 401, "token_missing"),
            (
                await client.put(
                    url, content=b"{", headers={**a.headers(), "content-type": "application/json"}
                ),
                422,
                "invalid_json",
            ),
            (await client.put(url, json={"hostname": "h"}, headers=a.headers()), 422, "validation_error"),
        ]
    for response, status, reason in cases:
        assert (response.status_code, response.json()["reason"]) == (status, reason)


async def test__unexpected_error__in_a_lane__answered_as_the_routes_500(
    either_path: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lane that fails unexpectedly (here an older version's response migration, which a lane runs
    itself) answers the route's 500, byte for byte, with the version and request id: it used to escape
    the middleware to the outermost handler (another body, no headers, the connection dropped)."""

    def broken(response: ResponseInfo) -> None:
        raise KeyError("execution_timeout_seconds")

    migration: Any = RenameExecutionTimeoutToExecutionTimeoutSeconds.send_execution_timeout_as_a_number
    monkeypatch.setattr(migration, "transformer", broken)
    attempt = attempt_of(either_path.runtime, (await make_dag_run(either_path.runtime))["extract"])
    async with either_path.client(version="2026-11-24") as client:
        response = await client.patch(
            f"/execution/task-instances/{attempt.id}/run",
            json=RUN_PAYLOAD,
            headers={"Authorization": f"Bearer {attempt.workload_token}"},
        )
    assert _answer(response, {}) == (
        500,
        b'{"reason": "internal_error", "message": "the server failed to handle this request; it has been '
        b'logged"}',
        [("baton-api-version", "2026-11-24"), ("content-type", "application/json")],
    )
    assert response.headers["x-request-id"]


def _variable_scope(server: ServerHarness, key: str, token: str | None) -> dict[str, Any]:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return {"method": "GET", "path": f"/execution/variables/{key}", "headers": headers, "app": server.app}


async def test__variable_get_lane__answers_success_only(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempts = await started(server.runtime, client)
    attempt, finished = attempts["extract"], attempts["transform"]
    assert (
        await client.put("/execution/variables/k", json={"value": [1, "ü"]}, headers=attempt.headers())
    ).is_success
    assert (
        await client.patch(
            f"/execution/task-instances/{finished.id}/state",
            json={"state": "success", "end_date": "2026-11-24T12:00:00Z"},
            headers=finished.headers(),
        )
    ).is_success
    lane = _lanes().route_lane("GET", VARIABLE)
    answered = await fast_lane.try_route(lane, _variable_scope(server, "k", attempt.execution_token), b"")
    assert answered is not None
    assert (answered.status, json.loads(answered.body)) == (200, {"key": "k", "value": [1, "ü"]})
    refusals = [
        _variable_scope(server, "k", None),
        _variable_scope(server, "k", "garbage"),
        _variable_scope(server, "k", attempt.workload_token),
        _variable_scope(server, "k", finished.execution_token),
        _variable_scope(server, "missing", attempt.execution_token),
    ]
    for scope in refusals:
        assert await fast_lane.try_route(lane, scope, b"") is None, scope


@pytest.mark.parametrize("version", supported_versions())
async def test__variable_get__same_answers_on_both_paths(
    either_path: ServerHarness, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered_by_lane: list[bool] = []
    try_route = fast_lane.try_route

    async def watched(lane: fast_lane.RouteLane, scope: Any, body: bytes) -> fast_lane.Answered | None:
        answer = await try_route(lane, scope, body)
        if lane.method == "GET":
            answered_by_lane.append(answer is not None)
        return answer

    monkeypatch.setattr(fast_lane, "try_route", watched)
    async with either_path.client() as latest:
        attempts = await started(either_path.runtime, latest)
    a = attempts["extract"]
    async with either_path.client(version=version) as client:
        value = {"n": 1.5, "text": "naïve ✓", "list": [None, True, {"deep": []}]}
        assert (
            await client.put("/execution/variables/v.1", json={"value": value}, headers=a.headers())
        ).is_success
        ok = await client.get("/execution/variables/v.1", headers=a.headers())
        assert ok.status_code == 200
        assert answered_by_lane[-1:] == [either_path.runtime.settings.fast_lanes]
        assert (
            ok.content
            == '{"key":"v.1","value":{"n":1.5,"text":"naïve ✓","list":[null,true,{"deep":[]}]}}'.encode()
        )
        assert (ok.headers["content-type"], ok.headers["Baton-API-Version"]) == ("application/json", version)
        assert int(ok.headers["content-length"]) == len(ok.content)
        assert "X-Request-ID" in ok.headers
        cases = [
            (
                await client.get("/execution/variables/missing", headers=a.headers()),
                404,
                "variable_not_found",
            ),
            (await client.get("/execution/variables/v.1"), 401, "token_missing"),
            (
                await client.get(
                    "/execution/variables/v.1", headers={"Authorization": f"Bearer {a.workload_token}"}
                ),
                403,
                "execution_token_required",
            ),
            (await client.get("/execution/variables/-bad", headers=a.headers()), 422, "validation_error"),
        ]
    for response, status, reason in cases:
        assert (response.status_code, response.json()["reason"]) == (status, reason)


def _attempt_scope(server: ServerHarness, method: str, path: str, token: str | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {"method": method, "path": path, "headers": headers, "app": server.app}


STATE_BODY = {"state": "success", "end_date": "2026-11-24T12:00:01Z"}
LOG_LINE = {
    "timestamp": "2026-11-24T12:00:00.5Z",
    "level": "info",
    "message": "naïve ✓",
    "fields": {"n": [1]},
}


async def test__attempt_lanes__answer_success_only(server: ServerHarness, client: httpx.AsyncClient) -> None:
    tis = await make_dag_run(server.runtime)
    queued = {task_id: attempt_of(server.runtime, ti) for task_id, ti in tis.items()}
    a, b = queued["extract"], queued["transform"]
    run_body = json.dumps(RUN_PAYLOAD).encode()

    def run_scope(attempt: Any, token: str | None) -> dict[str, Any]:
        return _attempt_scope(server, "PATCH", f"/execution/task-instances/{attempt.id}/run", token)

    run_refusals = [
        (run_scope(a, None), run_body),
        (run_scope(a, "garbage"), run_body),
        (run_scope(a, b.workload_token), run_body),
        (run_scope(a, a.workload_token), b"{not json"),
        (run_scope(a, a.workload_token), json.dumps({**RUN_PAYLOAD, "pid": "4242"}).encode()),
        (run_scope(a, a.workload_token), json.dumps({**RUN_PAYLOAD, "extra": 1}).encode()),
        ({**run_scope(a, a.workload_token), "path": "/execution/task-instances/not-a-uuid/run"}, run_body),
    ]
    for scope, body in run_refusals:
        assert await fast_lane.try_run(scope, body) is None, (scope, body)
    answered = await fast_lane.try_run(run_scope(a, a.workload_token), run_body)
    assert answered is not None
    assert (answered.status, answered.refreshed_token is not None) == (200, True)
    a.execution_token = answered.refreshed_token
    # The same process asking again gets the same answer; another process is the route's to refuse.
    again = await fast_lane.try_run(run_scope(a, a.workload_token), run_body)
    assert again is not None
    assert again.body == answered.body
    other_process = json.dumps({**RUN_PAYLOAD, "pid": 1}).encode()
    assert await fast_lane.try_run(run_scope(a, a.workload_token), other_process) is None

    logs_path = f"/execution/task-instances/{a.id}/logs"
    batch = json.dumps({"lines": [LOG_LINE], "batch_id": str(uuid.uuid4())}).encode()
    for scope, body in [
        (_attempt_scope(server, "POST", logs_path, None), batch),
        (_attempt_scope(server, "POST", logs_path, a.workload_token), batch),
        (_attempt_scope(server, "POST", f"/execution/task-instances/{b.id}/logs", a.execution_token), batch),
        (_attempt_scope(server, "POST", logs_path, a.execution_token), json.dumps({"lines": []}).encode()),
        (
            {**_attempt_scope(server, "POST", logs_path, a.execution_token), "headers": []},
            batch,
        ),  # no token
    ]:
        assert await fast_lane.try_upload_logs(scope, body) is None, (scope, body)
    stored = await fast_lane.try_upload_logs(
        _attempt_scope(server, "POST", logs_path, a.execution_token), batch
    )
    assert stored is not None
    assert (stored.status, stored.body) == (200, b'{"accepted":1}')

    state_path = f"/execution/task-instances/{a.id}/state"
    finish = json.dumps(STATE_BODY).encode()
    for scope, body in [
        (_attempt_scope(server, "PATCH", state_path, a.workload_token), finish),
        (
            _attempt_scope(server, "PATCH", f"/execution/task-instances/{b.id}/state", a.execution_token),
            finish,
        ),
        (_attempt_scope(server, "PATCH", state_path, a.execution_token), b'{"state": "running"}'),
    ]:
        assert await fast_lane.try_finish(scope, body) is None, (scope, body)
    done = await fast_lane.try_finish(_attempt_scope(server, "PATCH", state_path, a.execution_token), finish)
    assert done is not None
    assert (done.status, done.body) == (200, b'{"state":"success","try_number":1}')
    changed = json.dumps({**STATE_BODY, "state": "failed"}).encode()
    assert (
        await fast_lane.try_finish(_attempt_scope(server, "PATCH", state_path, a.execution_token), changed)
        is None
    )


@pytest.mark.parametrize("version", supported_versions())
async def test__attempt_lanes__same_answers_as_the_routes(
    server: ServerHarness, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One attempt through the lanes, another through the routes, as a client of ``version``: the same
    answers, byte for byte, headers included; and the lanes answer (older versions too)."""
    tis = await make_dag_run(server.runtime, conf={"k": "ü", "n": [1.5, None]})
    queued = {task_id: attempt_of(server.runtime, ti) for task_id, ti in tis.items()}
    by_lane: list[bool] = []
    lanes = {name: getattr(fast_lane, name) for name in ("try_run", "try_finish", "try_upload_logs")}
    routes_only = False

    def watched(name: str) -> Any:
        async def lane(scope: Any, body: bytes) -> fast_lane.Answered | None:
            answer = None if routes_only else await lanes[name](scope, body)
            by_lane.append(answer is not None)
            return answer

        return lane

    for name in lanes:
        monkeypatch.setattr(fast_lane, name, watched(name))
    newest = version == supported_versions()[-1]
    # Each version's body as its clients send it; and one its route refuses: 2026-09-01 knows no
    # unix_user (its route records "unknown"), no version before 2026-12-02 a log batch's batch_id.
    knows_unix_user = version >= "2026-10-15"
    run_body = RUN_PAYLOAD if knows_unix_user else {k: v for k, v in RUN_PAYLOAD.items() if k != "unix_user"}
    refused_run_body = {**RUN_PAYLOAD, "unix_user": ""} if knows_unix_user else RUN_PAYLOAD
    batch: dict[str, Any] = {"lines": [LOG_LINE], **({"batch_id": str(uuid.uuid4())} if newest else {})}
    refused_batch = {"lines": [LOG_LINE], ("extra" if newest else "batch_id"): str(uuid.uuid4())}
    answers, refreshed = [], []
    async with server.client(version=version) as client:
        for attempt in (queued["extract"], queued["transform"]):
            routes_only = attempt is queued["transform"]
            run_url = f"/execution/task-instances/{attempt.id}/run"
            workload = {"Authorization": f"Bearer {attempt.workload_token}"}
            refused_run = await client.patch(run_url, json=refused_run_body, headers=workload)
            ran = await client.patch(run_url, json=run_body, headers=workload)
            attempt.execution_token = ran.headers["Refreshed-API-Token"]
            logs_url = f"/execution/task-instances/{attempt.id}/logs"
            refused_logs = await client.post(logs_url, json=refused_batch, headers=attempt.headers())
            logs = await client.post(logs_url, json=batch, headers=attempt.headers())
            state_url = f"/execution/task-instances/{attempt.id}/state"
            ended = await client.patch(state_url, json=STATE_BODY, headers=attempt.headers())
            repeated = await client.patch(state_url, json=STATE_BODY, headers=attempt.headers())
            responses = (refused_run, ran, refused_logs, logs, ended, repeated)
            refreshed.append(["refreshed-api-token" in r.headers for r in responses])
            answers.append([_whole(r, attempt, also_ignored=("refreshed-api-token",)) for r in responses])
    assert answers[0] == answers[1]
    assert refreshed[0] == refreshed[1]
    assert [status for status, *_ in answers[0]] == [422, 200, 422, 200, 200, 200]
    async with server.runtime.sessions() as session:
        users = {
            (await session.get(TaskInstanceRecord, attempt.id)).unix_user  # type: ignore[union-attr]
            for attempt in (queued["extract"], queued["transform"])
        }
    assert users == {"baton" if version >= "2026-10-15" else "unknown"}
    served = _lanes()
    # A lane is asked only in the versions it serves; it leaves every refusal to the route. Through the
    # lanes: the refused run, run, the refused batch, the batch, state and state repeated; then the
    # same asked again, all left to the routes.
    assert all(lane.serves(version) for lane in (served.run, served.logs, served.state))
    assert by_lane == [False, True, False, True, True, True] + [False] * 6


class _WatchedLane:
    """A hand lane (by default the claim's), watched: whether it answered each request, and a switch
    that leaves every request to the route."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, lane: str = "try_claim") -> None:
        self.by_lane: list[bool] = []
        self.routes_only = False
        self._lane = getattr(fast_lane, lane)
        monkeypatch.setattr(fast_lane, lane, self._watched)

    async def _watched(self, scope: Any, body: bytes) -> fast_lane.Answered | None:
        answer = None if self.routes_only else await self._lane(scope, body)
        self.by_lane.append(answer is not None)
        return answer


def _one_claimed(response: httpx.Response) -> tuple[int, bytes, str]:
    """A claim's answer of one workload, its token, id and task named by placeholders: what two claims
    of different task instances of one DAG share."""
    (workload,) = response.json()["workloads"]
    ti = workload["task_instance"]
    body = (
        response.content.replace(workload["token"].encode(), b"<token>")
        .replace(ti["id"].encode(), b"<id>")
        .replace(ti["task_id"].encode(), b"<task>")
    )
    return response.status_code, body, response.headers["content-type"]


async def test__claim_lane__same_answers_as_the_route(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One claim through the lane, another through the route: the same answer, byte for byte; a claim
    that finds nothing, or is refused, is the route's."""
    watch = _WatchedLane(monkeypatch)
    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag(
                "lanes",
                task("first_task", execution_timeout_seconds=30),
                task("second_task", execution_timeout_seconds=30),
            )
        )
        async with server.client(token=await new_admin_token(server)) as admin:
            assert (await admin.post("/api/dags/lanes/dag-runs", json={"run_id": "r1"})).is_success
        await scheduler_pass(server)
        claims, held = [], []
        for through_route in (False, True):
            watch.routes_only = through_route
            response = await worker.http.post(
                f"/workers/{worker.id}/claims", json={"max_workloads": 1, "held_task_instance_ids": held}
            )
            held.append(response.json()["workloads"][0]["task_instance"]["id"])
            claims.append(_one_claimed(response))
        assert claims[0] == claims[1]
        assert watch.by_lane == [True, False]
        watch.routes_only = False
        nothing_left = await worker.http.post(
            f"/workers/{worker.id}/claims", json={"wait_seconds": 0, "held_task_instance_ids": held}
        )
        refused = await worker.http.post(f"/workers/{uuid.uuid4()}/claims", json={})
    assert (nothing_left.status_code, nothing_left.content) == (200, b'{"workloads":[]}')
    assert (refused.status_code, refused.json()["reason"]) == (404, "worker_not_found")
    assert watch.by_lane == [True, False, False, False]


@pytest.mark.parametrize("limited", ["a pool elsewhere", "the tasks' pool", "the DAG"])
async def test__claim_lane__under_limits__answers_as_the_route(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch, limited: str
) -> None:
    """Where a pool or a DAG limits what is claimed, the lane still answers a claim that finds work (its
    statements run on the driver on PostgreSQL), with the route's answer, byte for byte."""
    watch = _WatchedLane(monkeypatch)
    pool = "db" if limited == "the tasks' pool" else "default_pool"
    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag(
                "limited",
                task("first_task", pool=pool),
                task("second_task", pool=pool),
                **({"max_active_tasks": 5} if limited == "the DAG" else {}),
            )
        )
        async with server.client(token=await new_admin_token(server)) as admin:
            if limited != "the DAG":
                assert (await admin.put("/api/pools/db", json={"slots": 5})).status_code == 200
            assert (await admin.post("/api/dags/limited/dag-runs", json={"run_id": "r1"})).is_success
        await scheduler_pass(server)
        claims = []
        for through_route in (False, True):
            watch.routes_only = through_route
            response = await worker.http.post(f"/workers/{worker.id}/claims", json={"max_workloads": 1})
            claims.append(_one_claimed(response))
    assert claims[0] == claims[1]
    assert watch.by_lane == [True, False]


async def test__claim_lane__with_work_waiting__hands_out_nothing_the_route_would_refuse(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane checks the credential inside the worker's sign of life: another worker credential, an
    admin token and a revoked credential get the route's refusal, a credential for other DAGs finds
    nothing, and only then does the worker's own credential claim the waiting work, by the lane."""
    watch = _WatchedLane(monkeypatch)
    async with server.runtime.sessions() as session:
        revoked = await issue_credential(session, "worker", "revoked")
    async with (
        fake_worker(server) as worker,
        fake_worker(server, "revoked", token=revoked.token) as revoked_worker,
        fake_worker(server, "scoped", token=await new_worker_token(server, "scoped", ["other_*"])) as scoped,
    ):
        await worker.register_dags(dag("guarded", task("only")))
        async with server.client(token=await new_admin_token(server)) as admin:
            assert (await admin.post("/api/dags/guarded/dag-runs", json={"run_id": "r1"})).is_success
        await scheduler_pass(server)
        async with server.runtime.sessions() as session:
            await revoke_credential(session, revoked.id)
        refusals = []
        for token, worker_id in (
            (await new_worker_token(server, "other"), worker.id),
            (await new_admin_token(server, "an-admin"), worker.id),
            (revoked.token, revoked_worker.id),
        ):
            async with server.client(token=token) as http:
                answer = await http.post(f"/workers/{worker_id}/claims", json={"wait_seconds": 0})
            refusals.append((answer.status_code, answer.json()["reason"]))
        out_of_scope = await scoped.claim(wait=0)
        claimed = await worker.claim(wait=0)
    assert refusals == [(403, "worker_not_owned"), (401, "invalid_credential"), (401, "credential_revoked")]
    assert out_of_scope == []
    assert [w["task_instance"]["task_id"] for w in claimed] == ["only"]
    assert watch.by_lane == [False, False, False, False, True]


@pytest.mark.parametrize("version", supported_versions()[:-1])
async def test__claim_lane__older_versions_answer_as_their_route(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    """An older version's claim (its body migrated, the runtimes it can express taken from its migration
    by path): through the lane, then through the route, the same answer byte for byte."""
    watch = _WatchedLane(monkeypatch)
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("old_claims", task("first_task"), task("second_task")))
        async with server.client(token=await new_admin_token(server)) as admin:
            assert (await admin.post("/api/dags/old_claims/dag-runs", json={"run_id": "r1"})).is_success
        await scheduler_pass(server)
        answers = []
        for through_route in (False, True):
            watch.routes_only = through_route
            response = await worker.http.post(
                f"/workers/{worker.id}/claims",
                json={"max_workloads": 1},
                headers={"Baton-API-Version": version},
            )
            assert response.status_code == 200, response.text
            _, body, _ = _one_claimed(response)
            ignored = ("x-request-id", "content-length")  # the ids replaced differ in length
            answers.append((body, sorted((k, v) for k, v in response.headers.items() if k not in ignored)))
    assert watch.by_lane == [True, False]
    assert answers[0] == answers[1]


def _sign_of_life(response: httpx.Response) -> tuple[Any, ...]:
    """A worker heartbeat's answer but the time of the sign of life, which each heartbeat stores anew."""
    return _answer(response, {response.json()["last_heartbeat_at"]: "<time>"})


async def _stored_sign_of_life(server: ServerHarness, worker_id: str) -> tuple[str, datetime]:
    async with server.runtime.sessions() as session:
        worker = await session.get(WorkerRecord, uuid.UUID(worker_id))
        assert worker is not None
        return worker.state, worker.last_heartbeat_at


@pytest.mark.parametrize("version", supported_versions())
async def test__worker_heartbeat_lane__same_answers_as_the_route(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    """A worker's heartbeat through the lane, then through the route: the same answer byte for byte but
    the time of the sign of life, which is the one each stored."""
    watch = _WatchedLane(monkeypatch, "try_worker_heartbeat")
    async with fake_worker(server, runtime="go") as worker:
        answers = []
        for through_route in (False, True):
            watch.routes_only = through_route
            response = await worker.http.put(
                f"/workers/{worker.id}/heartbeat", headers={"Baton-API-Version": version}
            )
            assert response.status_code == 200, response.text
            state, stored = await _stored_sign_of_life(server, worker.id)
            assert (state, datetime.fromisoformat(response.json()["last_heartbeat_at"])) == ("active", stored)
            answers.append(_sign_of_life(response))
    assert answers[0] == answers[1]
    assert watch.by_lane == [True, False]
    served = _lanes().worker_heartbeat
    assert served.serves(version)
    # An older version's route names the runtimes it can express in a header; its answer is migrated.
    assert (version in served.migrated) == (version < "2026-12-02")


async def test__worker_heartbeat_lane__refusals_are_the_routes_and_record_nothing(
    server: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker credential, an admin token, a revoked credential, an unknown worker and a worker of a
    runtime the client's version cannot express (an older version, or the header sent) get the route's
    refusal, and the worker's sign of life is not recorded."""
    async with server.runtime.sessions() as session:
        revoked = await issue_credential(session, "worker", "revoked")
    async with (
        fake_worker(server, "zig-worker", runtime="zig") as zig,
        fake_worker(server, "revoked", token=revoked.token) as revoked_worker,
    ):
        async with server.runtime.sessions() as session:
            await revoke_credential(session, revoked.id)
        before = await _stored_sign_of_life(server, zig.id)
        watch = _WatchedLane(monkeypatch, "try_worker_heartbeat")
        refusals = []
        for token, worker_id, headers in (
            (await new_worker_token(server, "other"), zig.id, {}),
            (await new_admin_token(server, "an-admin"), zig.id, {}),
            (revoked.token, revoked_worker.id, {}),
            (zig.http.headers["authorization"].removeprefix("Bearer "), str(uuid.uuid4()), {}),
            (None, zig.id, {"Baton-API-Version": "2026-11-24"}),
            (None, zig.id, {"Baton-Client-Runtimes": "go,java,python"}),
        ):
            http = zig.http if token is None else server.client(token=token)
            answer = await http.put(f"/workers/{worker_id}/heartbeat", headers=headers)
            if token is not None:
                await http.aclose()
            refusals.append((answer.status_code, answer.json()["reason"]))
        assert await _stored_sign_of_life(server, zig.id) == before
    assert refusals == [
        (403, "worker_not_owned"),
        (401, "invalid_credential"),
        (401, "credential_revoked"),
        (404, "worker_not_found"),
        (409, "runtime_not_in_api_version"),
        (409, "runtime_not_in_api_version"),
    ]
    assert watch.by_lane == [False] * 6  # asked each time, it left every one to the route


async def test__lane_answer__keeps_the_status_and_headers_a_migration_sets(server: ServerHarness) -> None:
    """A migration of an older version's answer may set its status and headers, on the route's
    sub-response: the lane's answer has them, the headers after the body's length and type, as the
    response FastAPI makes has them."""
    oldest = supported_versions()[0]

    def mark(response: ResponseInfo) -> None:
        response.status_code = 202
        response.headers["x-migrated"] = "yes"

    async with fake_worker(server, runtime="go") as worker:
        path = f"/workers/{worker.id}/heartbeat"
        route = await worker.http.put(path, headers={"Baton-API-Version": oldest})
        plan = _lanes().worker_heartbeat.plan(server.app, oldest)  # the version's routes are built now
        assert plan is not None
        marked = dataclasses.replace(plan, to_version=(*plan.to_version, mark))
        token = worker.http.headers["authorization"].removeprefix("Bearer ")
        async with server.runtime.autocommit.connect() as conn:
            row = await heartbeat_worker_by_token(conn, token, uuid.UUID(worker.id))
        plain = await fast_lane._lane_answer(plan, fast_lane._WORKER, worker_model(row), "refreshed")
        answered = await fast_lane._lane_answer(marked, fast_lane._WORKER, worker_model(row), None)
    assert (plain.status, plain.refreshed_token, answered.status, answered.refreshed_token) == (
        200,
        "refreshed",
        202,
        None,
    )
    assert answered.body == plain.body
    assert json.loads(plain.body).keys() == route.json().keys()  # the oldest version's shape
    length = (b"content-length", str(len(plain.body)).encode())
    assert plain.headers == (length, (b"content-type", b"application/json"))
    assert answered.headers == (*plain.headers, (b"x-migrated", b"yes"))


async def test__migrated_to_head__leaves_to_the_route_what_a_lane_does_not_take(
    server: ServerHarness,
) -> None:
    """A lane takes an older request's body and the headers it names: a migration that reads the cookies
    or the query parameters, or sets another header, is left to the route; one that sets a named header
    gives the lane its value."""
    await server.app.wait_for_all_versions()
    plan = _lanes().worker_heartbeat.plan(server.app, supported_versions()[0])
    assert plan is not None
    headers = [(b"cookie", b"c=1")]
    scope = {"type": "http", "method": "PUT", "path": "/x", "headers": headers, "query_string": b"q=1"}

    def reads_the_query(request: RequestInfo) -> None:
        request.query_params["q"] = "2"

    def reads_the_cookies(request: RequestInfo) -> None:
        request.cookies["c"] = "2"

    def names_runtimes(request: RequestInfo) -> None:
        request.headers["x-runtimes"] = "go"

    for migration, refusal in (
        (reads_the_query, "query parameters"),
        (reads_the_cookies, "cookies"),
        (names_runtimes, "more than the body"),
    ):
        with pytest.raises(ValueError, match=refusal):
            fast_lane._migrated_to_head(dataclasses.replace(plan, to_head=(migration,)), scope, None)
    taken: dict[bytes, str | None] = {b"x-runtimes": None}
    named = dataclasses.replace(plan, to_head=(names_runtimes,))
    assert fast_lane._migrated_to_head(named, scope, {"k": 1}, taken) == {"k": 1}
    assert taken == {b"x-runtimes": "go"}


class _Shown(BaseModel):
    name: str
    size: float


@pytest.mark.parametrize(
    ("decorator", "returned"),
    [
        ({}, _Shown(name="naïve ✓", size=1.5)),
        ({"response_class": JSONResponse}, _Shown(name="a", size=2)),
        ({"response_class": JSONResponse, "status_code": 201}, _Shown(name="b", size=0)),
        ({"response_model": None, "response_class": JSONResponse, "status_code": 202}, {"raw": [1, None]}),
        ({"response_model": None, "status_code": 204}, None),
        ({"response_model": None, "response_class": PlainTextResponse}, "plain ✓"),
    ],
    ids=["default", "json-response", "json-response-201", "json-no-model", "no-content", "plain-text"],
)
async def test__render_route_answer__the_bytes_and_headers_of_the_routes_response(
    decorator: dict[str, Any], returned: Any
) -> None:
    """What a lane renders of an endpoint's answer is what FastAPI's route sends, byte for byte, headers
    included, for each response class and status a route declares."""
    app = FastAPI()
    kwargs = {"response_model": _Shown, **decorator}

    @app.get("/shown", **kwargs)
    async def shown() -> Any:
        return returned

    (route,) = [r for r in app.routes if isinstance(r, APIRoute)]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        sent = await client.get("/shown")
    rendered = await fast_lane._render_route_answer(route, returned, "refreshed")
    assert (rendered.status, rendered.body) == (sent.status_code, sent.content)
    assert rendered.refreshed_token == "refreshed"
    assert list(rendered.headers) == sent.headers.raw


def _answer(
    response: httpx.Response, replaced: dict[str, str], also_ignored: tuple[str, ...] = ()
) -> tuple[Any, ...]:
    """A response's status, body and headers (but its request id and length, checked, and
    ``also_ignored``), with what differs between two alike answers ``replaced`` in the body, in order."""
    assert int(response.headers.get("content-length", "0")) == len(response.content)
    headers = sorted(
        (name, value)
        for name, value in response.headers.items()
        if name not in ("x-request-id", "content-length", *also_ignored)
    )
    body = response.content
    for value, placeholder in replaced.items():
        body = body.replace(value.encode(), placeholder.encode())
    return response.status_code, body, headers


def _whole(response: httpx.Response, attempt: Any, also_ignored: tuple[str, ...] = ()) -> tuple[Any, ...]:
    """:func:`_answer`, with the attempt's own ids replaced."""
    return _answer(response, {str(attempt.id): "<id>", attempt.task_id: "<task>"}, also_ignored)


async def _route_lane_calls(client: httpx.AsyncClient, attempt: Any) -> list[httpx.Response]:
    """One call of every laned route, as the attempt's task makes them."""
    h = attempt.headers()
    xcom = f"/execution/xcoms/{attempt.dag_id}/{attempt.run_id}/{attempt.task_id}/out"
    ti = f"/execution/task-instances/{attempt.id}"
    return [
        await client.put("/execution/variables/v.1", json={"value": {"n": 1.5, "t": "naïve ✓"}}, headers=h),
        await client.get("/execution/variables/v.1", headers=h),
        await client.delete("/execution/variables/v.1", headers=h),
        await client.put(xcom, json={"value": [None, True, {"deep": "ü"}]}, headers=h),
        await client.put(f"{xcom}?map_index=-1", json={"value": 2}, headers=h),
        await client.get(xcom, headers=h),
        await client.delete(xcom, headers=h),
        await client.get("/execution/connections/warehouse", headers=h),
        await client.get(f"{ti}/task-state-counts", headers=h),
        await client.get(f"{ti}/previous-successful-run", headers=h),
    ]


@pytest.mark.parametrize("version", supported_versions())
async def test__route_lanes__same_answers_as_the_routes(
    server: ServerHarness, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two attempts make the same calls to every laned route, one through the lanes, the other through
    the routes: the same answers, byte for byte, headers included."""
    async with server.client(token=await new_admin_token(server)) as admin:
        connection = {
            "conn_type": "postgres",
            "host": "db",
            "port": 5432,
            "password": "ü",
            "extra": {"a": [1]},
            "allowed_dag_ids": None,
        }
        assert (await admin.put("/api/connections/warehouse", json=connection)).is_success
    async with server.client() as latest:
        attempts = await started(server.runtime, latest)
    by_lane: list[bool] = []
    try_route = fast_lane.try_route
    routes_only = False

    async def watched(lane: fast_lane.RouteLane, scope: Any, body: bytes) -> fast_lane.Answered | None:
        answer = None if routes_only else await try_route(lane, scope, body)
        by_lane.append(answer is not None)
        return answer

    monkeypatch.setattr(fast_lane, "try_route", watched)
    answers = []
    async with server.client(version=version) as client:
        for attempt in (attempts["extract"], attempts["transform"]):
            routes_only = attempt is attempts["transform"]
            answers.append(
                [_whole(response, attempt) for response in await _route_lane_calls(client, attempt)]
            )
    assert answers[0] == answers[1]
    previous_run = 200 if version >= "2026-11-24" else 404  # the route is new in 2026-11-24
    assert [status for status, *_ in answers[0]] == [
        200,
        200,
        204,
        200,
        200,
        200,
        204,
        200,
        200,
        previous_run,
    ]
    served = _lanes()
    laned = [
        served.route_lane(method, path).serves(version)
        for method, path in [
            ("PUT", VARIABLE),
            ("GET", VARIABLE),
            ("DELETE", VARIABLE),
            ("PUT", XCOM),
            ("PUT", XCOM),
            ("GET", XCOM),
            ("DELETE", XCOM),
            ("GET", CONNECTION),
            ("GET", "/execution/task-instances/{task_instance_id}/task-state-counts"),
            ("GET", "/execution/task-instances/{task_instance_id}/previous-successful-run"),
        ]
    ]
    assert by_lane == [True] * sum(laned) + [False] * sum(laned)
