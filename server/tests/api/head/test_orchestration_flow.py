"""DAG runs end to end through the HTTP APIs: register, trigger, claim, run, retry, time out, finish.

The scheduler is driven explicitly, pass by pass, with an injected "now" where time matters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from baton_server import presence
from baton_server.scheduler.loop import PassReport, Scheduler

from tests.conftest import ServerHarness
from tests.factories import make_dag_run
from tests.orchestration import (
    UP_LONG_SINCE,
    FakeWorker,
    by_task,
    dag,
    diamond,
    fake_worker,
    iso,
    scheduler_pass,
    task,
)


async def _trigger(admin: httpx.AsyncClient, dag_id: str, **payload: Any) -> dict[str, Any]:
    response = await admin.post(f"/api/dags/{dag_id}/dag-runs", json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _run_detail(admin: httpx.AsyncClient, dag_id: str, run_id: str) -> dict[str, Any]:
    response = await admin.get(f"/api/dags/{dag_id}/dag-runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _tis(detail: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ti["task_id"]: ti for ti in detail["task_instances"]}


async def test__diamond_with_a_retry__runs_in_dependency_order_and_succeeds(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(diamond("diamond", retries=1, retry_delay_seconds=60))
        run = await _trigger(admin, "diamond", conf={"source": "s3://bucket"})
        assert run["state"] == "queued"
        assert run["conf"] == {"source": "s3://bucket"}

        waves: list[list[tuple[str, int]]] = []

        async def wave(now: datetime | None = None) -> dict[str, dict[str, Any]]:
            await scheduler_pass(server, now)
            claimed = await worker.claim()
            waves.append(
                sorted((w["task_instance"]["task_id"], w["task_instance"]["try_number"]) for w in claimed)
            )
            return by_task(claimed)

        first = await wave()
        await worker.run(first["a"])
        second = await wave()
        await worker.run(second["b"], "up_for_retry")
        await worker.run(second["c"])

        before_delay = await wave()
        detail = await _run_detail(admin, "diamond", run["run_id"])
        b = _tis(detail)["b"]
        assert (b["state"], b["try_number"], b["max_tries"]) == ("up_for_retry", 1, 2)
        due = datetime.fromisoformat(b["next_attempt_at"])
        assert due - datetime.fromisoformat(b["end_date"]) >= timedelta(seconds=60)
        assert before_delay == {}

        retried = await wave(due + timedelta(seconds=1))
        assert retried["b"]["token"] != second["b"]["token"]
        await worker.run(retried["b"])
        last = await wave()
        await worker.run(last["d"])
        report = await scheduler_pass(server)

    assert waves == [[("a", 1)], [("b", 1), ("c", 1)], [], [("b", 2)], [("d", 1)]]
    assert report.runs_finished == {}  # the final state of d finished the run, before any pass
    detail = await _run_detail(admin, "diamond", run["run_id"])
    assert detail["state"] == "success"
    assert detail["end_date"] is not None
    tis = _tis(detail)
    assert {t: (ti["state"], ti["try_number"], ti["max_tries"]) for t, ti in tis.items()} == {
        "a": ("success", 1, 1),
        "b": ("success", 2, 2),
        "c": ("success", 1, 1),
        "d": ("success", 1, 1),
    }
    assert all(ti["duration_seconds"] is not None and ti["duration_seconds"] >= 0 for ti in tis.values())
    assert datetime.fromisoformat(tis["d"]["start_date"]) >= datetime.fromisoformat(tis["b"]["end_date"])


async def test__retry_delay__counted_on_the_servers_clock_when_the_workers_lags(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("flaky", task("work", retries=1, retry_delay_seconds=60)))
        run = await _trigger(admin, "flaky")
        await scheduler_pass(server)
        [workload] = await worker.claim()
        assert (await worker.start(workload)).status_code == 200
        ti_id = workload["task_instance"]["id"]
        # The worker's clock is ten minutes behind the server's.
        reported = datetime.now(UTC)
        failed = await worker.http.patch(
            f"/execution/task-instances/{ti_id}/state",
            json={"state": "up_for_retry", "end_date": iso(reported - timedelta(minutes=10))},
            headers={"Authorization": f"Bearer {worker.execution_tokens[ti_id]}"},
        )
        assert failed.status_code == 200, failed.text
        await scheduler_pass(server)
        assert await worker.claim() == []
        b = _tis(await _run_detail(admin, "flaky", run["run_id"]))["work"]
        assert b["state"] == "up_for_retry"
        assert datetime.fromisoformat(b["next_attempt_at"]) >= reported + timedelta(seconds=60)
        await scheduler_pass(server, datetime.fromisoformat(b["next_attempt_at"]))
        [retry] = await worker.claim()
        assert retry["task_instance"]["try_number"] == 2


async def test__xcoms__a_new_try_starts_without_those_of_the_tries_before(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("etl", task("a", retries=1, retry_delay_seconds=0), task("b", "a")))
        run = await _trigger(admin, "etl")
        await scheduler_pass(server)

        async def push(workload: dict[str, Any], key: str) -> None:
            ti = workload["task_instance"]
            response = await worker.http.put(
                f"/execution/xcoms/etl/{run['run_id']}/a/{key}",
                json={"value": {"try": ti["try_number"]}},
                headers={"Authorization": f"Bearer {worker.execution_tokens[ti['id']]}"},
            )
            assert response.status_code in (200, 201, 204), response.text

        [first] = await worker.claim()
        assert (await worker.start(first)).status_code == 200
        await push(first, "stats")
        await push(first, "return_value")
        assert (await worker.finish(first, "up_for_retry")).status_code == 200
        await scheduler_pass(server)
        # The second try returns None (nothing pushed): b must not read the first try's values.
        [second] = await worker.claim()
        assert second["task_instance"]["try_number"] == 2
        await worker.run(second)
        await scheduler_pass(server)
        [downstream] = await worker.claim()
        assert (await worker.start(downstream)).status_code == 200
        token = worker.execution_tokens[downstream["task_instance"]["id"]]
        for key in ("stats", "return_value"):
            pulled = await worker.http.get(
                f"/execution/xcoms/etl/{run['run_id']}/a/{key}", headers={"Authorization": f"Bearer {token}"}
            )
            assert pulled.status_code == 404, (key, pulled.text)


async def test__heartbeat_stops__retried_after_timeout_then_failed_after_last_try(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    timeout = timedelta(seconds=server.settings.heartbeat_timeout)
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("flaky", task("work", retries=1, retry_delay_seconds=0)))
        run = await _trigger(admin, "flaky")
        await scheduler_pass(server)
        (first,) = await worker.claim()
        assert (await worker.start(first)).status_code == 200
        assert (await worker.heartbeat_task(first)).status_code == 204
        ti_id = first["task_instance"]["id"]
        beat = datetime.fromisoformat(
            (await admin.get(f"/api/task-instances/{ti_id}")).json()["last_heartbeat_at"]
        )

        just_in_time = await scheduler_pass(server, beat + timeout - timedelta(seconds=1))
        assert just_in_time.attempts_timed_out == 0
        timed_out = await scheduler_pass(server, beat + timeout + timedelta(seconds=1))
        assert timed_out.attempts_timed_out == 1
        assert timed_out.queued == 1  # no retry delay: the next attempt is queued in the same pass

        # The lost attempt's process is told to stop when it next heartbeats.
        assert (await worker.heartbeat_task(first)).status_code == 409
        (second,) = await worker.claim()
        assert second["task_instance"]["try_number"] == 2
        assert (await worker.start(second)).status_code == 200
        beat = datetime.now(UTC)
        final = await scheduler_pass(server, beat + timeout + timedelta(seconds=1))

    assert final.attempts_timed_out == 1
    assert final.runs_finished == {"failed": 1}
    detail = await _run_detail(admin, "flaky", run["run_id"])
    assert detail["state"] == "failed"
    assert _tis(detail)["work"]["state"] == "failed"
    assert _tis(detail)["work"]["try_number"] == 2


async def _one_running_one_claimed(
    server: ServerHarness, admin: httpx.AsyncClient, worker: FakeWorker
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run of DAG "patient" whose task "work" the worker started (and heartbeated) and whose task
    "later" it claimed and has not started: the workloads of both."""
    await worker.register_dags(dag("patient", task("work"), task("later")))
    await _trigger(admin, "patient")
    await scheduler_pass(server)
    running, claimed = sorted(await worker.claim(), key=lambda w: w["task_instance"]["task_id"] != "work")
    assert (await worker.start(running)).status_code == 200
    assert (await worker.heartbeat_task(running)).status_code == 204
    return running, claimed


