"""Signing keys that rotate: key ids, keys at rest, replicas learning a new key, a rotation under load."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from baton_server.db.tables import SigningKeyRecord
from baton_server.db.types import utcnow
from baton_server.errors import UnauthorizedError
from baton_server.runtime import Runtime
from baton_server.services.signing_keys import GRACE_SECONDS, rotate
from baton_server.services.tokens import AUDIENCE, STATIC_KID
from sqlalchemy import select, update

from tests.api.head.test_server_processes import (
    _credentials,
    _env,
    _free_port,
    _healthy,
    _no_tracebacks,
    _process,
)
from tests.conftest import DatabaseFactory, ServerHarness, make_settings
from tests.orchestration import FakeWorker, dag, task


def _kid(token: str) -> str:
    kid: str = jwt.get_unverified_header(token).get("kid", "")
    return kid


def _legacy_token(runtime: Runtime) -> str:
    """A token as a server minted it before key ids existed: HS256 with the configured key, no ``kid``."""
    assert runtime.settings.signing_key is not None
    now = int(time.time())
    claims = {"sub": str(uuid.uuid4()), "aud": AUDIENCE, "scope": "execution", "try": 1, "iat": now}
    return jwt.encode({**claims, "exp": now + 600}, runtime.settings.signing_key.get_secret_value())


async def _rotate(runtime: Runtime, algorithm: str = "HS256", *, drop_previous: bool = False) -> str:
    async with runtime.sessions() as session:
        info = await rotate(
            session,
            runtime.cipher,
            algorithm=algorithm,
            max_ttl=runtime.tokens.max_ttl,
            drop_previous=drop_previous,
        )
    return info.kid


async def test__rotate__new_tokens_carry_the_new_kid__older_and_kid_less_tokens_still_verify(
    server: ServerHarness,
) -> None:
    runtime = server.runtime
    before = runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    legacy = _legacy_token(runtime)
    assert _kid(before) == STATIC_KID
    kid = await _rotate(runtime)
    await runtime.load_signing_keys()
    after = runtime.tokens.issue(uuid.uuid4(), 1, "workload", worker_id=uuid.uuid4())
    assert _kid(after) == kid
    assert runtime.tokens.active_kid == kid
    assert (await runtime.tokens.verify_async(before)).kid == STATIC_KID
    assert (await runtime.tokens.verify_async(legacy)).kid == STATIC_KID
    claims = await runtime.tokens.verify_async(after)
    assert (claims.kid, claims.scope) == (kid, "workload")
    assert claims.worker_id is not None


async def test__rotate__key_material_encrypted_with_the_servers_cipher(server: ServerHarness) -> None:
    runtime = server.runtime
    hs_kid = await _rotate(runtime)
    ed_kid = await _rotate(runtime, "EdDSA")
    await runtime.load_signing_keys()
    async with runtime.sessions() as session:
        rows = {r.kid: r for r in (await session.scalars(select(SigningKeyRecord))).all()}
    assert set(rows) == {STATIC_KID, hs_kid, ed_kid}
    assert rows[STATIC_KID].private_encrypted == b""  # the configured key stays in the settings only
    hs_secret = runtime.cipher.decrypt(rows[hs_kid].private_encrypted)
    ed_private = runtime.cipher.decrypt(rows[ed_kid].private_encrypted)
    assert hs_secret is not None
    assert hs_secret.encode() not in rows[hs_kid].private_encrypted
    assert ed_private is not None
    assert ed_private.startswith("-----BEGIN PRIVATE KEY-----")
    assert b"PRIVATE" not in rows[ed_kid].private_encrypted
    assert rows[hs_kid].public_key is None
    public_key = rows[ed_kid].public_key
    assert public_key is not None
    assert public_key.startswith("-----BEGIN PUBLIC KEY-----")
    # The public half alone verifies the active key's tokens.
    token = runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    assert jwt.decode(token, public_key, algorithms=["EdDSA"], audience=AUDIENCE)["try"] == 1


async def test__rotate__a_replica_that_has_not_reloaded_verifies_the_new_key_at_once(
    server: ServerHarness, tmp_path: Path
) -> None:
    first = server.runtime
    second = Runtime.create(
        make_settings(first.settings.effective_database_url, tmp_path, signing_key=first.settings.signing_key)
    )
    try:
        await second.load_signing_keys()
        await _rotate(first, "EdDSA")
        await first.load_signing_keys()
        token = first.tokens.issue(uuid.uuid4(), 1, "execution")
        with pytest.raises(UnauthorizedError):
            second.tokens.verify(token)  # the key is not held yet ...
        assert (await second.tokens.verify_async(token)).kid == _kid(token)  # ... and is looked up
        # The replica that has not reloaded still signs with the previous key, which every replica verifies.
        older = second.tokens.issue(uuid.uuid4(), 1, "execution")
        assert _kid(older) == STATIC_KID
        assert (await first.tokens.verify_async(older)).kid == STATIC_KID
    finally:
        await second.close()


async def test__rotations_at_once_on_two_replicas__leave_exactly_one_active_key(
    server: ServerHarness, tmp_path: Path
) -> None:
    # `keys rotate` run twice at once (two operators, two replicas): each retires the active key
    # and adds its own; without a lock neither saw the other's new key, and both stayed active.
    first = server.runtime
    second = Runtime.create(
        make_settings(first.settings.effective_database_url, tmp_path, signing_key=first.settings.signing_key)
    )
    try:
        for _ in range(3):
            kids = await asyncio.gather(*(_rotate(runtime) for runtime in (first, second, first, second)))
            async with first.sessions() as session:
                active = (
                    await session.scalars(
                        select(SigningKeyRecord.kid).where(SigningKeyRecord.retired_at.is_(None))
                    )
                ).all()
            assert len(active) == 1
            assert active[0] in kids
    finally:
        await second.close()


async def test__retired_key__refused_once_its_last_token_has_expired(server: ServerHarness) -> None:
    runtime = server.runtime
    first_kid = await _rotate(runtime)
    await runtime.load_signing_keys()
    token = runtime.tokens.issue(uuid.uuid4(), 1, "workload")
    legacy = _legacy_token(runtime)
    second_kid = await _rotate(runtime)
    await runtime.load_signing_keys()
    assert (await runtime.tokens.verify_async(token)).kid == first_kid
    long_ago = timedelta(seconds=runtime.tokens.max_ttl + GRACE_SECONDS + 60)
    async with runtime.sessions() as session:
        await session.execute(
            update(SigningKeyRecord)
            .where(SigningKeyRecord.retired_at.is_not(None))
            .values(retired_at=utcnow() - long_ago)
        )
        await session.commit()
    await runtime.load_signing_keys()
    assert runtime.tokens.kids() == [second_kid]
    for expired_key in (token, legacy):
        with pytest.raises(UnauthorizedError):
            await runtime.tokens.verify_async(expired_key)
    # The next rotation deletes the expired key; the configured key's row stays, marking it refused.
    await _rotate(runtime)
    async with runtime.sessions() as session:
        kids = set((await session.scalars(select(SigningKeyRecord.kid))).all())
    assert first_kid not in kids
    assert STATIC_KID in kids


async def test__rotate_dropping_previous__every_older_token_refused_at_the_next_reload(
    server: ServerHarness,
) -> None:
    runtime = server.runtime
    await _rotate(runtime)
    await runtime.load_signing_keys()
    leaked = runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    legacy = _legacy_token(runtime)
    assert (await runtime.tokens.verify_async(leaked)).try_number == 1
    kid = await _rotate(runtime, drop_previous=True)
    await runtime.load_signing_keys()
    assert runtime.tokens.kids() == [kid]
    for old in (leaked, legacy):
        with pytest.raises(UnauthorizedError):
            await runtime.tokens.verify_async(old)
    fresh = runtime.tokens.issue(uuid.uuid4(), 1, "execution")
    assert (await runtime.tokens.verify_async(fresh)).kid == kid


async def test__started_attempt__rotation_mid_way__keeps_going_and_is_handed_a_token_of_the_new_key(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    from tests.factories import started

    runtime = server.runtime
    attempt = (await started(runtime, client, task_ids=("extract",)))["extract"]
    assert _kid(attempt.execution_token) == STATIC_KID
    kid = await _rotate(runtime, "EdDSA")
    await runtime.load_signing_keys()
    beat = await client.put(
        f"/execution/task-instances/{attempt.id}/heartbeat",
        json={"hostname": "worker-1.example", "pid": 4242},
        headers=attempt.headers(),
    )
    assert beat.status_code == 204, beat.text
    # Refreshing (as a token near its expiry is) signs with the new key.
    claims = await runtime.tokens.verify_async(attempt.execution_token)
    fresh = runtime.tokens.fresh_if_due(claims, within=runtime.tokens.max_ttl)
    assert fresh is not None
    assert _kid(fresh) == kid
    done = await client.patch(
        f"/execution/task-instances/{attempt.id}/state",
        json={"state": "success", "end_date": "2026-12-03T00:00:00Z"},
        headers={"Authorization": f"Bearer {fresh}"},
    )
    assert done.status_code == 200, done.text


class Traffic:
    """The load's requests through both replicas: how many were sent and failed, the key ids each accepted."""

    def __init__(self, replicas: list[httpx.AsyncClient]) -> None:
        self.replicas = replicas
        self.sent = 0
        self.failed: list[str] = []
        self.accepted: dict[int, set[str]] = {i: set() for i in range(len(replicas))}

    async def send(
        self, replica: int, method: str, path: str, token: str, expected: int, body: Any = None
    ) -> httpx.Response | None:
        """One request with ``token``; None (and a failure recorded) unless it is answered ``expected``."""
        self.sent += 1
        try:
            response = await self.replicas[replica].request(
                method, path, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TransportError as exc:
            self.failed.append(f"replica {replica} {method} {path}: {exc!r}")
            return None
        if response.status_code != expected:
            self.failed.append(
                f"replica {replica} {method} {path} kid {_kid(token)}: "
                f"{response.status_code} {response.text[:200]}"
            )
            return None
        self.accepted[replica].add(_kid(token))
        return response

    async def reach(self, sent: int, deadline: float = 600) -> None:
        """Wait until ``sent`` requests have gone out (or one failed); fail after ``deadline`` seconds."""
        limit = time.monotonic() + deadline
        while self.sent < sent and not self.failed:  # a failure ends the wait: the test reports it
            if time.monotonic() > limit:
                raise AssertionError(f"only {self.sent} of {sent} requests sent in {deadline} s")
            await asyncio.sleep(0.05)


@pytest.mark.postgres_only
@pytest.mark.slow
async def test__rotation_with_two_replicas_under_load__loses_no_request(
    databases: DatabaseFactory, tmp_path: Path
) -> None:
    """Two ``serve`` processes on one PostgreSQL; tasks start, heartbeat, read and finish through both
    while ``keys rotate`` runs three times (HS256, Ed25519, HS256).

    Execution tokens live 30 s and are refreshed on nearly every answer, so each replica keeps
    handing out tokens of its own active key. The first replica reloads its keys every 0.2 s; the
    second only every 300 s (so never during the test): it keeps signing with the configured key and
    must learn every new key from the first tokens that carry it. Not one request may fail."""
    url = await databases.create()
    data = tmp_path / "data"
    admin_token, (worker_token,) = await _credentials(url, data, 1)
    ports = [_free_port(), _free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    common = {"BATON_EXECUTION_TOKEN_TTL": "30", "BATON_TOKEN_REFRESH_BEFORE": "29"}
    envs = [
        _env(
            url,
            data,
            BATON_PORT=str(ports[0]),
            BATON_SCHEDULER_INTERVAL="0.1",
            BATON_SIGNING_KEY_REFRESH="0.2",
            **common,
        ),
        _env(
            url,
            data,
            BATON_PORT=str(ports[1]),
            BATON_RUN_SCHEDULER="false",
            BATON_SIGNING_KEY_REFRESH="300",
            **common,
        ),
    ]
    rotations = ["HS256", "EdDSA", "HS256"]
    per_phase = 12
    tasks_total = per_phase * (len(rotations) + 1)
    finishing = asyncio.Event()
    finished = 0

    async def play(workload: dict[str, Any], seed: int) -> None:
        """One task: run on a random replica, then heartbeats and variable reads on both, then finish."""
        nonlocal finished
        rng = random.Random(seed)
        path = f"/execution/task-instances/{workload['task_instance']['id']}"
        run = {"hostname": "h", "pid": 1, "unix_user": "u", "start_date": "2026-12-03T00:00:00+00:00"}
        started = await traffic.send(rng.randrange(2), "PATCH", f"{path}/run", workload["token"], 200, run)
        if started is None:
            return
        token = started.headers["Refreshed-API-Token"]
        rounds = 0
        while not finishing.is_set() or rounds < 4:
            for method, target, expected, body in (
                ("PUT", f"{path}/heartbeat", 204, {"hostname": "h", "pid": 1}),
                ("GET", "/execution/variables/shared", 200, None),
            ):
                answered = await traffic.send(rng.randrange(2), method, target, token, expected, body)
                if answered is not None:
                    # As every client does: a token near its expiry is swapped for the fresh one.
                    token = answered.headers.get("Refreshed-API-Token", token)
            rounds += 1
            await asyncio.sleep(0.02)  # pacing: a task calls every few seconds, not in a tight loop
        end = {"state": "success", "end_date": "2026-12-03T00:01:00+00:00"}
        if await traffic.send(rng.randrange(2), "PATCH", f"{path}/state", token, 200, end) is not None:
            finished += 1

    def keys_cli(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "baton_server.cli", "keys", *args],
            env=_env(url, data, **common),
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        return result.stdout

    with _process(["serve"], envs[0], logs[0]) as first, _process(["serve"], envs[1], logs[1]) as second:
        await asyncio.gather(_healthy(bases[0], first, logs[0]), _healthy(bases[1], second, logs[1]))
        worker_auth = {"Authorization": f"Bearer {worker_token}"}
        async with (
            httpx.AsyncClient(
                base_url=bases[0], headers={"Authorization": f"Bearer {admin_token}"}, timeout=120
            ) as admin,
            httpx.AsyncClient(base_url=bases[0], headers=worker_auth, timeout=120) as worker_a,
            httpx.AsyncClient(base_url=bases[1], headers=worker_auth, timeout=120) as worker_b,
            httpx.AsyncClient(base_url=bases[0], timeout=120) as task_a,
            httpx.AsyncClient(base_url=bases[1], timeout=120) as task_b,
        ):
            traffic = Traffic([task_a, task_b])
            assert (await admin.put("/api/variables/shared", json={"value": 1})).status_code == 200
            registrar = FakeWorker(worker_a, "rotating")
            assert (await registrar.register(capacity=tasks_total)).status_code == 200
            await registrar.register_dags(dag("busy", *(task(f"t{i:02d}") for i in range(tasks_total))))
            assert (await admin.post("/api/dags/busy/dag-runs", json={"run_id": "r1"})).status_code == 201
            # Claims alternate between the replicas, so workload tokens of every key meet both.
            claimers = [registrar, FakeWorker(worker_b, "rotating")]
            claimers[1].id = registrar.id
            players: list[asyncio.Task[None]] = []
            kids: list[str] = []
            for phase in range(len(rotations) + 1):
                claimed = 0
                while claimed < per_phase:
                    batch = await claimers[len(players) % 2].claim(
                        max_workloads=per_phase - claimed, wait=1.0
                    )
                    for workload in batch:
                        players.append(asyncio.create_task(play(workload, len(players))))
                    claimed += len(batch)
                # Let the phase's tasks start and call a while under the current keys, then rotate.
                await traffic.reach(traffic.sent + 40 * per_phase)
                if phase < len(rotations):
                    rotated = await asyncio.to_thread(
                        keys_cli, "rotate", "--algorithm", rotations[phase], "--json"
                    )
                    kids.append(json.loads(rotated)["kid"])
            finishing.set()
            await asyncio.wait_for(asyncio.gather(*players), timeout=600)
            listed = json.loads(await asyncio.to_thread(keys_cli, "list", "--json"))
            run = (await admin.get("/api/dags/busy/dag-runs/r1")).json()

    print(
        f"\ntwo-replica rotation: {traffic.sent} requests sent, {len(traffic.failed)} failed; "
        f"{tasks_total} tasks, {len(kids)} rotations; key ids accepted by the replica that reloads: "
        f"{len(traffic.accepted[0])}, by the one that does not: {len(traffic.accepted[1])}"
    )
    assert traffic.failed == [], "\n".join(traffic.failed[:20])
    assert finished == tasks_total
    assert Counter(ti["state"] for ti in run["task_instances"]) == {"success": tasks_total}
    # Both replicas accepted tokens of every key: the configured one and each rotated one.
    for replica in (0, 1):
        assert traffic.accepted[replica] >= {STATIC_KID, *kids}, (replica, traffic.accepted[replica])
    assert [k["kid"] for k in listed if k["retired_at"] is None] == [kids[-1]]
    assert {k["algorithm"] for k in listed} == {"HS256", "EdDSA"}
    _no_tracebacks(*logs)
