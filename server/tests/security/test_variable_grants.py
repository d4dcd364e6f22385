"""Variables granted to DAGs, like connections: a task reads and writes only what its DAG is granted
(through the fast lane and the declared route alike); global variables keep working for every version."""

from __future__ import annotations

import httpx

from tests.conftest import ServerHarness
from tests.factories import started

OLD = "2026-11-24"


async def test__narrowed_variable__only_the_granted_dags_read_and_write_it(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    mine = (await started(server.runtime, client, dag_id="etl"))["extract"]
    theirs = (await started(server.runtime, client, dag_id="other", run_id="manual__2"))["extract"]
    assert (await admin.put("/api/variables/k", json={"value": {"secret": 1}})).status_code == 200
    # Global until narrowed: every DAG reads it.
    assert (await client.get("/execution/variables/k", headers=theirs.headers())).status_code == 200
    grants = await admin.put(
        "/api/variables/k/grants", json={"read_dag_ids": ["etl"], "write_dag_ids": ["etl"]}
    )
    assert grants.status_code == 200, grants.text
    assert (grants.json()["read_dag_ids"], grants.json()["write_dag_ids"]) == (["etl"], ["etl"])

    read = await client.get("/execution/variables/k", headers=mine.headers())
    assert read.status_code == 200
    assert read.json()["value"] == {"secret": 1}
    for version in (None, OLD):
        headers = {**theirs.headers(), **({"Baton-API-Version": version} if version else {})}
        denied = await client.get("/execution/variables/k", headers=headers)
        assert denied.status_code == 403, denied.text
        assert denied.json()["reason"] == "variable_not_granted"
        overwrite = await client.put("/execution/variables/k", json={"value": 2}, headers=headers)
        assert overwrite.status_code == 403
        assert overwrite.json()["reason"] == "variable_not_writable"
        delete = await client.delete("/execution/variables/k", headers=headers)
        assert delete.status_code == 403
    assert (
        await client.put("/execution/variables/k", json={"value": 3}, headers=mine.headers())
    ).status_code == 200
    # Replacing the value keeps the grants.
    entry = (await admin.get("/api/variables/k")).json()
    assert (entry["value"], entry["read_dag_ids"]) == (3, ["etl"])
    old_entry = (await admin.get("/api/variables/k", headers={"Baton-API-Version": OLD})).json()
    assert "read_dag_ids" not in old_entry


async def test__read_only_grant__a_dag_reads_but_cannot_write(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    reader = (await started(server.runtime, client, dag_id="reader"))["extract"]
    await admin.put("/api/variables/shared", json={"value": 1})
    await admin.put("/api/variables/shared/grants", json={"read_dag_ids": None, "write_dag_ids": []})
    assert (await client.get("/execution/variables/shared", headers=reader.headers())).status_code == 200
    refused = await client.put("/execution/variables/shared", json={"value": 2}, headers=reader.headers())
    assert refused.status_code == 403
    assert (await admin.get("/api/variables/shared")).json()["value"] == 1


async def test__grants__of_a_missing_variable_404_and_unknown_to_older_versions(
    admin: httpx.AsyncClient,
) -> None:
    missing = await admin.put(
        "/api/variables/nope/grants", json={"read_dag_ids": ["etl"], "write_dag_ids": None}
    )
    assert missing.status_code == 404
    assert missing.json()["reason"] == "variable_not_found"
    await admin.put("/api/variables/k", json={"value": 1})
    old = await admin.put(
        "/api/variables/k/grants", json={"read_dag_ids": ["etl"]}, headers={"Baton-API-Version": OLD}
    )
    assert old.status_code in (404, 405)


async def test__grants__both_required__one_left_out_is_422_and_changes_nothing(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    # Narrowing the readers alone used to leave every DAG free to overwrite what they read: a grant
    # left out meant every DAG. Now the body must say both (null, said so, is still every DAG).
    other = (await started(server.runtime, client, dag_id="other"))["extract"]
    await admin.put("/api/variables/k", json={"value": 1})
    await admin.put("/api/variables/k/grants", json={"read_dag_ids": ["etl"], "write_dag_ids": ["etl"]})
    for body in ({"read_dag_ids": ["etl"]}, {"write_dag_ids": ["etl"]}, {}):
        refused = await admin.put("/api/variables/k/grants", json=body)
        assert refused.status_code == 422, (body, refused.text)
    entry = (await admin.get("/api/variables/k")).json()
    assert (entry["read_dag_ids"], entry["write_dag_ids"]) == (["etl"], ["etl"])
    written = await client.put("/execution/variables/k", json={"value": 2}, headers=other.headers())
    assert written.status_code == 403, written.text
    assert written.json()["reason"] == "variable_not_writable"


async def test__a_variable_a_task_creates__is_global(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    writer = (await started(server.runtime, client, dag_id="writer"))["extract"]
    other = (await started(server.runtime, client, dag_id="other", run_id="manual__2"))["extract"]
    assert (
        await client.put("/execution/variables/new", json={"value": 1}, headers=writer.headers())
    ).status_code == 200
    assert (await client.get("/execution/variables/new", headers=other.headers())).status_code == 200
    entry = (await admin.get("/api/variables/new")).json()
    assert (entry["read_dag_ids"], entry["write_dag_ids"]) == (None, None)


async def test__a_dag_not_granted_to_read__cannot_delete_the_variable_to_open_it(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    """Writes left to every DAG, reads narrowed: another DAG may overwrite the value, but not delete the
    variable — created again by a task it would be global, and the granted DAG's next secret readable."""
    owner = (await started(server.runtime, client, dag_id="team_b"))["extract"]
    other = (await started(server.runtime, client, dag_id="team_a", run_id="manual__2"))["extract"]
    await admin.put("/api/variables/token", json={"value": "b-secret-1"})
    await admin.put("/api/variables/token/grants", json={"read_dag_ids": ["team_b"], "write_dag_ids": None})
    for version in (None, "2026-09-01", OLD):
        headers = {**other.headers(), **({"Baton-API-Version": version} if version else {})}
        refused = await client.delete("/execution/variables/token", headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["reason"] == "variable_not_writable"
    assert (
        await client.put("/execution/variables/token", json={"value": 1}, headers=other.headers())
    ).status_code == 200
    assert (
        await client.put("/execution/variables/token", json={"value": "b-secret-2"}, headers=owner.headers())
    ).status_code == 200
    denied = await client.get("/execution/variables/token", headers=other.headers())
    assert denied.status_code == 403, denied.text
    entry = (await admin.get("/api/variables/token")).json()
    assert (entry["read_dag_ids"], entry["write_dag_ids"]) == (["team_b"], None)
    # The DAG granted both deletes it.
    assert (await client.delete("/execution/variables/token", headers=owner.headers())).status_code == 204
