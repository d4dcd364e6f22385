"""BATON_MAX_API_VERSION: a server that serves only the versions up to a date, as an older release would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from baton_server.api.versions import supported_versions
from baton_server.config import load_settings
from baton_server.errors import ConfigurationError

from tests.conftest import DatabaseFactory, ServerHarness, make_settings

VERSIONS = supported_versions()
CAP = VERSIONS[-2]
NEWEST = VERSIONS[-1]


@pytest.fixture
async def capped(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[ServerHarness]:
    harness = ServerHarness(make_settings(await databases.create(), tmp_path, max_api_version=CAP))
    await harness.start()
    yield harness
    await harness.stop()


async def test__max_api_version__newer_client__gets_client_version_too_new(capped: ServerHarness) -> None:
    async with capped.client(version=NEWEST) as http:
        response = await http.get("/execution/health")
    assert response.status_code == 400
    body = response.json()
    assert body["reason"] == "client_version_too_new"
    assert f"latest version {CAP}" in body["message"]
    assert NEWEST not in body["message"].split("one of:")[-1]


@pytest.mark.parametrize("version", VERSIONS[:-1])
async def test__max_api_version__versions_up_to_cap__served(capped: ServerHarness, version: str) -> None:
    async with capped.client(version=version) as http:
        response = await http.get("/execution/health")
    assert response.status_code == 200
    assert response.headers["Baton-API-Version"] == version


async def test__max_api_version__no_header__serves_the_cap(capped: ServerHarness) -> None:
    async with capped.client() as http:
        response = await http.get("/execution/health")
    assert response.status_code == 200
    assert response.headers["Baton-API-Version"] == CAP


async def test__max_api_version__publishes_no_document_of_a_version_it_does_not_serve(
    capped: ServerHarness,
) -> None:
    # A capped server refuses the newer version's requests: its document would tell a client it may
    # use that version there.
    async with capped.client() as http:
        for version in VERSIONS:
            by_query = await http.get("/openapi.json", params={"version": version})
            by_header = await http.get("/openapi.json", headers={"Baton-API-Version": version})
            served = version <= CAP
            # A header naming a newer version is refused before any route: client_version_too_new.
            expected = [200, 200] if served else [404, 400]
            assert [by_query.status_code, by_header.status_code] == expected, version
            if served:
                assert by_query.json()["info"]["version"] == version


def test__max_api_version__unknown_version__refused_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="BATON_MAX_API_VERSION"):
        load_settings(max_api_version="2020-01-01")


def test__max_api_version__unset_or_empty__serves_every_version() -> None:
    assert load_settings().served_api_versions == VERSIONS
    assert load_settings(max_api_version="").served_api_versions == VERSIONS
