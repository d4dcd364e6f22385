"""Fixtures of the client tests: one live server per session, and a venv holding baton-sdk alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from e2e import Stack, start_stack
from live_server import LiveServer, start_live_server
from sdk_venv import SdkVenv, make_sdk_venv


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with start_live_server(tmp_path_factory.mktemp("baton-server")) as server:
        yield server


@pytest.fixture(scope="session")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> SdkVenv:
    """baton-sdk installed into a fresh virtual environment (what a worker machine runs)."""
    return make_sdk_venv(tmp_path_factory.mktemp("sdk-venv") / "venv")


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory, sdk_venv: SdkVenv) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("e2e"), sdk_venv) as stack:
        yield stack


@pytest.fixture
def stack(e2e_stack: Stack) -> Iterator[Stack]:
    """The end-to-end server; the workers a test starts are stopped when it ends."""
    yield e2e_stack
    e2e_stack.stop_workers()
