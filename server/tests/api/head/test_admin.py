"""The admin API: authentication, variables, connections and task instances."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from baton_server.services.credentials import issue_credential, revoke_credential

from tests.conftest import ServerHarness
from tests.factories import make_dag_run


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer"])
async def test__admin__bad_credentials__401(
    server: ServerHarness, client: httpx.AsyncClient, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = await client.get("/api/variables", headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] in {"token_missing", "token_invalid", "invalid_credential"}


async def test__admin__worker_credential__401(server: ServerHarness, client: httpx.AsyncClient) -> None:
    async with server.runtime.sessions() as session:
        worker = await issue_credential(session, "worker", "w")
    response = await client.get("/api/variables", headers={"Authorization": f"Bearer {worker.token}"})
    assert response.status_code == 401


async def test__admin__revoked_token__401_on_next_call(
    server: ServerHarness, client: httpx.AsyncClient
) -> None:
    async with server.runtime.sessions() as session:
        issued = await issue_credential(session, "admin", "temp")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert (await client.get("/api/variables", headers=headers)).status_code == 200
    async with server.runtime.sessions() as session:
        await revoke_credential(session, issued.id)
    response = await client.get("/api/variables", headers=headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "credential_revoked"


async def test__admin__variables_crud_and_list(admin: httpx.AsyncClient) -> None:
    for n in range(3):
        put = await admin.put(f"/api/variables/k{n}", json={"value": n, "description": f"number {n}"})
        assert put.status_code == 200
    listing = await admin.get("/api/variables", params={"limit": 2})
    assert listing.json()["total"] == 3
    assert [v["key"] for v in listing.json()["variables"]] == ["k0", "k1"]
    one = await admin.get("/api/variables/k2")
    assert one.json()["value"] == 2
    assert one.json()["description"] == "number 2"
    assert (await admin.delete("/api/variables/k2")).status_code == 204
    assert (await admin.get("/api/variables/k2")).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/variables/raced", {"value": 1}, "value"),
        ("/api/pools/raced", {"slots": 1}, "slots"),
    ],
)
async def test__admin__put_racing_deletes__answers_what_it_wrote_never_a_404(
    admin: httpx.AsyncClient, path: str, body: dict[str, object], field: str
) -> None:
    # Each PUT used to commit, then read its row back: a DELETE in between made the PUT (which had
    # written) answer 404 — undocumented for a create-or-replace, and a client told its write failed.
    puts = [admin.put(path, json=body) for _ in range(12)]
    deletes = [admin.delete(path) for _ in range(12)]
    answers = await asyncio.gather(*(call for pair in zip(puts, deletes, strict=True) for call in pair))
    written = [a for a in answers if a.request.method == "PUT" and a.status_code == 200]
    refused = [a for a in answers if a.request.method == "PUT" and a.status_code != 200]
    assert refused == [], [(a.status_code, a.text) for a in refused]
    assert all(a.json()[field] == body[field] for a in written)


async def test__admin__connection_never_returns_password(admin: httpx.AsyncClient) -> None:
    body = {
        "conn_type": "http",
        "host": "api.example",
        "password": "pw",
        "extra": {"a": 1},
        "allowed_dag_ids": None,
    }
    put = await admin.put("/api/connections/api", json=body)
    assert put.status_code == 200
    got = await admin.get("/api/connections/api")
    assert got.json()["password_set"] is True
    assert "pw" not in got.text
    listing = await admin.get("/api/connections")
    assert listing.json()["total"] == 1
    assert (await admin.delete("/api/connections/api")).status_code == 204
    assert (await admin.get("/api/connections/api")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"conn_type": "x", "port": 0, "allowed_dag_ids": None},
        {"conn_type": "x", "port": 70000, "allowed_dag_ids": None},
        {"conn_type": "x", "port": "5432", "allowed_dag_ids": None},
        {"conn_type": "", "allowed_dag_ids": None},
        {"host": "no type", "allowed_dag_ids": None},
        {"conn_type": "x", "extra": "not-an-object", "allowed_dag_ids": None},
        {"conn_type": "x", "allowed_dag_ids": ["bad id!"]},
        {"conn_type": "x", "surprise": 1, "allowed_dag_ids": None},
        # The grant must be said, even to every DAG (null): one left out is never every DAG.
        {"conn_type": "x"},
    ],
)
async def test__admin__invalid_connection__422(admin: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await admin.put("/api/connections/c", json=body)
    assert response.status_code == 422, response.text


async def test__admin__task_instance_detail(server: ServerHarness, admin: httpx.AsyncClient) -> None:
    ti = (await make_dag_run(server.runtime))["extract"]
    response = await admin.get(f"/api/task-instances/{ti.id}")
    assert response.status_code == 200
    assert response.json()["state"] == "queued"
    assert response.json()["try_number"] == 1
    assert (await admin.get(f"/api/task-instances/{uuid.uuid4()}")).status_code == 404
    assert (await admin.get("/api/task-instances/not-a-uuid")).status_code == 422