def _judged(report: PassReport) -> tuple[int, int, int]:
    """What a pass judged of silences: attempts ended, workers marked offline, claims taken back."""
    return report.attempts_timed_out, report.workers_offline, report.claims_released


async def test__server_down_longer_than_the_heartbeat_timeout__its_restarted_scheduler_waits_a_timeout(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # An upgrade (or a crash) kept the server down for two heartbeat timeouts: the workers heartbeated
    # all along, and were refused. The scheduler of the server started again must not end their attempts
    # (nor mark them offline, nor take back their claims) before they could reach it.
    timeout = timedelta(seconds=server.settings.heartbeat_timeout)
    claim_timeout = timedelta(seconds=server.settings.claim_timeout)
    async with fake_worker(server) as worker:
        running, claimed = await _one_running_one_claimed(server, admin, worker)
        down_until = datetime.now(UTC) + 2 * max(timeout, claim_timeout)
        restarted = Scheduler(server.runtime, since=down_until)

        first = await restarted.run_once(down_until + timedelta(seconds=1))
        assert _judged(first) == (0, 0, 0)
        assert (await worker.heartbeat_task(running)).status_code == 204  # still its attempt

        # Silent for a whole timeout of the restarted scheduler's: ended then, its worker offline.
        silent = await restarted.run_once(down_until + max(timeout, claim_timeout) + timedelta(seconds=1))
    assert _judged(silent) == (1, 1, 1)
    assert claimed["task_instance"]["task_id"] == "later"


async def test__standalone_scheduler__judges_no_silence_while_no_api_server_is_up(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # `baton-server scheduler` runs on while every API server is down for two heartbeat timeouts: the
    # workers heartbeat all along and are refused. It must not end their attempts (nor mark them
    # offline, nor take back their claims) until the servers have been back for the timeouts.
    timeout = timedelta(seconds=server.settings.heartbeat_timeout)
    longest = max(timeout, timedelta(seconds=server.settings.claim_timeout))
    assert timeout > timedelta(seconds=presence.SILENT_AFTER)
    standalone = Scheduler(server.runtime, since=UP_LONG_SINCE, servers_apart=True)
    async with fake_worker(server) as worker:
        running, claimed = await _one_running_one_claimed(server, admin, worker)
        up = datetime.now(UTC)

        async def servers_mark_and_pass(at: datetime) -> tuple[int, int, int]:
            await presence.mark(server.runtime, at)
            return _judged(await standalone.run_once(at))

        assert await servers_mark_and_pass(up) == (0, 0, 0)
        assert await servers_mark_and_pass(up + timedelta(seconds=1)) == (0, 0, 0)
        # The servers go down: their mark stops; two timeouts later nothing is judged.
        assert _judged(await standalone.run_once(up + 2 * longest)) == (0, 0, 0)
        # They are back: the silence is judged only once they have been up for the timeouts.
        back = up + 2 * longest + timedelta(seconds=2)
        assert await servers_mark_and_pass(back) == (0, 0, 0)
        assert (await worker.heartbeat_task(running)).status_code == 204  # still its attempt
        assert await servers_mark_and_pass(back + longest - timedelta(seconds=1)) == (0, 0, 0)
        silent = await servers_mark_and_pass(back + longest + timedelta(seconds=1))
    assert silent == (1, 1, 1)
    assert claimed["task_instance"]["task_id"] == "later"


async def test__standalone_scheduler__that_never_sees_a_server__judges_no_silence(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # Started while every API server is down (or they are of a release that marks nothing): it does not
    # take them for up, however long it runs.
    standalone = Scheduler(server.runtime, since=UP_LONG_SINCE, servers_apart=True)
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("alone", task("work")))
        await _trigger(admin, "alone")
        await scheduler_pass(server)
        (running,) = await worker.claim()
        assert (await worker.start(running)).status_code == 200
        start = datetime.now(UTC)
        passes = [await standalone.run_once(start + timedelta(days=day)) for day in range(3)]
    assert [(p.attempts_timed_out, p.workers_offline) for p in passes] == [(0, 0)] * 3


async def test__execution_timeout__fails_the_attempt(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("slow", task("work", execution_timeout_seconds=30)))
        run = await _trigger(admin, "slow")
        await scheduler_pass(server)
        (workload,) = await worker.claim()
        assert workload["execution_timeout_seconds"] == 30
        started_at = datetime.now(UTC)
        assert (await worker.start(workload, start_date=started_at)).status_code == 200
        within = await scheduler_pass(server, started_at + timedelta(seconds=29))
        over = await scheduler_pass(server, started_at + timedelta(seconds=31))

    assert within.attempts_timed_out == 0
    assert over.attempts_timed_out == 1
    detail = await _run_detail(admin, "slow", run["run_id"])
    assert (detail["state"], _tis(detail)["work"]["state"]) == ("failed", "failed")


async def test__claimed_never_started__queued_again_after_claim_timeout(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server, "w1") as first, fake_worker(server, "w2") as second:
        await first.register_dags(dag("once", task("work")))
        await _trigger(admin, "once")
        await scheduler_pass(server)
        (lost,) = await first.claim()
        assert await second.claim() == []
        claimed_at = datetime.now(UTC)
        early = await scheduler_pass(
            server, claimed_at + timedelta(seconds=server.settings.claim_timeout - 5)
        )
        late = await scheduler_pass(server, claimed_at + timedelta(seconds=server.settings.claim_timeout + 5))
        (found,) = await second.claim()

    assert (early.claims_released, late.claims_released) == (0, 1)
    assert found["task_instance"]["id"] == lost["task_instance"]["id"]
    assert found["task_instance"]["try_number"] == lost["task_instance"]["try_number"] == 1


async def test__upstream_failure__propagates_by_trigger_rule_and_fails_the_run(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    description = dag(
        "rules",
        task("root"),
        task("strict", "root"),
        task("after_strict", "strict"),
        task("careful", "root", trigger_rule="none_failed"),
        task("cleanup", "root", trigger_rule="all_done"),
    )
    async with fake_worker(server) as worker:
        await worker.register_dags(description)
        run = await _trigger(admin, "rules")
        await scheduler_pass(server)
        (root,) = await worker.claim()
        await worker.run(root, "failed")
        report = await scheduler_pass(server)
        claimed = by_task(await worker.claim())
        assert set(claimed) == {"cleanup"}
        await worker.run(claimed["cleanup"])
        finished = await scheduler_pass(server)

    # The final state of root resolved them (strict, careful and after_strict), before any pass.
    assert report.upstream_failed == 0
    detail = await _run_detail(admin, "rules", run["run_id"])
    states = {t: ti["state"] for t, ti in _tis(detail).items()}
    assert states == {
        "root": "failed",
        "strict": "upstream_failed",
        "after_strict": "upstream_failed",
        "careful": "upstream_failed",
        "cleanup": "success",
    }
    assert finished.runs_finished == {}  # the final state of cleanup finished the run:
    assert detail["state"] == "failed"  # a leaf (after_strict, careful) did not succeed


async def test__skipped_upstream__skips_all_success_and_runs_none_failed(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    description = dag(
        "skips", task("gate"), task("strict", "gate"), task("lenient", "gate", trigger_rule="none_failed")
    )
    async with fake_worker(server) as worker:
        await worker.register_dags(description)
        run = await _trigger(admin, "skips")
        await scheduler_pass(server)
        (gate,) = await worker.claim()
        await worker.run(gate, "skipped")
        await scheduler_pass(server)
        claimed = by_task(await worker.claim())
        assert set(claimed) == {"lenient"}
        await worker.run(claimed["lenient"])
        finished = await scheduler_pass(server)

    assert finished.runs_finished == {}  # the final state of lenient finished the run
    detail = await _run_detail(admin, "skips", run["run_id"])
    assert detail["state"] == "success"
    states = {t: ti["state"] for t, ti in _tis(detail).items()}
    assert states == {"gate": "skipped", "strict": "skipped", "lenient": "success"}


async def test__run_keeps_its_dag_version__when_the_dag_changes(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        v1 = await worker.register_dags(dag("evolving", task("old")))
        old_run = await _trigger(admin, "evolving", run_id="before")
        v2 = await worker.register_dags(dag("evolving", task("old"), task("new", "old")))
        new_run = await _trigger(admin, "evolving", run_id="after")
        await scheduler_pass(server)
        claimed = await worker.claim()

    assert v1["dags"][0]["version_number"] == 1
    assert v2["dags"][0]["version_number"] == 2
    assert old_run["dag_version_id"] == v1["dags"][0]["dag_version_id"]
    assert new_run["dag_version_id"] == v2["dags"][0]["dag_version_id"]
    assert set(_tis(await _run_detail(admin, "evolving", "before"))) == {"old"}
    assert set(_tis(await _run_detail(admin, "evolving", "after"))) == {"old", "new"}
    versions = {(w["task_instance"]["run_id"], w["dag_version_id"]) for w in claimed}
    assert versions == {
        ("before", v1["dags"][0]["dag_version_id"]),
        ("after", v2["dags"][0]["dag_version_id"]),
    }


async def test__unreadable_dag_version__other_runs_still_scheduled(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # A run whose stored description is not in the registration's form (written straight to the database).
    await make_dag_run(
        server.runtime, dag_id="legacy", description={"dag_id": "legacy", "tasks": [{"id": 1}]}
    )
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("healthy", task("work")))
        await _trigger(admin, "healthy")
        report = await scheduler_pass(server)
        claimed = [w["task_instance"]["dag_id"] for w in await worker.claim()]
    assert report.runs_started == 1
    assert "healthy" in claimed
    legacy = (await admin.get("/api/dag-runs", params={"dag_id": "legacy"})).json()["dag_runs"][0]
    states = {ti["state"] for ti in (await _run_detail(admin, "legacy", legacy["run_id"]))["task_instances"]}
    assert states == {"failed"}  # handed to no worker, shown to the operator


async def test__final_state__queues_the_ready_downstream_itself(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    # Event-driven: after the first pass, no pass runs; each finish queues the next task of the chain
    # (and the last one finishes the run), so a worker claims it at once.
    async with fake_worker(server) as worker:
        await worker.register_dags(dag("chain", task("a"), task("b", "a"), task("c", "b")))
        run = await _trigger(admin, "chain")
        await scheduler_pass(server)
        order = []
        for _ in range(3):
            (workload,) = await worker.claim()
            order.append(workload["task_instance"]["task_id"])
            await worker.run(workload)
    assert order == ["a", "b", "c"]
    detail = await _run_detail(admin, "chain", run["run_id"])
    assert detail["state"] == "success"


async def test__failed_final_state__resolves_the_downstream_itself(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    async with fake_worker(server) as worker:
        await worker.register_dags(
            dag("fails", task("a"), task("b", "a"), task("tidy", "a", trigger_rule="all_done"))
        )
        run = await _trigger(admin, "fails")
        await scheduler_pass(server)
        (a,) = await worker.claim()
        await worker.run(a, "failed")
        states = {t: ti["state"] for t, ti in _tis(await _run_detail(admin, "fails", run["run_id"])).items()}
        assert states == {"a": "failed", "b": "upstream_failed", "tidy": "queued"}


async def test__a_pass_finds_the_run_with_something_to_decide_among_a_batch_of_runs_without(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    from baton_server.scheduler.task_instances import BATCH

    async with fake_worker(server) as worker:
        await worker.register_dags(dag("fresh", task("first")))
        # More running runs than one pass examines, every task queued: nothing to decide in any of them.
        for n in range(BATCH + 5):
            await make_dag_run(server.runtime, dag_id="busy", run_id=f"busy_{n}", task_ids=("work",))
        # Triggered last (ids are time-ordered): a run whose task awaits its scheduling.
        await _trigger(admin, "fresh")

        report = await scheduler_pass(server)

    assert (report.runs_started, report.scheduled, report.queued) == (1, 1, 1)
