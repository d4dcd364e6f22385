"""Health endpoints and version negotiation of the current API."""

from __future__ import annotations

import httpx
import pytest
from baton_server.api.versions import supported_versions

LATEST = supported_versions()[-1]


@pytest.mark.parametrize("prefix", ["/execution", "/workers", "/api"])
async def test__health__each_api__answers_ok(client: httpx.AsyncClient, prefix: str) -> None:
    response = await client.get(f"{prefix}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test__missing_version_header__serves_latest(client: httpx.AsyncClient) -> None:
    response = await client.get("/execution/health")
    assert response.headers["Baton-API-Version"] == LATEST


async def test__version_newer_than_server__returns_distinct_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/execution/health", headers={"Baton-API-Version": "2099-01-01"})
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "client_version_too_new"
    assert LATEST in body["message"]


@pytest.mark.parametrize("version", ["1999-01-01", "not-a-date", "2026-13-45", ""])
async def test__unknown_version__returns_400_listing_supported(
    client: httpx.AsyncClient, version: str
) -> None:
    response = await client.get("/execution/health", headers={"Baton-API-Version": version or " "})
    if version == "":
        # An empty header is the same as none: the latest version.
        assert response.status_code == 200
        return
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "unsupported_api_version"
    for supported in supported_versions():
        assert supported in body["message"]


@pytest.mark.parametrize("prefix", ["/execution", "/workers", "/api"])
@pytest.mark.parametrize(
    "sent",
    [
        [" 2026-09-01 "],
        ["2026-09-01\t"],
        ["2026-09-01", LATEST],
        ["2026-09-01", "not-a-date"],
        ["2026-09-01", ""],
    ],
    ids=["spaces", "tab", "twice", "then-garbage", "then-empty"],
)
async def test__version_header__padded_or_repeated__the_first_is_served_as_negotiated(
    client: httpx.AsyncClient, prefix: str, sent: list[str]
) -> None:
    """What the middleware negotiates is what the routes see: the first header, trimmed (the routes'
    version dependency used to read the raw value, 422 on whitespace, and a later one, 422 on garbage)."""
    headers = [("Baton-API-Version", value) for value in sent]
    health = await client.get(f"{prefix}/health", headers=headers)
    assert (health.status_code, health.headers["Baton-API-Version"]) == (200, "2026-09-01"), health.text
    document = await client.get("/openapi.json", headers=headers)
    assert document.status_code == 200, document.text
    assert document.json()["info"]["version"] == "2026-09-01"


async def test__request_id__echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["X-Request-ID"] == "abc-123"
    generated = await client.get("/api/health")
    assert len(generated.headers["X-Request-ID"]) == 32


async def test__unknown_route__404_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/execution/nope", headers={"Baton-API-Version": LATEST})
    assert response.status_code == 404
    assert response.json()["reason"] == "not_found"


async def test__oversized_body__413(client: httpx.AsyncClient, server: object) -> None:
    response = await client.post(
        "/api/health", content=b"x" * (4 * 1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["reason"] == "payload_too_large"
