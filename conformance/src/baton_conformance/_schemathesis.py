"""Schemathesis against the server, once per API version, with real credentials.

Every check is on, in all four phases (examples, coverage, fuzzing, stateful), with a bounded
number of examples per operation. The run registers a worker and a DAG of its own first, so that
task operations meet real attempts (see :mod:`baton_conformance._st_hooks`). Two checks are
configured narrowly, each for a documented reason:

- ``negative_data_rejection`` also accepts 413: a body over the server's size limit is refused
  as too large before it is validated (``BATON_REQUEST_MAX_BYTES``), and 413 is documented.
- ``positive_data_acceptance`` also accepts 422 from ``register_dags``, ``claim_workloads``,
  ``delete_dag`` and ``create_backfill``: they hold references the schema cannot check — a DAG's
  tasks name their upstream tasks, a claim names queues the worker must serve, a deletion's
  ``confirm`` repeats the DAG id of its path, a backfill needs a DAG with a schedule and a range
  that starts before it ends — and a dangling one is a 422 with its own reason
  (``unknown_upstream_task``, ``queue_not_served``, ``delete_not_confirmed``, ``dag_not_scheduled``,
  ``invalid_backfill_range``, …).

And the positive cases keep to the server's input contract (``_st_hooks._within_contract``): no
U+0000 in text, no lone surrogates, integers within 64 bits, nesting up to 64 deep, date-times with
a UTC time. JSON Schema cannot say that of a free-form value; the server's own tests walk every
operation with such values (``server/tests/api/head/test_input_contract.py``).

Every check is on: the documents mark ``Baton-API-Version`` optional, as the server treats it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from baton_conformance._errors import SetupError
from baton_conformance._server import Target

ST_TIMEOUT = 2700
"""A bound on one version's schemathesis run, so that a hang still ends (790 s was seen at a load of 25)."""
DISABLED_CHECKS: tuple[str, ...] = ()
STATEFUL_FACTOR = 10
SEMANTIC_422_OPERATIONS = ("register_dags", "claim_workloads", "delete_dag", "create_backfill")
_LINKS = re.compile(r"API Links:\s+(\d+) covered / \d+ selected / (\d+) total")
_OPERATION = re.compile(r"^(GET|PUT|POST|PATCH|DELETE) (\S+)")
POSITIVE_DATA_ACCEPTANCE = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
REQUEST_TIMEOUT_S = 300
"""How long schemathesis waits for one answer before it reports a network error."""

NEGATIVE_DATA_REJECTION = [
    *("400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"),
    "413",
]


@dataclass
class SchemathesisResult:
    """One version's run: which operations it tested, and what failed."""

    version: str
    operations: list[str] = field(default_factory=list)
    tested: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    output: Path | None = None
    links: str | None = None  # "N/M": links of the document the stateful phase followed

    @property
    def untested(self) -> list[str]:
        return sorted(set(self.operations) - set(self.tested))

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures and not self.untested and bool(self.operations)


def _seed(target: Target, version: str) -> dict[str, Any]:
    """A worker and a DAG of this run's own, with a run queued and a connection granted to the DAG."""
    suffix = f"{version.replace('-', '')}_{secrets.token_hex(3)}"  # unique: a target keeps earlier runs
    queue, dag_id = f"st_{suffix}", f"st_{suffix}"
    with httpx.Client(
        base_url=target.base_url, timeout=REQUEST_TIMEOUT_S, headers={"Baton-API-Version": version}
    ) as http:
        worker_auth = {"Authorization": f"Bearer {target.worker_token}"}
        admin_auth = {"Authorization": f"Bearer {target.admin_token}"}
        worker = http.post(
            "/workers/registrations",
            json={"name": f"schemathesis_{suffix}", "queues": [queue], "capacity": 100, "runtime": "python"},
            headers=worker_auth,
        )
        worker.raise_for_status()
        tasks = [
            {"task_id": f"t{i}", "entry_point": f"tasks:t{i}", "runtime": "python", "queue": queue}
            for i in range(8)
        ]
        http.post(
            "/workers/dags", json={"dags": [{"dag_id": dag_id, "tasks": tasks}]}, headers=worker_auth
        ).raise_for_status()
        http.post(f"/api/dags/{dag_id}/dag-runs", json={}, headers=admin_auth).raise_for_status()
        http.put(
            f"/api/connections/{dag_id}",
            json={"conn_type": "http", "host": "conformance.test", "allowed_dag_ids": [dag_id]},
            headers=admin_auth,
        ).raise_for_status()
    return {
        "base_url": target.base_url,
        "version": version,
        "admin_token": target.admin_token,
        "worker_token": target.worker_token,
        "worker_id": worker.json()["id"],
        "worker_name": f"schemathesis_{suffix}",
        "queue": queue,
        "dag_id": dag_id,
        "connection_id": dag_id,
        "tasks": len(tasks),
    }


