"""A worker's fresh execution tokens for the attempts it runs (``POST /workers/{id}/task-tokens``).

A worker's credential stands in for an attempt's expired token, and for nothing more: only the running
attempts this worker holds get a token — never another worker's, another team's, a finished or an
unstarted one, and nothing once the credential is revoked.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from baton_server.services.credentials import revoke_credential

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, dag, fake_worker, new_worker_token, scheduler_pass, task


async def _tokens(worker: FakeWorker, *ids: str, worker_id: str | None = None) -> httpx.Response:
    return await worker.http.post(
        f"/workers/{worker_id or worker.id}/task-tokens", json={"task_instance_ids": list(ids)}
    )


def _refused(body: dict[str, Any]) -> dict[str, str]:
    return {r["task_instance_id"]: r["reason"] for r in body["refused"]}


async def _queued(server: ServerHarness, admin: httpx.AsyncClient, dag_id: str) -> None:
    await admin.post(f"/api/dags/{dag_id}/dag-runs", json={})
    await scheduler_pass(server)


async def test__task_tokens__only_the_running_attempts_the_worker_holds(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    token = await new_worker_token(server, "team-a", dags=["team_a_*"])
    async with (
        fake_worker(server, "a-1", token=token) as worker,
        fake_worker(server, "a-2", token=token) as peer,
    ):
        await worker.register_dags(dag("team_a_etl", task("run"), task("done"), task("waits")))
        await _queued(server, admin, "team_a_etl")
        claimed = {w["task_instance"]["task_id"]: w for w in await worker.claim(max_workloads=3)}
        running, done = claimed["run"], claimed["done"]
        for workload in (running, done):
            assert (await worker.start(workload)).status_code == 200
        assert (await worker.finish(done, "success")).status_code == 200
        ids = {task_id: w["task_instance"]["id"] for task_id, w in claimed.items()}
        unknown = str(uuid.uuid4())

        answer = await _tokens(worker, ids["run"], ids["done"], ids["waits"], unknown, ids["run"])
        by_peer = await _tokens(peer, ids["run"])
        fresh_token = answer.json()["tokens"][0]["token"] if answer.status_code == 200 else ""
        heartbeat = await worker.heartbeat_task(running, token=fresh_token)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    (fresh,) = body["tokens"]
    assert (fresh["task_instance_id"], fresh["try_number"]) == (ids["run"], 1)
    assert _refused(body) == {ids["done"]: "not_running", ids["waits"]: "not_running", unknown: "unknown"}
    claims = server.runtime.tokens.verify(fresh["token"])
    assert (str(claims.task_instance_id), claims.try_number, claims.scope) == (ids["run"], 1, "execution")
    assert heartbeat.status_code == 204, heartbeat.text
    # Another worker of the same credential does not hold it.
    assert by_peer.status_code == 200, by_peer.text
    assert by_peer.json() == {
        "tokens": [],
        "refused": [{"task_instance_id": ids["run"], "reason": "not_held"}],
    }


async def test__task_tokens__never_for_another_team_or_another_credentials_worker(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    token_a = await new_worker_token(server, "team-a", dags=["team_a_*"])
    token_b = await new_worker_token(server, "team-b", dags=["team_b_*"])
    async with fake_worker(server, "a-1", token=token_a) as a, fake_worker(server, "b-1", token=token_b) as b:
        await a.register_dags(dag("team_a_etl", task("run")))
        await _queued(server, admin, "team_a_etl")
        (workload,) = await a.claim()
        assert (await a.start(workload)).status_code == 200
        victim = workload["task_instance"]["id"]

        own_worker = await _tokens(b, victim)
        as_victims_worker = await _tokens(b, victim, worker_id=a.id)

    assert own_worker.status_code == 200, own_worker.text
    assert own_worker.json() == {
        "tokens": [],
        "refused": [{"task_instance_id": victim, "reason": "not_held"}],
    }
    assert as_victims_worker.status_code == 403, as_victims_worker.text
    assert as_victims_worker.json()["reason"] == "worker_not_owned"


async def test__task_tokens__none_once_the_credential_is_revoked(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    from baton_server.services.credentials import authenticate

    token = await new_worker_token(server, "team-a")
    async with fake_worker(server, "a-1", token=token) as worker:
        await worker.register_dags(dag("etl", task("run")))
        await _queued(server, admin, "etl")
        (workload,) = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        async with server.runtime.sessions() as session:
            credential = await authenticate(session, token, "worker")
            await revoke_credential(session, credential.id)
        answer = await _tokens(worker, workload["task_instance"]["id"])

    assert answer.status_code == 401, answer.text
    assert answer.json()["reason"] == "credential_revoked"


async def test__task_tokens__bounded(server: ServerHarness) -> None:
    async with fake_worker(server) as worker:
        too_many = await _tokens(worker, *(str(uuid.uuid4()) for _ in range(1_001)))
        none = await _tokens(worker)
    assert (too_many.status_code, none.status_code) == (422, 422)
