"""SDK capabilities: the list of docs/new-language-sdk.md, and what each SDK declares it implements.

Each SDK keeps a ``capabilities.toml`` beside its code (``clients/<language>/capabilities.toml``)::

    sdk = "Go"
    runtime = "go"

    [capabilities]
    register_worker = { status = "yes" }
    logs = { status = "partial", note = "Client.UploadLogs; no log shipper yet" }

``status`` is ``yes``, ``partial`` or ``no``; every capability below must be listed, and no other.
The conformance run renders the declarations into docs/compatibility.md.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from baton_conformance._errors import SetupError

TIERS = ("MUST", "SHOULD", "MAY")
STATUSES = ("yes", "partial", "no")


@dataclass(frozen=True, slots=True)
class Capability:
    """One thing a Baton SDK does, at a tier: MUST (a worker is wrong without it), SHOULD, MAY."""

    id: str
    tier: str
    summary: str


CAPABILITIES = (
    Capability(
        "version_pinning",
        "MUST",
        "sends its generated `Baton-API-Version`; `client_version_too_new` → upgrade the server",
    ),
    Capability("register_worker", "MUST", "registers with its runtime, queues and capacity at start"),
    Capability("register_dags", "MUST", "registers its bundles' DAG descriptions before it claims"),
    Capability(
        "claim_workloads",
        "MUST",
        "claims only for free slots, long-polling; a claim is also its sign of life",
    ),
    Capability(
        "start_attempt",
        "MUST",
        "calls `run` with the workload token and uses the execution token from then on",
    ),
    Capability(
        "task_heartbeat",
        "MUST",
        "heartbeats every running attempt (every 5 s) and stops the task on 409, 404 or 401",
    ),
    Capability(
        "finish_attempt",
        "MUST",
        "reports the final state with its end date, and repeats it until it is answered",
    ),
    Capability("token_refresh", "MUST", "takes `Refreshed-API-Token` from any response, errors included"),
    Capability(
        "retries",
        "MUST",
        "retries idempotent calls on transport errors and 5xx; POSTs only when nothing was sent",
    ),
    Capability("worker_heartbeat", "SHOULD", "heartbeats the worker while it has no work to claim"),
    Capability(
        "token_renewal",
        "SHOULD",
        "renews an attempt's expired execution token with the worker credential (`reissue_task_tokens`)",
    ),
    Capability("variables", "SHOULD", "tasks read and write variables"),
    Capability("connections", "SHOULD", "tasks read connections"),
    Capability("xcoms", "SHOULD", "tasks push and pull XComs"),
    Capability(
        "logs",
        "SHOULD",
        "ships each attempt's output as structured lines in batches (fields `source`, `stream`, `logger`)",
    ),
    Capability(
        "execution_timeout",
        "SHOULD",
        "stops a task after `execution_timeout_seconds` and reports it `up_for_retry`",
    ),
    Capability(
        "graceful_shutdown",
        "SHOULD",
        "drains on SIGTERM: no new claims, a grace period for running tasks, then stops and reports them",
    ),
    Capability("typed_errors", "SHOULD", "errors carry status, reason, message and the request id"),
    Capability("request_ids", "SHOULD", "sends `X-Request-ID`, the same one on every retry of a call"),
    Capability("subprocess_tasks", "MAY", "runs each task in a supervised child process"),
    Capability(
        "in_process_tasks", "MAY", "runs task handlers inside an application's own process (tasks as RPC)"
    ),
    Capability(
        "secrets_backend",
        "MAY",
        "asks a worker-side secrets backend before the API for variables and connections",
    ),
    Capability("run_facts", "MAY", "exposes the previous successful run and the run's task state counts"),
    Capability("operator_tools", "MAY", "operator commands over the admin API (trigger, list, logs)"),
)
"""Every capability, by tier; docs/new-language-sdk.md describes each under the same id."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """One SDK's declared capabilities: capability id → (status, note)."""

    sdk: str
    runtime: str
    path: Path
    statuses: dict[str, tuple[str, str]]

    def tier_counts(self, tier: str) -> tuple[int, int]:
        """(fully implemented, listed) capabilities of a tier."""
        ids = [c.id for c in CAPABILITIES if c.tier == tier]
        return sum(self.statuses[i][0] == "yes" for i in ids), len(ids)


def load_declaration(path: Path) -> Declaration:
    """Read and check one SDK's ``capabilities.toml`` (SetupError naming what is wrong)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SetupError(f"{path}: {exc}") from exc
    declared = data.get("capabilities", {})
    known = {c.id for c in CAPABILITIES}
    problems = [f"unknown capability {i!r}" for i in sorted(set(declared) - known)]
    problems += [f"capability {i!r} not declared" for i in sorted(known - set(declared))]
    statuses: dict[str, tuple[str, str]] = {}
    for capability_id, entry in declared.items():
        status = entry.get("status") if isinstance(entry, dict) else None
        if status not in STATUSES:
            problems.append(f"{capability_id}: status must be one of {', '.join(STATUSES)}")
            continue
        statuses[capability_id] = (status, str(entry.get("note", "")))
    if not isinstance(data.get("sdk"), str) or not isinstance(data.get("runtime"), str):
        problems.append("`sdk` and `runtime` must be strings")
    if problems:
        raise SetupError(f"{path}: " + "; ".join(problems))
    return Declaration(data["sdk"], data["runtime"], path, statuses)


def load_all(clients: Path) -> list[Declaration]:
    """Every SDK's declaration under ``clients/``, in folder order."""
    return [load_declaration(path) for path in sorted(clients.glob("*/capabilities.toml"))]
