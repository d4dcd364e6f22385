"""The latest API version is built before the server listens, the older ones afterwards.

A request for an older version that arrives while its routes are being built waits for them: it
is answered by that version (never a 404, never the latest version's answer), and however many
such requests arrive together, the older versions are built once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from baton_server import spec as spec_module
from baton_server.api import versioned_app
from baton_server.api.versions import supported_versions

from tests.conftest import DatabaseFactory, ServerHarness, make_settings

SPEC_DIR = Path(__file__).resolve().parents[4] / "spec"
VERSIONS = supported_versions()
LATEST, OLDER = VERSIONS[-1], VERSIONS[:-1]


@pytest.fixture
async def fresh(databases: DatabaseFactory, tmp_path: Path) -> AsyncIterator[ServerHarness]:
    """An app as ``serve`` starts it: the latest version built, the older ones not yet."""
    harness = ServerHarness(make_settings(await databases.create(), tmp_path / "data"))
    harness.app.build_latest_version()
    await harness.start()
    yield harness
    await harness.stop()
    with contextlib.suppress(Exception):  # no build left running (a test may have broken it)
        await asyncio.wrap_future(harness.app._older_versions_build())


@pytest.fixture
def generations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the generations of the older versions (Cadwyn's full route generation)."""
    calls: list[int] = []
    generate = versioned_app.generate_versioned_routers

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return generate(*args, **kwargs)

    monkeypatch.setattr(versioned_app, "generate_versioned_routers", counted)
    return calls


def _only_in_latest_get_path() -> str:
    """A GET path without parameters that the latest version has and the oldest has not."""
    latest = json.loads((SPEC_DIR / f"{LATEST}.json").read_text())["paths"]
    oldest = json.loads((SPEC_DIR / f"{VERSIONS[0]}.json").read_text())["paths"]
    paths = sorted(p for p, item in latest.items() if "get" in item and "{" not in p and p not in oldest)
    assert paths, "no GET path is new in the latest version any more: pick another check"
    return paths[0]


async def test__older_version_request__right_after_start__is_answered_by_that_version(
    fresh: ServerHarness, generations: list[int]
) -> None:
    assert not fresh.app.all_versions_built
    new_path = _only_in_latest_get_path()
    async with fresh.client() as http:
        for version in OLDER:
            health = await http.get("/execution/health", headers={"Baton-API-Version": version})
            assert health.status_code == 200, health.text
            assert health.headers["Baton-API-Version"] == version
            # The older version's routing table, not the latest's: its new route is not there.
            assert (await http.get(new_path, headers={"Baton-API-Version": version})).status_code == 404
        assert (await http.get(new_path, headers={"Baton-API-Version": LATEST})).status_code != 404
    assert fresh.app.all_versions_built
    assert len(generations) == 1


async def test__version_header_sent_twice__right_after_start__the_first_is_served_by_its_routes(
    fresh: ServerHarness,
) -> None:
    """The middleware and the staged build read the same one of two version headers (the first, as the
    routes do): the version served is one whose routes are in place, never an empty routing table."""
    new_path = _only_in_latest_get_path()
    # Not fresh.client(): its reasons check reads one version header, httpx joins repeated ones.
    transport = httpx.ASGITransport(app=fresh.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://baton.test") as http:
        for first, second in ((LATEST, OLDER[0]), (OLDER[0], LATEST)):
            headers = [("Baton-API-Version", first), ("Baton-API-Version", second)]
            health = await http.get("/execution/health", headers=headers)
            assert (health.status_code, health.headers["Baton-API-Version"]) == (200, first), health.text
            only_latest = await http.get(new_path, headers=headers)
            assert (only_latest.status_code == 404) is (first != LATEST)


async def test__documents__right_after_start__are_the_committed_specs(fresh: ServerHarness) -> None:
    async with fresh.client() as http:
        for version in VERSIONS:
            response = await http.get("/openapi.json", params={"version": version})
            assert response.status_code == 200
            emitted = json.dumps(spec_module._normalise(response.json()), indent=2, ensure_ascii=False) + "\n"
            assert emitted == (SPEC_DIR / f"{version}.json").read_text(), version


async def test__concurrent_first_requests_for_older_versions__build_them_once(
    fresh: ServerHarness, generations: list[int]
) -> None:
    async with fresh.client() as http:
        answers = await asyncio.gather(
            *(
                http.get("/execution/health", headers={"Baton-API-Version": OLDER[i % len(OLDER)]})
                for i in range(12)
            )
        )
    assert [a.status_code for a in answers] == [200] * 12
    assert [a.headers["Baton-API-Version"] for a in answers] == [OLDER[i % len(OLDER)] for i in range(12)]
    assert len(generations) == 1


async def test__latest_version_requests__do_not_wait_for_the_older_versions(
    fresh: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    generate = versioned_app.generate_versioned_routers

    def held(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=120)
        return generate(*args, **kwargs)

    monkeypatch.setattr(versioned_app, "generate_versioned_routers", held)
    try:
        async with fresh.client() as http:
            older = asyncio.create_task(
                http.get("/execution/health", headers={"Baton-API-Version": OLDER[0]})
            )
            for headers in ({}, {"Baton-API-Version": LATEST}):
                answer = await asyncio.wait_for(http.get("/execution/health", headers=headers), 60)
                assert answer.status_code == 200
                assert answer.headers["Baton-API-Version"] == LATEST
            assert not older.done()  # still waiting for its routes
            release.set()
            answer = await asyncio.wait_for(older, 120)
            assert answer.status_code == 200
            assert answer.headers["Baton-API-Version"] == OLDER[0]
    finally:
        release.set()


async def test__a_failed_build_of_the_older_versions__fails_their_requests_rather_than_404(
    fresh: ServerHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("generation failed")

    monkeypatch.setattr(versioned_app, "generate_versioned_routers", broken)
    # In-process the error reaches the client; under uvicorn it is a 500.
    async with fresh.client() as http:
        for _ in range(2):  # the first request and the next ones alike
            with pytest.raises(RuntimeError, match="generation failed"):
                await http.get("/execution/health", headers={"Baton-API-Version": OLDER[0]})
        assert (await http.get("/execution/health")).status_code == 200
    assert not fresh.app.all_versions_built


async def test__older_versions__are_built_after_start_up_without_any_request(
    databases: DatabaseFactory, tmp_path: Path, generations: list[int]
) -> None:
    harness = ServerHarness(make_settings(await databases.create(), tmp_path / "data"))
    app = harness.app
    app.build_latest_version()
    app.build_older_versions_soon(after_seconds=0.0, freeze=False)
    # The lifespan protocol, as uvicorn speaks it.
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return await received.get()

    async def send(message: Any) -> None:
        sent.append(message)

    await received.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
    )
    try:
        for _ in range(1200):  # up to two minutes on a busy machine
            if app.all_versions_built:
                break
            await asyncio.sleep(0.1)
        assert [m["type"] for m in sent] == ["lifespan.startup.complete"]
        assert app.all_versions_built
        assert len(generations) == 1
    finally:
        await received.put({"type": "lifespan.shutdown"})
        await asyncio.wait_for(lifespan, 60)