def _config(version: str, examples: int, report_dir: Path) -> str:
    lines = [
        "# Written by baton-conformance for one run; see baton_conformance._schemathesis.",
        "workers = 1",
        # A verdict must not depend on the machine's speed: on a loaded 2-core machine a request can
        # wait seconds for the CPU (schemathesis's default of 10 s once failed CI).
        f"request-timeout = {REQUEST_TIMEOUT_S}",
        "[headers]",
        f'"Baton-API-Version" = "{version}"',
        "[generation]",
        f"max-examples = {examples}",
        "[checks]",
        *(f"{name}.enabled = false" for name in DISABLED_CHECKS),
        "[checks.negative_data_rejection]",
        f"expected-statuses = {json.dumps(NEGATIVE_DATA_REJECTION)}",
        "[phases.stateful.inference]",
        'algorithms = ["location-headers"]',
        # Scenarios are cheap (a few calls each) and each follows other links: many more than the
        # per-operation examples, so that most links of the document are walked in every run.
        "[phases.stateful.generation]",
        f"max-examples = {examples * STATEFUL_FACTOR}",
        *(
            line
            for operation in SEMANTIC_422_OPERATIONS
            for line in (
                "[[operations]]",
                f'include-operation-id = "{operation}"',
                "[operations.checks.positive_data_acceptance]",
                f"expected-statuses = {json.dumps([*POSITIVE_DATA_ACCEPTANCE, '422'])}",
            )
        ),
        "[reports.junit]",
        f'path = "{report_dir / "junit.xml"}"',
    ]
    return "\n".join(lines) + "\n"


def _operations(target: Target, version: str) -> list[str]:
    response = httpx.get(
        f"{target.base_url}/openapi.json", params={"version": version}, timeout=REQUEST_TIMEOUT_S
    )
    response.raise_for_status()
    return sorted(
        f"{method.upper()} {path}"
        for path, item in response.json()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    )


def _tested(junit: Path) -> tuple[list[str], list[str]]:
    """Operations that ran, and failures, from the JUnit report."""
    tested: list[str] = []
    failures: list[str] = []
    root = ET.parse(junit).getroot()  # noqa: S314 - our own tool's report
    for case in root.iter("testcase"):
        name = case.get("name", "")
        if case.find("skipped") is not None or not _OPERATION.match(name):
            continue  # skipped, or not an operation (the stateful phase reports as one case)
        tested.append(name)
        for failure in [*case.findall("failure"), *case.findall("error")]:
            text = (failure.get("message") or failure.text or "").strip().splitlines()
            failures.append(f"{name}: {text[0] if text else 'failed'}")
    return tested, failures


def run_schemathesis(target: Target, version: str, examples: int, work: Path) -> SchemathesisResult:
    """Run every phase and every check against one version's document."""
    result = SchemathesisResult(version)
    started = time.monotonic()
    folder = work / f"schemathesis-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result.operations = _operations(target, version)
        state = folder / "state.json"
        state.write_text(json.dumps(_seed(target, version)))
    except httpx.HTTPError as exc:
        result.error = f"setting up: {exc}"
        return result
    config = folder / "schemathesis.toml"
    config.write_text(_config(version, examples, folder))
    result.output = folder / "output.txt"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{target.base_url}/openapi.json?version={version}",
        "--no-color",
        "--seed",
        "20261124",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "baton_conformance._st_hooks",
        "BATON_CONFORMANCE_ST_STATE": str(state),
    }
    try:
        out = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=ST_TIMEOUT, check=False, cwd=folder
        )
    except subprocess.TimeoutExpired:
        result.error = f"no result within {ST_TIMEOUT} s"
        return result
    result.output.write_text(out.stdout + out.stderr)
    result.seconds = time.monotonic() - started
    junit = folder / "junit.xml"
    if not junit.exists():
        result.error = (
            f"schemathesis exited {out.returncode} without a report:\n{(out.stdout + out.stderr)[-3000:]}"
        )
        return result
    links = _LINKS.search(out.stdout)
    result.links = f"{links.group(1)}/{links.group(2)}" if links else None
    tested, failures = _tested(junit)
    result.tested = sorted({_label(t) for t in tested})
    result.failures = failures
    if out.returncode != 0 and not failures:
        result.error = f"schemathesis exited {out.returncode}:\n{(out.stdout + out.stderr)[-3000:]}"
    return result


def _label(name: str) -> str:
    match = _OPERATION.match(name)
    return f"{match.group(1)} {match.group(2)}" if match else name


def check_installed() -> None:
    """SetupError unless the schemathesis CLI is installed beside this interpreter."""
    if not (Path(sys.executable).parent / "schemathesis").exists():
        raise SetupError("schemathesis is not installed in this environment")
