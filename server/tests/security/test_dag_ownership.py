"""Many teams on one Baton: a worker credential registers and serves only its own DAGs, and revoking
it takes back what its workers hold (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.orchestration import dag, fake_worker, new_worker_token, scheduler_pass, task


async def _trigger(server: ServerHarness, admin: httpx.AsyncClient, *dag_ids: str) -> None:
    for dag_id in dag_ids:
        response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json={"run_id": "r1"})
        assert response.status_code == 201, response.text
    await scheduler_pass(server)


async def test__scoped_credential__registers_its_dags_only_and_owns_them(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    token = await new_worker_token(server, "team-a", dags=["team_a_*"])
    async with fake_worker(server, "a-1", token=token) as worker:
        await worker.register_dags(dag("team_a_etl", task("t")))
        refused = await worker.http.post(
            "/workers/dags",
            json={"dags": [dag("team_a_more", task("t")), dag("team_b_etl", task("t"))]},
        )
        cased = await worker.http.post("/workers/dags", json={"dags": [dag("TEAM_A_upper", task("t"))]})
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "dag_not_owned"
    assert "team_b_etl" in refused.json()["message"]
    assert cased.status_code == 403  # patterns are case-sensitive on both databases
    listed = {d["dag_id"]: d for d in (await admin.get("/api/dags")).json()["dags"]}
    assert set(listed) == {"team_a_etl"}  # all or nothing: team_a_more was not stored either
    assert listed["team_a_etl"]["owner"] == "team-a"
    assert (await admin.get("/api/dags/team_a_etl")).json()["owner"] == "team-a"
    old = await admin.get("/api/dags/team_a_etl", headers={"Baton-API-Version": "2026-11-24"})
    assert "owner" not in old.json()


async def test__another_team__cannot_replace_the_dag(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    a_token = await new_worker_token(server, "team-a", dags=["team_a_*"])
    b_token = await new_worker_token(server, "team-b", dags=["team_b_*"])
    async with fake_worker(server, "a-1", token=a_token) as a:
        await a.register_dags(dag("team_a_etl", task("t", queue="team-a")))
    async with fake_worker(server, "b-1", token=b_token) as b:
        hijack = await b.http.post(
            "/workers/dags", json={"dags": [dag("team_a_etl", task("t", queue="mine"))]}
        )
    assert hijack.status_code == 403, hijack.text
    tasks = (await admin.get("/api/dags/team_a_etl")).json()["tasks"]
    assert [t["queue"] for t in tasks] == ["team-a"]


async def test__claims__only_the_workloads_of_dags_the_credential_may_serve(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    everything = await new_worker_token(server, "platform")
    async with fake_worker(server, "platform-1", token=everything) as platform:
        await platform.register_dags(dag("team_a_etl", task("t")), dag("team_b_etl", task("t")))
    await _trigger(server, admin, "team_a_etl", "team_b_etl")
    a_token = await new_worker_token(server, "team-a", dags=["team_a_*"])
    async with fake_worker(server, "a-1", token=a_token) as a:
        mine = await a.claim(max_workloads=10)
    assert [w["task_instance"]["dag_id"] for w in mine] == ["team_a_etl"]
    async with fake_worker(server, "platform-2", token=everything) as other:
        rest = await other.claim(max_workloads=10)
    assert [w["task_instance"]["dag_id"] for w in rest] == ["team_b_etl"]


async def test__credential_of_several_patterns__claims_only_claimable_workloads_of_its_dags(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    """Each of a credential's patterns is one more DAG it serves, never a way past what a claim needs of
    a workload (its worker's queues, its runtime, queued and held by no one) or to another team's DAG."""
    everything = await new_worker_token(server, "platform")
    async with fake_worker(server, "platform-1", token=everything) as platform:
        await platform.register_dags(
            dag("team_a_etl", task("t", queue="team-a")),
            dag("team_b_etl", task("t", queue="elsewhere")),
            dag("team_c_etl", task("t", queue="team-a")),
        )
    await _trigger(server, admin, "team_a_etl", "team_b_etl", "team_c_etl")
    token = await new_worker_token(server, "team-ab", dags=["team_a_*", "team_b_*"])
    async with fake_worker(server, "ab-1", token=token, queues=("team-a",)) as ab:
        mine = await ab.claim(max_workloads=10)
        again = await ab.claim(max_workloads=10)
    assert [w["task_instance"]["dag_id"] for w in mine] == ["team_a_etl"]
    assert again == []


async def test__revoked_credential__its_claims_and_running_attempts_are_taken_back(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    from baton_server.services.credentials import revoke_credential
    from baton_server.services.workers import WorkerState

    token = await new_worker_token(server, "doomed")
    async with fake_worker(server, "doomed-1", token=token) as worker:
        await worker.register_dags(dag("etl", task("a", retries=1), task("b", retries=1)))
        await _trigger(server, admin, "etl")
        first, second = await worker.claim(max_workloads=2)
        started = await worker.start(first)
        assert started.status_code == 200, started.text
        credential_id = await _credential_of(server, worker.id)
        async with server.runtime.sessions() as session:
            revoked = await revoke_credential(session, credential_id)
        assert (revoked.released, revoked.ended) == (1, 1)
        # The unstarted workload's token no longer starts it ...
        refused = await worker.start(second)
        assert refused.status_code == 401, refused.text
        assert refused.json()["reason"] == "claim_revoked"
        # ... the running attempt is told to stop at its next heartbeat ...
        beat = await worker.heartbeat_task(first)
        assert beat.status_code == 409, beat.text
        assert beat.json()["reason"] == "task_instance_not_running"
        # ... and the credential itself is refused.
        assert (await worker.http.post(f"/workers/{worker.id}/claims", json={})).status_code == 401
    workers = (await admin.get("/api/workers")).json()["workers"]
    assert [w["state"] for w in workers] == [WorkerState.OFFLINE.value]
    # Both workloads are another worker's to run: the released one now, the ended one on its retry.
    await scheduler_pass(server)
    async with fake_worker(server, "healthy-1") as healthy:
        again = await healthy.claim(max_workloads=10)
        assert {w["task_instance"]["task_id"] for w in again} >= {second["task_instance"]["task_id"]}
        for workload in again:
            await healthy.run(workload)


async def test__revoked_credential__its_workload_tokens_start_nothing_once_its_workers_name_is_taken_over(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    """A worker restarted under a new credential takes the revoked one's name as a new worker (a new
    id): the workload tokens handed to the old one (kept by whoever stole its credential) never start
    what the new one claims."""
    from baton_server.services.credentials import revoke_credential

    leaked = await new_worker_token(server, "team-a-leaked", dags=["team_a_*"])
    async with fake_worker(server, "a-1", token=leaked) as stolen:
        await stolen.register_dags(dag("team_a_etl", task("t")))
        await _trigger(server, admin, "team_a_etl")
        (workload,) = await stolen.claim()
        async with server.runtime.sessions() as session:
            await revoke_credential(session, await _credential_of(server, stolen.id))
        replacement = await new_worker_token(server, "team-a", dags=["team_a_*"])
        async with fake_worker(server, "a-1", token=replacement) as restarted:
            assert restarted.id != stolen.id
            (again,) = await restarted.claim()
            assert again["task_instance"]["id"] == workload["task_instance"]["id"]
            replayed = await stolen.start(workload)
            assert replayed.status_code == 409, replayed.text
            assert replayed.json()["reason"] == "not_startable"
            await restarted.run(again)
    workers = (await admin.get("/api/workers")).json()["workers"]
    assert [(w["name"], w["id"]) for w in workers] == [("a-1", restarted.id)]


async def test__workload_token__starts_only_its_own_workers_claim(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "w-1") as first, fake_worker(server, "w-2") as second:
        await first.register_dags(dag("etl", task("a")))
        await _trigger(server, admin, "etl")
        (workload,) = await first.claim()
        # The worker restarts: registering again puts its unstarted claim back in the queue.
        assert (await first.register()).status_code == 200
        (again,) = await second.claim()
        assert again["task_instance"]["id"] == workload["task_instance"]["id"]
        stale = await first.start(workload)
        assert stale.status_code == 409, stale.text
        assert stale.json()["reason"] == "not_startable"
        await second.run(again)


async def test__workload_token__of_a_lost_claim_never_replays_the_start_of_another_worker(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    """``run`` repeated from the host and pid that started an attempt answers it again, with an execution
    token: only for the token of the claim it started under. Another worker's token (a claim it lost, or
    a revoked credential's) names another worker; the body's host and pid are the caller's to say, and the
    refusal does not tell them."""
    async with fake_worker(server, "w-1") as first, fake_worker(server, "w-2") as second:
        await first.register_dags(dag("etl", task("a")))
        await _trigger(server, admin, "etl")
        (workload,) = await first.claim()
        assert (await first.register()).status_code == 200  # a restart: its claim goes back to the queue
        (again,) = await second.claim()
        assert (await second.start(again)).status_code == 200
        ti_id = again["task_instance"]["id"]
        replay = {
            "hostname": f"{second.name}.test",
            "pid": second.pids[ti_id],
            "unix_user": "baton",
            "start_date": "2026-12-03T00:00:00Z",
        }
        for body in (replay, {**replay, "pid": 1}):
            stolen = await first.http.patch(
                f"/execution/task-instances/{ti_id}/run",
                json=body,
                headers={"Authorization": f"Bearer {workload['token']}"},
            )
            assert stolen.status_code == 409, stolen.text
            assert stolen.json()["reason"] == "not_startable"
            assert "Refreshed-API-Token" not in stolen.headers
            assert replay["hostname"] not in stolen.text
        # The worker that started it gets its answer again.
        repeated = await second.http.patch(
            f"/execution/task-instances/{ti_id}/run",
            json=replay,
            headers={"Authorization": f"Bearer {again['token']}"},
        )
        assert repeated.status_code == 200, repeated.text


async def _credential_of(server: ServerHarness, worker_id: str) -> object:
    import uuid

    from baton_server.db.tables import WorkerRecord

    async with server.runtime.sessions() as session:
        record = await session.get(WorkerRecord, uuid.UUID(worker_id))
        assert record is not None
        return record.credential_id
