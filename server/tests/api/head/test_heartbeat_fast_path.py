"""The heartbeat fast lane: it answers only successes, and the declared route answers the same."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server.api import fast_heartbeat
from baton_server.api.schemas.execution import TIHeartbeatPayload
from baton_server.api.versions import VERSIONS, supported_versions
from cadwyn import HeadVersion, Version, VersionBundle, VersionChange, schema

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, started

BODY = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}


def test__fast_path_versions__every_version_today() -> None:
    assert fast_heartbeat.fast_path_versions(VERSIONS) == frozenset(supported_versions())


def test__fast_path_versions__stops_at_a_change_to_the_heartbeat() -> None:
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
    assert fast_heartbeat.fast_path_versions(bundle) == frozenset({"2030-01-01", "2029-01-01"})


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
        await fast_heartbeat.try_heartbeat(_scope(server, attempt.id, attempt.execution_token), good)
        is not None
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
        assert await fast_heartbeat.try_heartbeat(scope, body) is None, (scope["headers"], body)


@pytest.fixture(params=[True, False], ids=["fast-lane", "declared-route"])
async def either_path(
    request: pytest.FixtureRequest, databases: DatabaseFactory, tmp_path: Path
) -> AsyncIterator[ServerHarness]:
    harness = ServerHarness(
        make_settings(await databases.create(), tmp_path, heartbeat_fast_path=request.param)
    )
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
