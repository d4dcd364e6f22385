"""Schemathesis hooks (loaded through ``SCHEMATHESIS_HOOKS``): real credentials for every principal.

Each operation gets the token of the principal its ``security`` names: the admin token, the
worker credential, or a task token. Task tokens are kept the way a client keeps them: the
workload token of every workload a claim hands out, swapped for the execution token that ``run``
answers with (and for any refreshed one). An operation on a task instance whose token is known
uses it, so the stateful phase's links (claim → run → heartbeat → finish) run a real attempt.

Other task operations run against a *live attempt* the hooks keep running (a task of the DAG
registered for the run, claimed by the run's worker and started): positive cases are pointed at
it — its task instance id, its XCom address, a connection granted to its DAG — so that valid input
meets a state that accepts it; negative cases keep their generated values, which must be refused.
Which attempt is live is checked through the admin API before each use: the suite may have
finished it in between.

The hooks read their settings from the JSON file named by ``BATON_CONFORMANCE_ST_STATE``.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import schemathesis

TASK_SCHEME = "TaskToken"
ADMIN_SCHEME = "AdminToken"
WORKER_SCHEME = "WorkerCredential"
XCOM_SEGMENTS = ("dag_id", "run_id", "task_id")
DEFAULT_POOL = "default_pool"
"""The pool of every task that names none: the suite's tasks and the matrix's scenarios take its slots."""


@dataclass
class _Attempt:
    task_instance_id: str
    dag_id: str
    run_id: str
    task_id: str
    token: str


class _State:
    """The run's credentials, the tokens seen so far, and the live attempt."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.version: str = settings["version"]
        self.http = httpx.Client(
            base_url=settings["base_url"], timeout=300, headers={"Baton-API-Version": self.version}
        )
        self.tokens: dict[str, str] = {}
        self.lock = threading.RLock()
        self.live: _Attempt | None = None
        self.pending = 0  # workloads of the suite's DAG that may still wait in its queue
        self.pid = 50_000

    def _as(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def claim(self) -> dict[str, Any] | None:
        """One workload of the run's DAG, claimed by the run's worker (None when the queue stays empty)."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            response = self.http.post(
                f"/workers/{self.settings['worker_id']}/claims",
                json={"max_workloads": 1, "wait_seconds": 1, "queues": [self.settings["queue"]]},
                headers=self._as(self.settings["worker_token"]),
            )
            response.raise_for_status()
            workloads: list[dict[str, Any]] = response.json()["workloads"]
            if workloads:
                self.tokens[workloads[0]["task_instance"]["id"]] = workloads[0]["token"]
                return workloads[0]
            self.trigger_run()
        return None

    def trigger_run(self) -> None:
        """Trigger a run of the suite's DAG, so that its queue holds workloads."""
        self.http.post(
            f"/api/dags/{self.settings['dag_id']}/dag-runs",
            json={},
            headers=self._as(self.settings["admin_token"]),
        ).raise_for_status()

    def _running(self, attempt: _Attempt) -> bool:
        response = self.http.get(
            f"/api/task-instances/{attempt.task_instance_id}", headers=self._as(self.settings["admin_token"])
        )
        return response.status_code == 200 and response.json().get("state") == "running"

    def live_attempt(self) -> _Attempt | None:
        """A running attempt, started anew when the previous one is over."""
        with self.lock:
            if self.live is not None and self._running(self.live):
                self.live.token = self.tokens.get(self.live.task_instance_id, self.live.token)
                return self.live
            workload = self.claim()
            if workload is None:
                return None
            ti = workload["task_instance"]
            self.pid += 1
            response = self.http.patch(
                f"/execution/task-instances/{ti['id']}/run",
                json={
                    "hostname": "schemathesis.test",
                    "pid": self.pid,
                    "unix_user": "baton",
                    "start_date": "2026-11-24T12:00:00Z",
                },
                headers=self._as(workload["token"]),
            )
            if response.status_code != 200:
                return None
            token = response.headers["Refreshed-API-Token"]
            self.tokens[ti["id"]] = token
            self.live = _Attempt(ti["id"], ti["dag_id"], ti["run_id"], ti["task_id"], token)
            return self.live


_STATE: _State | None = None


def _state() -> _State:
    global _STATE
    if _STATE is None:
        path = os.environ["BATON_CONFORMANCE_ST_STATE"]
        with open(path) as handle:
            _STATE = _State(json.load(handle))
    return _STATE


def _operation_id(case: Any) -> str | None:
    operation_id: str | None = case.operation.definition.raw.get("operationId")
    return operation_id


def _schemes(case: Any) -> set[str]:
    security = case.operation.definition.raw.get("security") or []
    return {name for requirement in security for name in requirement}


def _is_positive(case: Any) -> bool:
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    return mode is None or str(getattr(mode, "value", mode)) == "positive"


def _is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _task_token(case: Any, state: _State, positive: bool) -> str | None:
    path = dict(case.path_parameters or {})
    ti = path.get("task_instance_id")

    if ti is not None and str(ti) in state.tokens:
        return state.tokens[str(ti)]  # an attempt the run saw claimed or started: its own token
    if _operation_id(case) == "run_task_instance" and positive and _is_uuid(ti):
        workload = state.claim()
        if workload is None:
            return None
        path["task_instance_id"] = workload["task_instance"]["id"]
        case.path_parameters = path
        return str(workload["token"])
    attempt = state.live_attempt()
    if attempt is None:
        return None
    if positive:
        if ti is not None and _is_uuid(ti):
            path["task_instance_id"] = attempt.task_instance_id
        if all(name in path for name in XCOM_SEGMENTS):
            path.update(dag_id=attempt.dag_id, run_id=attempt.run_id, task_id=attempt.task_id)
        if "connection_id" in path:
            path["connection_id"] = state.settings["connection_id"]  # granted to the attempt's DAG
        case.path_parameters = path
    return attempt.token


def _point_claim_at_work(case: Any, state: _State) -> None:
    """A valid claim is made by the suite's worker from the suite's queue, where work is waiting.

    Workers the suite registers serve random queues, which stay empty; so that the links claim →
    run → heartbeat → finish drive real attempts, every valid claim takes one workload of the
    suite's DAG (a run is triggered whenever the queue may be empty).
    """
    path = dict(case.path_parameters or {})
    path["worker_id"] = state.settings["worker_id"]
    case.path_parameters = path
    body = dict(case.body) if isinstance(case.body, dict) else {}
    body.update(queues=[state.settings["queue"]], max_workloads=1, wait_seconds=5)
    case.body = body
    with state.lock:
        if state.pending <= 0:
            state.trigger_run()
            state.pending += state.settings.get("tasks", 1)
        state.pending -= 1


def _spare_the_suites_own(case: Any, state: _State) -> None:
    """Generated input never changes the worker, DAG, connection or pool the hooks rely on.

    Schemathesis reuses values it saw in responses (the worker list names the suite's worker, the
    DAG list its DAG, the pool list ``default_pool``), so a generated case can name them:
    registering the suite's worker again would change the queues it serves, registering its DAG
    again its tasks, setting ``default_pool`` to 0 slots would stop every later claim (the suite's
    and the client matrix's, which runs on the same server), and so on. Such a case is pointed at
    a fresh name instead, which keeps what it tests.
    """
    fresh = f"st_other_{secrets.token_hex(4)}"
    operation = _operation_id(case)
    path = case.path_parameters or {}
    body = case.body
    if operation in ("delete_dag", "update_dag") and path.get("dag_id") == state.settings["dag_id"]:
        case.path_parameters = {**path, "dag_id": fresh}  # a DAG nobody has: 404
    elif (
        operation in ("admin_set_connection", "admin_delete_connection")
        and path.get("connection_id") == state.settings["connection_id"]
    ):
        case.path_parameters = {**path, "connection_id": fresh}
    elif operation in ("admin_set_pool", "admin_delete_pool") and path.get("name") == DEFAULT_POOL:
        case.path_parameters = {**path, "name": fresh}
    elif operation == "register_worker" and isinstance(body, dict):
        if body.get("name") == state.settings["worker_name"]:
            case.body = {**body, "name": fresh}
    elif operation == "register_dags" and isinstance(body, dict) and isinstance(body.get("dags"), list):
        dags = [
            {**dag, "dag_id": fresh}
            if isinstance(dag, dict) and dag.get("dag_id") == state.settings["dag_id"]
            else dag
            for dag in body["dags"]
        ]
        case.body = {**body, "dags": dags}


_INT64 = (-(2**63), 2**63 - 1)
_MAX_DEPTH = 64
_SOME_INSTANT = "2026-01-01T00:00:00Z"


def _within_contract(value: Any, depth: int = 1) -> Any:
    """``value`` with what JSON Schema allows but the server's input contract refuses taken out.

    The contract (docs/execution-api.md, "The input contract") refuses U+0000 in text, lone
    surrogates, integers outside 64 bits, nesting deeper than 64 and date-times that have no UTC
    time — none of which a JSON Schema can say for a free-form value.
    """
    if isinstance(value, str):
        text = value.replace("\x00", "")
        text = text.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment.astimezone(UTC)
        except ValueError:
            pass
        except OverflowError:
            return _SOME_INSTANT
        return text
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return min(max(value, _INT64[0]), _INT64[1])
    if isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            return {}
        return {_within_contract(k): _within_contract(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= _MAX_DEPTH:
            return []
        return [_within_contract(v, depth + 1) for v in value]
    return value


def _keep_to_the_input_contract(case: Any) -> None:
    """A positive case keeps to the input contract, so that a refusal of it is a real failure."""
    if isinstance(case.body, dict | list | str):
        case.body = _within_contract(case.body)
    for name in ("query", "path_parameters"):
        values = getattr(case, name, None)
        if isinstance(values, dict):
            setattr(case, name, {k: _within_contract(v) for k, v in values.items()})


@schemathesis.auth(refresh_interval=None, retry_on=[])
class BatonAuth:
    """The token of the principal each operation names in its ``security``."""

    def get(self, case: Any, context: Any) -> str:
        return "per-operation"  # the token is chosen in ``set``, case by case

    def set(self, case: Any, data: str, context: Any) -> None:
        state = _state()
        # Read before any change to the case: schemathesis re-derives the mode of a changed case.
        positive = _is_positive(case)
        schemes = _schemes(case)
        headers = case.headers if case.headers is not None else {}
        # Generated Authorization values are replaced: the ignored_auth check sends the missing and
        # the forged ones itself.
        headers.pop("authorization", None)
        token: str | None = None
        if ADMIN_SCHEME in schemes:
            token = state.settings["admin_token"]
            if positive and _operation_id(case) == "trigger_dag_run":
                # A valid trigger of a DAG that exists: the suite's own (its link reads the run back).
                case.path_parameters = {**(case.path_parameters or {}), "dag_id": state.settings["dag_id"]}
            else:
                _spare_the_suites_own(case, state)
        elif WORKER_SCHEME in schemes:
            token = state.settings["worker_token"]
            if positive and _operation_id(case) == "claim_workloads":
                _point_claim_at_work(case, state)
            else:
                _spare_the_suites_own(case, state)
        elif TASK_SCHEME in schemes:
            token = _task_token(case, state, positive)
        if positive:
            _keep_to_the_input_contract(case)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
            case.headers = headers


def _header(response: Any, name: str) -> str | None:
    value = response.headers.get(name) or response.headers.get(name.lower())
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Keep the task tokens the server hands out: workload tokens of claims, execution tokens of runs."""
    state = _state()
    operation = _operation_id(case)
    if operation == "claim_workloads" and response.status_code == 200:
        for workload in response.json().get("workloads", []):
            state.tokens[workload["task_instance"]["id"]] = workload["token"]
    refreshed = _header(response, "Refreshed-API-Token")
    ti = (case.path_parameters or {}).get("task_instance_id")
    if refreshed and ti is not None:
        state.tokens[str(ti)] = refreshed
