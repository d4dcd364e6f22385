"""The web UI's pages and controls: what each page shows, and each control through the UI, audited."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from baton_server.db.tables import TaskInstanceRecord
from baton_server.db.types import utcnow
from sqlalchemy import update

from tests.conftest import ServerHarness
from tests.orchestration import by_task, dag, fake_worker, scheduler_pass, task
from tests.ui.conftest import Operator, audit_events, finished_run, run_of, ship_log, started_attempt


def _cells(html: str) -> dict[tuple[str, str], str]:
    """The grid's cells: (task, run) → state."""
    return {
        (t, r): s
        for t, r, s in re.findall(r'data-task="([^"]+)" data-run="([^"]+)" data-state="([^"]+)"', html)
    }


async def test__dag_list__shows_each_dag_with_its_latest_run_and_paused_flag(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    await finished_run(server, admin)
    async with fake_worker(server, "worker-2") as worker:
        await worker.register_dags(dag("idle", task("only")))
    assert (await admin.patch("/api/dags/idle", json={"is_paused": True})).status_code == 200

    page = await operator.http.get("/ui/")
    assert page.status_code == 200
    rows = {
        m[0]: m[1]
        for m in re.findall(r'<a href="/ui/dags/([^"]+)">[^<]+</a></th>\s*<td>(\w+)</td>', page.text)
    }
    assert rows == {"etl": "active", "idle": "paused"}
    assert '<a href="/ui/dags/etl/runs/r1">r1</a>' in page.text
    assert 'data-state="success"' in page.text


async def test__grid__shows_each_task_in_each_run_with_its_state_and_link(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    run = await finished_run(server, admin)
    assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r2"})).status_code == 201
    await scheduler_pass(server)

    page = await operator.http.get("/ui/dags/etl")
    assert page.status_code == 200
    assert 'hx-get="/ui/dags/etl/grid" hx-trigger="every 2s"' in page.text
    cells = _cells(page.text)
    assert {k: v for k, v in cells.items() if k[1] == "r1"} == {
        ("a", "r1"): "success",
        ("b", "r1"): "success",
        ("c", "r1"): "success",
    }
    assert cells[("a", "r2")] == "queued"
    assert cells[("c", "r2")] == "none"
    assert f'href="/ui/task-instances/{run["tasks"]["b"]["id"]}"' in page.text
    # Rows in dependency order, columns oldest first; every state also in words, not only in color.
    assert (
        page.text.index('data-task="a"') < page.text.index('data-task="b"') < page.text.index('data-task="c"')
    )
    assert page.text.index('data-run="r1"') < page.text.index('data-run="r2"')
    assert "a in r1: success" in page.text

    fragment = await operator.http.get("/ui/dags/etl/grid", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="grid"')
    assert _cells(fragment.text) == cells


async def test__trigger_and_pause__through_the_ui(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    await finished_run(server, admin)
    response = await operator.post("/ui/dags/etl/trigger")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/dags/etl?notice=triggered"
    runs = (await admin.get("/api/dag-runs", params={"dag_id": "etl"})).json()["dag_runs"]
    assert [r["state"] for r in runs] == ["queued", "success"]
    assert "Run triggered." in (await operator.http.get(response.headers["location"])).text

    assert (await operator.post("/ui/dags/etl/pause", paused="true")).status_code == 303
    assert (await admin.get("/api/dags/etl")).json()["is_paused"] is True
    assert (await operator.post("/ui/dags/etl/pause", paused="false")).status_code == 303
    assert (await admin.get("/api/dags/etl")).json()["is_paused"] is False


async def test__clear_with_downstream__through_the_ui__runs_them_again_and_is_audited(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    run = await finished_run(server, admin)
    ti = run["tasks"]["b"]["id"]
    response = await operator.post(f"/ui/task-instances/{ti}/clear", downstream="true")
    assert response.status_code == 303
    assert response.headers["location"] == f"/ui/task-instances/{ti}?notice=cleared"

    after = await run_of(admin, "etl", "r1")
    assert after["state"] == "running"
    assert {t: (v["state"], v["try_number"]) for t, v in after["tasks"].items()} == {
        "a": ("success", 1),
        "b": (None, 1),
        "c": (None, 1),
    }
    (event,) = await audit_events(admin, "clear_task_instance")
    assert (event["credential_name"], event["dag_id"], event["run_id"], event["task_instance_id"]) == (
        "tests",
        "etl",
        "r1",
        ti,
    )
    assert event["details"] == {"include_downstream": True, "cleared": ["b", "c"]}

    # The task runs again as try 2, and its page says so.
    async with fake_worker(server, "worker-2") as worker:
        await scheduler_pass(server)
        workload = by_task(await worker.claim())["b"]
        assert workload["task_instance"]["try_number"] == 2
        await worker.run(workload)
    summary = await operator.http.get(f"/ui/task-instances/{ti}/summary", headers={"HX-Request": "true"})
    assert 'id="ti-state" data-try="2"' in summary.text
    assert 'data-state="success"' in summary.text
    assert 'href="/ui/task-instances/' + ti + '?try=2"' in summary.text


async def test__clear_alone__through_the_ui__leaves_the_downstream(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    run = await finished_run(server, admin)
    assert (await operator.post(f"/ui/task-instances/{run['tasks']['b']['id']}/clear")).status_code == 303
    after = await run_of(admin, "etl", "r1")
    assert [after["tasks"][t]["state"] for t in "abc"] == ["success", None, "success"]
    (event,) = await audit_events(admin, "clear_task_instance")
    assert event["details"] == {"include_downstream": False, "cleared": ["b"]}


async def test__mark_task_instance__through_the_ui__is_audited(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    run = await finished_run(server, admin)
    ti = run["tasks"]["c"]["id"]
    response = await operator.post(f"/ui/task-instances/{ti}/mark", state="failed")
    assert response.status_code == 303
    assert (await run_of(admin, "etl", "r1"))["tasks"]["c"]["state"] == "failed"
    (event,) = await audit_events(admin, "mark_task_instance")
    assert event["credential_name"] == "tests"
    assert event["details"] == {"state": "failed", "previous_state": "success"}


async def test__mark_run_and_cancel__through_the_ui__are_audited(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    await finished_run(server, admin)
    response = await operator.post("/ui/dags/etl/runs/r1/mark", state="failed")
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/dags/etl/runs/r1?notice=marked"
    assert (await run_of(admin, "etl", "r1"))["state"] == "failed"
    (marked,) = await audit_events(admin, "mark_dag_run")
    assert (marked["credential_name"], marked["details"]["state"]) == ("tests", "failed")

    assert (await admin.post("/api/dags/etl/dag-runs", json={"run_id": "r2"})).status_code == 201
    await scheduler_pass(server)
    page = await operator.http.get("/ui/dags/etl/runs/r2")
    assert "Cancel the run" in page.text
    response = await operator.post("/ui/dags/etl/runs/r2/cancel")
    assert response.status_code == 303
    cancelled = await run_of(admin, "etl", "r2")
    assert cancelled["state"] == "failed"
    assert {t["state"] for t in cancelled["task_instances"]} == {"failed", "skipped"}
    (event,) = await audit_events(admin, "cancel_dag_run")
    assert (event["credential_name"], event["run_id"], event["details"]["previous_state"]) == (
        "tests",
        "r2",
        "running",
    )
    assert "Cancel the run" not in (await operator.http.get("/ui/dags/etl/runs/r2")).text


async def test__delete__takes_the_dag_id_typed_again_then_deletes_and_is_audited(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    await finished_run(server, admin)
    confirm = await operator.http.get("/ui/dags/etl/delete")
    assert confirm.status_code == 200
    assert "Type the DAG id to confirm" in confirm.text

    refused = await operator.post("/ui/dags/etl/delete", confirm="et")
    assert refused.status_code == 422
    assert "takes confirm=" in refused.text
    assert (await admin.get("/api/dags/etl")).status_code == 200

    deleted = await operator.post("/ui/dags/etl/delete", confirm="etl")
    assert deleted.status_code == 303
    assert deleted.headers["location"] == "/ui/?notice=deleted"
    assert (await admin.get("/api/dags/etl")).status_code == 404
    (event,) = await audit_events(admin, "delete_dag")
    assert (event["credential_name"], event["dag_id"], event["details"]["dag_runs"]) == ("tests", "etl", 1)


async def test__run_page__lists_task_instances_upstream_first_with_what_they_wait_for(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    await finished_run(server, admin)
    page = await operator.http.get("/ui/dags/etl/runs/r1")
    assert page.status_code == 200
    assert 'hx-get="/ui/dags/etl/runs/r1/tasks"' in page.text
    tasks = re.findall(r'<a href="/ui/task-instances/[^"]+">(\w)</a></th>', page.text)
    assert tasks == ["a", "b", "c"]
    assert "<td>a</td>" in page.text  # b waits for a
    fragment = await operator.http.get("/ui/dags/etl/runs/r1/tasks")
    assert fragment.text.startswith('<section id="run-tasks"')


async def test__log_pane__follows_a_running_attempt_and_stops_once_it_ended(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    async with fake_worker(server) as worker:
        workload = await started_attempt(server, admin, worker, "talk")
        ti = workload["task_instance"]["id"]

        await ship_log(worker, ti, "first line")
        page = await operator.http.get(f"/ui/task-instances/{ti}")
        assert "first line" in page.text
        poller = re.search(r'hx-get="(/ui/task-instances/[^"]+/logs\?try=1&amp;after=(\d+))"', page.text)
        assert poller is not None, page.text
        assert 'hx-trigger="every 2s"' in page.text

        await ship_log(worker, ti, "second line")
        more = await operator.http.get(poller.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert "second line" in more.text
        assert "first line" not in more.text  # only what came after
        assert "/logs?try=1&amp;after=" in more.text  # still following

        assert (await worker.finish(workload, "success")).status_code == 200
    # Lines may still come moments after the end; once that grace is over, the pane stops polling.
    just_ended = await operator.http.get(f"/ui/task-instances/{ti}/logs", params={"try": "1", "after": "0"})
    assert "/logs?try=1" in just_ended.text
    async with server.runtime.sessions() as session:
        await session.execute(
            update(TaskInstanceRecord)
            .where(TaskInstanceRecord.task_id == "say")
            .values(end_date=utcnow() - timedelta(minutes=1))
        )
        await session.commit()
    ended = await operator.http.get(f"/ui/task-instances/{ti}/logs", params={"try": "1", "after": "0"})
    assert "first line" in ended.text
    assert "second line" in ended.text
    assert "hx-get" not in ended.text
    assert "The attempt ended: success." in ended.text


async def test__workers_page__shows_queues_and_slots_used_and_free(
    server: ServerHarness, admin: httpx.AsyncClient, operator: Operator
) -> None:
    async with fake_worker(server, "busy-1", queues=("default", "gpu"), capacity=4) as worker:
        await worker.register_dags(dag("work", task("one"), task("two")))
        assert (await admin.post("/api/dags/work/dag-runs", json={"run_id": "r1"})).status_code == 201
        await scheduler_pass(server)
        assert len(await worker.claim()) == 2
    page = await operator.http.get("/ui/workers")
    assert page.status_code == 200
    row = re.search(r"<th scope=\"row\">busy-1</th>(.*?)</tr>", page.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells[0] == "active"
    assert cells[3] == "default, gpu"
    assert cells[4:6] == ["2 of 4", "2"]
