"""Run a conformance plan through the Python client (``baton``) of one API version.

    python runner.py PLAN.json TRANSCRIPT.json

``baton`` is whichever build is first on the import path: the conformance suite puts the client
generated for the plan's version there. Request bodies in the plan are decoded into that
version's generated models (``from_dict``), which keep only the fields the version knows;
results are the generated response models turned back into JSON (``to_dict``). Each step's
outcome goes to the transcript; judging it is the suite's business.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import baton
from baton import models
from baton._generated.api.admin import admin_set_connection, trigger_dag_run
from baton._generated.api.connections import get_connection
from baton._generated.api.logs import upload_task_logs
from baton._generated.api.workers import claim_workloads, register_dags, register_worker

CLAIM_PATIENCE = 300.0

ERROR_KINDS: list[tuple[type[baton.BatonError], str]] = [
    (baton.ServerTooOldError, "server_too_old"),
    (baton.VersionMismatchError, "version_mismatch"),
    (baton.BadRequestError, "bad_request"),
    (baton.UnauthorizedError, "unauthorized"),
    (baton.ForbiddenError, "forbidden"),
    (baton.NotFoundError, "not_found"),
    (baton.ConflictError, "conflict"),
    (baton.PayloadTooLargeError, "payload_too_large"),
    (baton.InvalidRequestError, "invalid_request"),
    (baton.ServerError, "server_error"),
    (baton.TransportError, "transport"),
]


def _json(model: Any) -> Any:
    return model.to_dict() if hasattr(model, "to_dict") else model


class ScenarioRun:
    """The clients of one scenario run: worker, admin, and one per task (workload, then execution token)."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.base_url: str = plan["base_url"]
        self.worker = baton.Client(self.base_url, plan["worker_token"])
        self.admin = baton.Client(self.base_url, plan["admin_token"])
        self.worker_id: str | None = None
        self.workloads: dict[str, Any] = {}
        self.tasks: dict[str, baton.Client] = {}

    def close(self) -> None:
        for client in (self.worker, self.admin, *self.tasks.values()):
            client.close()

    def _task(self, args: dict[str, Any], token: str | None) -> tuple[baton.Client, uuid.UUID]:
        workload = self.workloads[args["task"]]
        ti_id = uuid.UUID(str(workload.task_instance.id))
        if token is not None:
            return baton.Client(self.base_url, token), ti_id
        if args["task"] not in self.tasks:
            self.tasks[args["task"]] = baton.Client(self.base_url, workload.token)
        return self.tasks[args["task"]], ti_id

    def health(self, args: dict[str, Any], _: str | None) -> Any:
        return _json(self.worker.health(args["api"]))

    def register_worker(self, args: dict[str, Any], _: str | None) -> Any:
        body = models.RegisterWorkerPayload.from_dict(args["body"])
        worker = register_worker.sync(client=self.worker.generated, body=body)
        self.worker_id = str(worker.id)  # type: ignore[union-attr]
        return _json(worker)

    def register_dags(self, args: dict[str, Any], _: str | None) -> Any:
        body = models.RegisterDagsPayload.from_dict(args["body"])
        return _json(register_dags.sync(client=self.worker.generated, body=body))

    def trigger_dag_run(self, args: dict[str, Any], _: str | None) -> Any:
        body = models.TriggerDagRunPayload.from_dict(args["body"])
        return _json(trigger_dag_run.sync(args["dag_id"], client=self.admin.generated, body=body))

    def set_connection(self, args: dict[str, Any], _: str | None) -> Any:
        body = models.ConnectionPutBody.from_dict(args["body"])
        return _json(admin_set_connection.sync(args["conn_id"], client=self.admin.generated, body=body))

    def claim_workloads(self, args: dict[str, Any], _: str | None) -> Any:
        body = models.ClaimWorkloadsPayload.from_dict(args["body"])
        deadline = time.monotonic() + CLAIM_PATIENCE
        # The scheduler queues a triggered run's task instances within a pass or two: ask until all came.
        while len(self.workloads) < int(args["count"]) and time.monotonic() < deadline:
            claimed = claim_workloads.sync(
                uuid.UUID(str(self.worker_id)), client=self.worker.generated, body=body
            )
            for workload in claimed.workloads:  # type: ignore[union-attr]
                self.workloads[workload.task_instance.task_id] = workload
        return {"task_ids": sorted(self.workloads)}

    def start(self, args: dict[str, Any], token: str | None) -> Any:
        client, ti_id = self._task(args, token)
        return _json(client.start(ti_id, models.TIRunPayload.from_dict(args["body"])))

    def heartbeat(self, args: dict[str, Any], token: str | None) -> Any:
        client, ti_id = self._task(args, token)
        client.heartbeat(ti_id, models.TIHeartbeatPayload.from_dict(args["body"]))
        return {}

    def get_variable(self, args: dict[str, Any], token: str | None) -> Any:
        client, _ = self._task(args, token)
        return {"value": client.get_variable(args["key"])}

    def set_variable(self, args: dict[str, Any], token: str | None) -> Any:
        client, _ = self._task(args, token)
        client.set_variable(args["key"], args["value"])
        return {}

    def get_connection(self, args: dict[str, Any], token: str | None) -> Any:
        client, _ = self._task(args, token)
        return _json(get_connection.sync(args["conn_id"], client=client.generated))

    def push_xcom(self, args: dict[str, Any], token: str | None) -> Any:
        client, _ = self._task(args, token)
        client.push_xcom(args["dag_id"], args["run_id"], args["task_id"], args["key"], args["value"])
        return {}

    def pull_xcom(self, args: dict[str, Any], token: str | None) -> Any:
        client, _ = self._task(args, token)
        return {"value": client.pull_xcom(args["dag_id"], args["run_id"], args["task_id"], args["key"])}

    def upload_logs(self, args: dict[str, Any], token: str | None) -> Any:
        client, ti_id = self._task(args, token)
        body = models.LogBatch.from_dict(args["body"])
        return _json(upload_task_logs.sync(ti_id, client=client.generated, body=body))

    def finish(self, args: dict[str, Any], token: str | None) -> Any:
        client, ti_id = self._task(args, token)
        return _json(client.finish(ti_id, models.TIStatePayload.from_dict(args["body"])))


