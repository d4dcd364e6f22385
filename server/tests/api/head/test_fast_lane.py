"""The fast lanes (heartbeat, variable read) answer only successes; the declared routes answer the same."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.api import fast_lane
from baton_server.api.schemas.execution import TIHeartbeatPayload, VariableResponse
from baton_server.api.versions import VERSIONS, supported_versions
from cadwyn import HeadVersion, Version, VersionBundle, VersionChange, schema

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, started

BODY = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}


def test__lanes__serve_every_version_today() -> None:
    lanes = fast_lane.lanes(VERSIONS)
    assert lanes.heartbeat == lanes.variable_get == frozenset(supported_versions())


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
    assert fast_lane.lanes(bundle).heartbeat == frozenset({"2030-01-01", "2029-01-01"})
    assert fast_lane.lanes(bundle).variable_get == frozenset({"2030-01-01", "2029-01-01", "2028-01-01"})
    assert fast_lane.lanes(bundle_with_variable_change).variable_get == frozenset({"2030-01-01"})


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


def _variable_scope(server: ServerHarness, key: str, token: str | None) -> dict[str, Any]:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return {"method": "GET", "path": f"/execution/variables/{key}", "headers": headers, "app": server.app}


async def test__try_get_variable__answers_success_only(
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
    answered = await fast_lane.try_get_variable(_variable_scope(server, "k", attempt.execution_token), b"")
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
        assert await fast_lane.try_get_variable(scope, b"") is None, scope


@pytest.mark.parametrize("version", supported_versions())
async def test__variable_get__same_answers_on_both_paths(
    either_path: ServerHarness, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered_by_lane: list[bool] = []
    lane = fast_lane.try_get_variable

    async def watched(scope: Any, body: bytes) -> fast_lane.Answered | None:
        answer = await lane(scope, body)
        answered_by_lane.append(answer is not None)
        return answer

    monkeypatch.setattr(fast_lane, "try_get_variable", watched)
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
