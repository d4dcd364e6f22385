"""Task tokens: every way a token can be wrong, scoping to one task instance, refresh and refusal."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from baton_server.services.tokens import AUDIENCE, TokenService

from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.factories import RUN_PAYLOAD, Attempt, started

END = "2026-11-24T12:05:00+00:00"


def _forge(server: ServerHarness, **claims: object) -> str:
    now = int(time.time())
    base: dict[str, object] = {
        "aud": AUDIENCE,
        "scope": "execution",
        "try": 1,
        "iat": now,
        "exp": now + 600,
        "jti": "x",
    }
    base.update(claims)
    key = server.settings.signing_key
    assert key is not None
    return jwt.encode(
        {k: v for k, v in base.items() if v is not None}, key.get_secret_value(), algorithm="HS256"
    )


async def _get_variable(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return await client.get("/execution/variables/anything", headers=headers)


async def test__no_token__401(server: ServerHarness, client: httpx.AsyncClient) -> None:
    response = await _get_variable(client, None)
    assert response.status_code == 401
    assert response.json()["reason"] == "token_missing"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda s, ti: "not-a-jwt", id="malformed"),
        pytest.param(lambda s, ti: _forge(s, sub=str(ti), exp=int(time.time()) - 5), id="expired"),
        pytest.param(lambda s, ti: _forge(s, sub=str(ti), aud="somebody-else"), id="wrong-audience"),
        pytest.param(
            lambda s, ti: jwt.encode(
                {"sub": str(ti), "aud": AUDIENCE, "scope": "execution", "try": 1, "iat": 1, "exp": 2**40},
                "another-key-" + "y" * 32,
                algorithm="HS256",
            ),
            id="forged",
        ),
        pytest.param(lambda s, ti: _forge(s, sub="not-a-uuid"), id="subject-not-an-id"),
        pytest.param(lambda s, ti: _forge(s, sub=None), id="subject-missing"),
        pytest.param(lambda s, ti: _forge(s, sub=str(ti), scope="admin"), id="unknown-scope"),
        pytest.param(lambda s, ti: _forge(s, sub=str(ti), **{"try": "1"}), id="try-not-an-int"),
    ],
)
async def test__bad_token__401_never_500(
    server: ServerHarness, client: httpx.AsyncClient, make_token: object
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    token = make_token(server, attempt.id)  # type: ignore[operator]
    for response in (
        await _get_variable(client, token),
        await client.put(
            f"/execution/task-instances/{attempt.id}/heartbeat",
            json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
            headers={"Authorization": f"Bearer {token}"},
        ),
    ):
        assert response.status_code == 401, response.text
        assert response.json()["reason"] in {"token_invalid", "token_expired"}


async def test__token_of_a_then_path_of_b__403_everywhere(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempts = await started(server.runtime, client)
    a, b = attempts["extract"], attempts["transform"]
    hb = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}
    calls = [
        client.put(f"/execution/task-instances/{b.id}/heartbeat", json=hb, headers=a.headers()),
        client.patch(
            f"/execution/task-instances/{b.id}/state",
            json={"state": "success", "end_date": END},
            headers=a.headers(),
        ),
        client.post(
            f"/execution/task-instances/{b.id}/logs",
            json={"lines": [{"timestamp": END, "level": "info", "message": "spoofed"}]},
            headers=a.headers(),
        ),
        client.get(f"/execution/task-instances/{b.id}/task-state-counts", headers=a.headers()),
        client.get(f"/execution/task-instances/{b.id}/previous-successful-run", headers=a.headers()),
        client.put("/execution/xcoms/etl/manual__1/transform/out", json={"value": 1}, headers=a.headers()),
        client.delete("/execution/xcoms/etl/manual__1/transform/out", headers=a.headers()),
    ]
    for call in calls:
        response = await call
        assert response.status_code == 403, response.text
    # b is untouched
    b_hb = await client.put(f"/execution/task-instances/{b.id}/heartbeat", json=hb, headers=b.headers())
    assert b_hb.status_code == 204


async def test__finished_attempt_token__refused(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "success", "end_date": END},
        headers=attempt.headers(),
    )
    response = await client.get("/execution/variables/x", headers=attempt.headers())
    assert response.status_code == 401
    assert response.json()["reason"] == "task_attempt_finished"
    assert "Refreshed-API-Token" not in response.headers


def _short_lived(server: ServerHarness, attempt: Attempt) -> str:
    key = server.settings.signing_key
    assert key is not None
    service = TokenService(key.get_secret_value(), workload_ttl=3600, execution_ttl=30)
    return service.issue(attempt.id, 1, "execution")


async def test__token_near_expiry__response_carries_fresh_token(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    short = _short_lived(server, attempt)
    hb = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers={"Authorization": f"Bearer {short}"},
    )
    assert hb.status_code == 204
    fresh = hb.headers["Refreshed-API-Token"]
    claims = server.runtime.tokens.verify(fresh)
    assert claims.task_instance_id == attempt.id
    assert claims.scope == "execution"
    assert claims.expires_at - time.time() > 300
    var = await client.get("/execution/variables/missing", headers={"Authorization": f"Bearer {short}"})
    assert var.status_code == 404
    assert "Refreshed-API-Token" in var.headers


async def test__token_far_from_expiry__no_refresh(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    hb = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]},
        headers=attempt.headers(),
    )
    assert hb.status_code == 204
    assert "Refreshed-API-Token" not in hb.headers


async def test__token_for_unknown_task_instance__401(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    token = server.runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    response = await _get_variable(client, token)
    assert response.status_code == 401


async def test__heartbeats_further_apart_than_the_refresh_window__keep_the_token_alive(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    # A worker heartbeating every 12 s (well within the 300 s heartbeat timeout) against tokens of 30 s
    # refreshed from 5 s before expiry: its beats at 12 s and 24 s came before the window and the one at
    # 36 s with an expired token, and the running task was told to stop (401 token_expired). Through the
    # fast lanes and the routes at once (started one after the other): each is a wait of 48 s.
    servers = []
    try:
        for lane in ("fast-lanes", "routes"):
            settings = make_settings(
                await databases.create(),
                tmp_path / lane,
                execution_token_ttl=30,
                token_refresh_before=5,
                fast_lanes=lane == "fast-lanes",
            )
            servers.append(ServerHarness(settings))
            await servers[-1].start()
        await asyncio.gather(*(_heartbeats_12_s_apart(server) for server in servers))
    finally:
        for server in servers:
            await server.stop()


async def _heartbeats_12_s_apart(server: ServerHarness) -> None:
    async with server.client() as client:
        attempt = (await started(server.runtime, client))["extract"]
        beat = {"hostname": RUN_PAYLOAD["hostname"], "pid": RUN_PAYLOAD["pid"]}
        began = time.monotonic()
        for n in range(1, 5):
            await asyncio.sleep(max(0.0, began + 12 * n - time.monotonic()))
            response = await client.put(
                f"/execution/task-instances/{attempt.id}/heartbeat", json=beat, headers=attempt.headers()
            )
            lane = "fast lanes" if server.runtime.settings.fast_lanes else "routes"
            assert response.status_code == 204, (lane, 12 * n, response.text)
            attempt.execution_token = response.headers.get("Refreshed-API-Token", attempt.execution_token)
