"""Variables and connections through the Task Execution API."""

from __future__ import annotations

import httpx
import pytest
from baton_server.db.tables import ConnectionRecord
from sqlalchemy import select

from tests.conftest import ServerHarness
from tests.factories import started


async def test__variable__set_get_delete(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    value = {"rows": [1, 2, 3], "nested": {"ok": True, "none": None}, "text": "héllo"}
    put = await client.put("/execution/variables/my.var-1", json={"value": value}, headers=attempt.headers())
    assert put.status_code == 200
    got = await client.get("/execution/variables/my.var-1", headers=attempt.headers())
    assert got.json() == {"key": "my.var-1", "value": value}
    assert (
        await client.delete("/execution/variables/my.var-1", headers=attempt.headers())
    ).status_code == 204
    missing = await client.get("/execution/variables/my.var-1", headers=attempt.headers())
    assert missing.status_code == 404
    assert missing.json()["reason"] == "variable_not_found"
    again = await client.delete("/execution/variables/my.var-1", headers=attempt.headers())
    assert again.status_code == 404


@pytest.mark.parametrize("value", [0, 1.5, "s", None, True, [], {}])
async def test__variable__any_json_value_round_trips(
    server: ServerHarness, client: httpx.AsyncClient, value: object
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    await client.put("/execution/variables/v", json={"value": value}, headers=attempt.headers())
    assert (await client.get("/execution/variables/v", headers=attempt.headers())).json()["value"] == value


@pytest.mark.parametrize("key", ["-leading-dash", "has space", "x" * 251, "semi;colon", "ünï"])
async def test__variable__invalid_key__422(
    server: ServerHarness, client: httpx.AsyncClient, key: str
) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.get(f"/execution/variables/{key}", headers=attempt.headers())
    assert response.status_code == 422
    assert response.json()["reason"] == "validation_error"


async def test__variable__missing_value_field__422(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.put("/execution/variables/v", json={"nope": 1}, headers=attempt.headers())
    assert response.status_code == 422


async def _add_connection(admin: httpx.AsyncClient, conn_id: str, **extra: object) -> None:
    body = {
        "conn_type": "postgres",
        "host": "db.internal",
        "port": 5432,
        "login": "etl",
        "password": "s3cret-password",
        "schema": "analytics",
        "extra": {"sslmode": "require"},
        "allowed_dag_ids": None,
        **extra,
    }
    response = await admin.put(f"/api/connections/{conn_id}", json=body)
    assert response.status_code == 200, response.text


async def test__connection__get_with_secrets(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _add_connection(admin, "warehouse")
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.get("/execution/connections/warehouse", headers=attempt.headers())
    assert response.status_code == 200
    assert response.json() == {
        "conn_id": "warehouse",
        "conn_type": "postgres",
        "host": "db.internal",
        "port": 5432,
        "login": "etl",
        "password": "s3cret-password",
        "schema": "analytics",
        "extra": {"sslmode": "require"},
    }


async def test__connection__secrets_encrypted_at_rest(
    server: ServerHarness, admin: httpx.AsyncClient
) -> None:
    await _add_connection(admin, "warehouse")
    async with server.runtime.sessions() as session:
        record = (await session.scalars(select(ConnectionRecord))).one()
    assert record.password_encrypted is not None
    assert b"s3cret-password" not in record.password_encrypted
    assert record.extra_encrypted is not None
    assert b"sslmode" not in record.extra_encrypted


async def test__connection__not_granted_to_dag__403(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    await _add_connection(admin, "finance_db", allowed_dag_ids=["payroll"])
    await _add_connection(admin, "etl_db", allowed_dag_ids=["etl", "payroll"])
    attempt = (await started(server.runtime, client))["extract"]
    denied = await client.get("/execution/connections/finance_db", headers=attempt.headers())
    assert denied.status_code == 403
    assert denied.json()["reason"] == "connection_not_granted"
    allowed = await client.get("/execution/connections/etl_db", headers=attempt.headers())
    assert allowed.status_code == 200


async def test__connection__replaced_without_its_grant__422_and_still_narrowed(
    server: ServerHarness, client: httpx.AsyncClient, admin: httpx.AsyncClient
) -> None:
    # Replacing a narrowed connection's password without naming the grant made it every DAG's:
    # the new password went to every team's tasks. Now the grant must be said (null: every DAG).
    await _add_connection(admin, "finance_db", allowed_dag_ids=["payroll"])
    rotated = {"conn_type": "postgres", "host": "db.internal", "password": "new-password"}
    refused = await admin.put("/api/connections/finance_db", json=rotated)
    assert refused.status_code == 422, refused.text
    assert "allowed_dag_ids" in refused.json()["message"]
    attempt = (await started(server.runtime, client))["extract"]
    denied = await client.get("/execution/connections/finance_db", headers=attempt.headers())
    assert denied.status_code == 403, denied.text
    # A client of a version before 2026-12-02 keeps what it was built for: left out, every DAG.
    old = await admin.put(
        "/api/connections/old_db", json=rotated, headers={"Baton-API-Version": "2026-11-24"}
    )
    assert old.status_code == 200, old.text
    assert old.json()["allowed_dag_ids"] is None
    assert (await client.get("/execution/connections/old_db", headers=attempt.headers())).status_code == 200


async def test__connection__missing__404(server: ServerHarness, client: httpx.AsyncClient) -> None:
    attempt = (await started(server.runtime, client))["extract"]
    response = await client.get("/execution/connections/nope", headers=attempt.headers())
    assert response.status_code == 404
    assert response.json()["reason"] == "connection_not_found"