def run_step(run: ScenarioRun, step: dict[str, Any]) -> dict[str, Any]:
    """One step's outcome: its result as JSON, or the typed error the client raised."""
    action: Callable[[dict[str, Any], str | None], Any] = getattr(run, step["action"])
    try:
        return {"outcome": "ok", "result": action(step.get("args", {}), step.get("token"))}
    except baton.APIError as exc:
        kind = next((k for cls, k in ERROR_KINDS if isinstance(exc, cls)), "api_error")
        return {
            "outcome": "error",
            "kind": kind,
            "status": exc.status,
            "reason": exc.reason,
            "message": str(exc),
        }
    except baton.TransportError as exc:
        return {"outcome": "error", "kind": "transport", "status": None, "reason": None, "message": str(exc)}
    except Exception as exc:  # a crash of the client is an outcome to report, not to hide
        return {"outcome": "error", "kind": "crash", "status": None, "reason": None, "message": repr(exc)}


def main(argv: list[str]) -> int:
    plan = json.loads(Path(argv[1]).read_text())
    if plan["version"] != baton.API_VERSION:
        print(f"runner: baton {baton.API_VERSION} is not the plan's {plan['version']}", file=sys.stderr)
        return 2
    scenarios = []
    for scenario in plan["scenarios"]:
        run = ScenarioRun(plan)
        try:
            steps = [run_step(run, step) for step in scenario["steps"]]
        finally:
            run.close()
        scenarios.append({"name": scenario["name"], "steps": steps})
    transcript = {"language": "python", "client_version": baton.API_VERSION, "scenarios": scenarios}
    Path(argv[2]).write_text(json.dumps(transcript, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
