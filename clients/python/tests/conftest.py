"""Fixtures of the client tests: one live server per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from live_server import LiveServer, start_live_server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_live_server(tmp_path_factory.mktemp("baton-server")) as server:
        yield server
