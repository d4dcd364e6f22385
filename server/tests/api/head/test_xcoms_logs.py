"""XComs and logs through the Task Execution API, and the admin read-back of logs."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.factories import started

URL = "/execution/xcoms/etl/manual__1"


async def test__xcom__push_pull_delete(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempts = await started(server.runtime, client)
    extract, transform = attempts["extract"], attempts["transform"]
    push = await client.put(f"{URL}/extract/rows", json={"value": [1, 2, 3]}, headers=extract.headers())
    assert push.status_code == 200
    pulled = await client.get(f"{URL}/extract/rows", headers=transform.headers())
    assert pulled.status_code == 200
    assert pulled.json() == {
        "dag_id": "etl",
        "run_id": "manual__1",
        "task_id": "extract",
        "map_index": -1,
        "key": "rows",
        "value": [1, 2, 3],
    }
    replaced = await client.put(f"{URL}/extract/rows", json={"value": {"n": 3}}, headers=extract.headers())
    assert replaced.status_code == 200
    assert (await client.get(f"{URL}/extract/rows", headers=transform.headers())).json()["value"] == {"n": 3}
    assert (await client.delete(f"{URL}/extract/rows", headers=extract.headers())).status_code == 204
    gone = await client.get(f"{URL}/extract/rows", headers=transform.headers())
    assert gone.status_code == 404
    assert gone.json()["reason"] == "xcom_not_found"


async def test__xcom__generated_run_id_with_colons__push_and_pull(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    # Triggered runs are named manual__<UTC time>, colons included: their XComs must be addressable.
    run_id = "manual__2026-11-24T20:19:22.957522Z"
    attempts = await started(server.runtime, client, run_id=run_id)
    url = f"/execution/xcoms/etl/{run_id}/extract/return_value"
    pushed = await client.put(url, json={"value": [1, 2]}, headers=attempts["extract"].headers())
    assert pushed.status_code == 200, pushed.text
    pulled = await client.get(url, headers=attempts["transform"].headers())
    assert (pulled.status_code, pulled.json()["run_id"], pulled.json()["value"]) == (200, run_id, [1, 2])


async def test__xcom__run_id_with_a_slash_or_leading_colon__422(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    response = await client.put(
        "/execution/xcoms/etl/:manual/extract/k", json={"value": 1}, headers=extract.headers()
    )
    assert response.status_code == 422


async def test__xcom__map_index_addresses_separately(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    await client.put(f"{URL}/extract/k", json={"value": "unmapped"}, headers=extract.headers())
    other = await client.put(f"{URL}/extract/k?map_index=3", json={"value": "m3"}, headers=extract.headers())
    assert other.status_code == 403  # the task instance is unmapped (map index -1)
    assert (await client.get(f"{URL}/extract/k?map_index=3", headers=extract.headers())).status_code == 404


async def test__xcom__write_as_another_task__403(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempts = await started(server.runtime, client)
    response = await client.put(
        f"{URL}/transform/rows", json={"value": 1}, headers=attempts["extract"].headers()
    )
    assert response.status_code == 403
    assert response.json()["reason"] == "xcom_not_owned"


async def test__xcom__read_another_dag__403(server: ServerHarness, client: httpx.AsyncClient) -> None:
    mine = (await started(server.runtime, client))["extract"]
    theirs = (await started(server.runtime, client, dag_id="payroll", run_id="p1"))["extract"]
    await client.put(
        "/execution/xcoms/payroll/p1/extract/salary", json={"value": 1}, headers=theirs.headers()
    )
    response = await client.get("/execution/xcoms/payroll/p1/extract/salary", headers=mine.headers())
    assert response.status_code == 403
    assert response.json()["reason"] == "xcom_outside_dag"


async def test__xcom__over_size_limit__413_and_not_stored(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    big = "x" * (server.settings.xcom_max_bytes + 1)
    response = await client.put(f"{URL}/extract/big", json={"value": big}, headers=extract.headers())
    assert response.status_code == 413
    assert response.json()["reason"] == "xcom_too_large"
    assert (await client.get(f"{URL}/extract/big", headers=extract.headers())).status_code == 404


async def test__logs__upload_then_admin_reads_in_order_paged(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    for batch in range(3):
        lines = [
            {
                "timestamp": f"2026-11-24T12:00:{batch:02d}.{i:03d}000+00:00",
                "level": "info",
                "message": f"line {batch * 4 + i}",
                "fields": {"i": batch * 4 + i},
            }
            for i in range(4)
        ]
        up = await client.post(
            f"/execution/task-instances/{extract.id}/logs", json={"lines": lines}, headers=extract.headers()
        )
        assert up.status_code == 200
        assert up.json() == {"accepted": 4}
    messages: list[str] = []
    after = 0
    while True:
        page = await admin.get(f"/api/task-instances/{extract.id}/logs", params={"after": after, "limit": 5})
        assert page.status_code == 200
        body = page.json()
        assert body["try_number"] == 1
        messages += [line["message"] for line in body["lines"]]
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert messages == [f"line {n}" for n in range(12)]


async def test__logs__bad_level_or_empty_batch__422(server: ServerHarness, client: httpx.AsyncClient) -> None:
    extract = (await started(server.runtime, client))["extract"]
    url = f"/execution/task-instances/{extract.id}/logs"
    bad = {"lines": [{"timestamp": "2026-11-24T12:00:00+00:00", "level": "loud", "message": "x"}]}
    assert (await client.post(url, json=bad, headers=extract.headers())).status_code == 422
    assert (await client.post(url, json={"lines": []}, headers=extract.headers())).status_code == 422


async def test__logs__other_attempt__not_readable_as_latest(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    extract = (await started(server.runtime, client))["extract"]
    line = {"timestamp": "2026-11-24T12:00:00+00:00", "level": "info", "message": "try one"}
    await client.post(
        f"/execution/task-instances/{extract.id}/logs", json={"lines": [line]}, headers=extract.headers()
    )
    second = await admin.get(f"/api/task-instances/{extract.id}/logs", params={"try_number": 2})
    assert second.status_code == 200
    assert second.json()["lines"] == []
