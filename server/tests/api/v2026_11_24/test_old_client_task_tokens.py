"""A 2026-11-24 worker has no task-token renewal: the operation is not in its version."""

from __future__ import annotations

import uuid

from tests.conftest import ServerHarness
from tests.orchestration import FakeWorker, new_worker_token

VERSION = "2026-11-24"


async def test__old_client__no_task_token_renewal(server: ServerHarness) -> None:
    async with server.client(version=VERSION, token=await new_worker_token(server, "old")) as http:
        worker = FakeWorker(http, "old")
        assert (await worker.register()).status_code == 200
        answer = await http.post(
            f"/workers/{worker.id}/task-tokens", json={"task_instance_ids": [str(uuid.uuid4())]}
        )
    assert answer.status_code == 404, answer.text
