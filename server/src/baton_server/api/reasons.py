"""The catalogue of error reasons: every ``reason`` the server sends, its status, the operations that send it.

It is the one source of what the spec documents about errors: :mod:`baton_server.api.openapi`
renders, for each operation and status, the reasons listed here as an enum of the error body,
and ``server/tests/api/head/test_error_reasons.py`` walks the code's reason literals and every
error response the test suites provoke against it.

Adding a reason is one line: ``define`` it once, then name it where it is sent —

- in a group that operations share (``EVERY_OPERATION``, ``WITH_INPUT``, ``WITH_BODY``, a
  credential's group in ``BY_CREDENTIAL``, ``RUNNING_ATTEMPT``), or
- in ``BY_OPERATION`` under the operation id (a new operation gets a line there, or the test
  fails: every operation of the spec must be catalogued).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Reason:
    """One error reason: the snake_case code, the HTTP status it comes with, and what it means."""

    code: str
    status: int
    meaning: str
    since: str | None = None
    """The API version that introduced the code; None: every version has it."""
    instead: Reason | None = None
    """What versions before ``since`` send instead (same status, an older code). None: they send this
    code too, undocumented there — only for refusals that older deployments never meet (a credential
    scoped by a newer feature, say)."""


CATALOGUE: dict[str, Reason] = {}
"""Every reason, by code."""


def define(
    code: str, status: int, meaning: str, *, since: str | None = None, instead: Reason | None = None
) -> Reason:
    """Add a reason to the catalogue (a code is defined once, with one status).

    A code added after the first version names its version (``since``) and the older code that
    earlier versions send in its place (``instead``), so that an older client sees only codes its
    version documents.
    """
    if code in CATALOGUE:
        raise ValueError(f"reason {code!r} is defined twice")
    if instead is not None and (since is None or instead.status != status):
        raise ValueError(f"reason {code!r}: a newer code names its version and an older code of its status")
    reason = Reason(code, status, meaning, since, instead)
    CATALOGUE[code] = reason
    return reason


# Every operation: the request middleware and the last-resort handler.
UNSUPPORTED_API_VERSION = define(
    "unsupported_api_version",
    400,
    "`Baton-API-Version` names no version this server serves; the message lists them.",
)
CLIENT_VERSION_TOO_NEW = define(
    "client_version_too_new",
    400,
    "The client's API version is newer than the server's latest: upgrade the server.",
)
PAYLOAD_TOO_LARGE = define(
    "payload_too_large",
    413,
    "The request body exceeds `BATON_REQUEST_MAX_BYTES`; nothing was done.",
)
INTERNAL_ERROR = define(
    "internal_error",
    500,
    "The server failed; it logged the request id. Safe calls may be retried.",
)
DATABASE_UNAVAILABLE = define(
    "database_unavailable",
    503,
    "The metadata database cannot be reached right now; nothing was done. Retry after `Retry-After` seconds.",
)
ENCRYPTION_KEY_NOT_HELD = define(
    "encryption_key_not_held",
    503,
    "A stored secret the request needs (a connection's, a signing key's) was encrypted with a key the "
    "server's `BATON_ENCRYPTION_KEY` does not hold; nothing was done. An operator must add that key (the "
    "server's log names the secret).",
    since="2026-12-02",
    instead=DATABASE_UNAVAILABLE,
)

# Input.
VALIDATION_ERROR = define(
    "validation_error",
    422,
    "A parameter or body field is missing, malformed or out of range; the message names it.",
)
INVALID_JSON = define("invalid_json", 422, "The request body is not valid JSON.")
BAD_REQUEST = define(
    "bad_request", 400, "The request body could not be read as JSON at all (its encoding, say)."
)

# Credentials.
TOKEN_MISSING = define("token_missing", 401, "No `Authorization: Bearer` header.")
TOKEN_INVALID = define(
    "token_invalid",
    401,
    "The bearer token is malformed, forged, or not meant for this API.",
)
TOKEN_EXPIRED = define("token_expired", 401, "The task token has expired: stop the task.")
INVALID_CREDENTIAL = define("invalid_credential", 401, "The token is not a valid credential of this kind.")
CREDENTIAL_REVOKED = define("credential_revoked", 401, "The credential has been revoked.")
TASK_ATTEMPT_FINISHED = define(
    "task_attempt_finished",
    401,
    "The token's attempt is over (or its task instance is gone): stop the task.",
)
EXECUTION_TOKEN_REQUIRED = define(
    "execution_token_required",
    403,
    "A workload token only starts its attempt; use the token `run` returned.",
)
WORKLOAD_TOKEN_REQUIRED = define(
    "workload_token_required",
    403,
    "`run` takes the workload's token, not an execution token.",
)
TOKEN_SUBJECT_MISMATCH = define(
    "token_subject_mismatch",
    403,
    "The token belongs to another task instance than the one in the path.",
)

# Task instances and attempts.
TASK_INSTANCE_NOT_FOUND = define("task_instance_not_found", 404, "No such task instance.")
ALREADY_RUNNING = define(
    "already_running",
    409,
    "The attempt already runs on another host or pid: do not run the task.",
)
NOT_STARTABLE = define("not_startable", 409, "The task instance is not queued: do not run the task.")
STALE_ATTEMPT = define(
    "stale_attempt", 409, "The token is for an earlier try than the task instance's current one."
)
TASK_INSTANCE_NOT_RUNNING = define(
    "task_instance_not_running",
    409,
    "The attempt is over (finished, failed by the server, or retried): stop the task.",
)
ATTEMPT_MISMATCH = define(
    "attempt_mismatch",
    409,
    "The heartbeat's host and pid are not the running attempt's: stop the task.",
)
ILLEGAL_STATE_TRANSITION = define(
    "illegal_state_transition",
    409,
    "The attempt already ended in another state; nothing changed.",
)

# Variables, connections, XComs.
VARIABLE_NOT_FOUND = define("variable_not_found", 404, "No variable under this key.")
POOL_NOT_FOUND = define("pool_not_found", 404, "No pool with this name.")
DEFAULT_POOL_NOT_DELETABLE = define(
    "default_pool_not_deletable", 409, "The default pool cannot be deleted; set its slots to null instead."
)
CONNECTION_NOT_FOUND = define("connection_not_found", 404, "No connection with this id.")
CONNECTION_NOT_GRANTED = define(
    "connection_not_granted",
    403,
    "The connection is granted to other DAGs than the caller's.",
)
XCOM_NOT_FOUND = define("xcom_not_found", 404, "No XCom at this address.")
XCOM_NOT_OWNED = define(
    "xcom_not_owned", 403, "A task writes and deletes only its own task instance's XComs."
)
XCOM_OUTSIDE_DAG = define("xcom_outside_dag", 403, "A task reads XComs of its own DAG only.")
XCOM_TOO_LARGE = define("xcom_too_large", 413, "The XCom value exceeds `BATON_XCOM_MAX_BYTES`.")
VARIABLE_TOO_LARGE = define(
    "variable_too_large",
    413,
    "The variable's value exceeds `BATON_VARIABLE_MAX_BYTES` encoded; nothing was stored.",
    since="2026-12-02",
    instead=PAYLOAD_TOO_LARGE,
)
LOG_LIMIT_EXCEEDED = define(
    "log_limit_exceeded",
    413,
    "The attempt's logs would exceed `BATON_LOG_MAX_BYTES_PER_ATTEMPT`; the batch was not stored. Stop "
    "sending this attempt's logs.",
    since="2026-12-02",
    instead=PAYLOAD_TOO_LARGE,
)

# DAGs and runs.
DAG_NOT_FOUND = define("dag_not_found", 404, "No DAG with this id.")
DAG_RUN_NOT_FOUND = define("dag_run_not_found", 404, "The DAG has no run with this id.")
DAG_RUN_NOT_RUNNING = define(
    "dag_run_not_running", 409, "The run has finished already: only a queued or running run is cancelled."
)
DELETE_NOT_CONFIRMED = define(
    "delete_not_confirmed", 422, "`confirm` does not repeat the DAG id; nothing was deleted."
)
DAG_RUN_EXISTS = define("dag_run_exists", 409, "The DAG already has a run with this id.")
BACKFILL_NOT_FOUND = define("backfill_not_found", 404, "The DAG has no backfill with this id.")
BACKFILL_ALREADY_RUNNING = define(
    "backfill_already_running", 409, "The DAG has a backfill that is still running: one at a time."
)
DAG_NOT_SCHEDULED = define(
    "dag_not_scheduled", 422, "The DAG's latest version has no schedule, so it has no intervals to backfill."
)
INVALID_BACKFILL_RANGE = define("invalid_backfill_range", 422, "`from_date` is after `to_date`.")
EMPTY_BACKFILL_RANGE = define("empty_backfill_range", 422, "No tick of the schedule falls in the range.")
TOO_MANY_BACKFILL_INTERVALS = define(
    "too_many_backfill_intervals",
    422,
    "The range holds more schedule intervals than one backfill may make runs for (1,000); split it.",
)
NAIVE_DATETIME = define("naive_datetime", 422, "A date-time without a time zone.")
DUPLICATE_DAG_ID = define("duplicate_dag_id", 422, "The registration names the same DAG twice.")
DUPLICATE_TASK_ID = define("duplicate_task_id", 422, "A DAG names the same task twice.")
UNKNOWN_UPSTREAM_TASK = define("unknown_upstream_task", 422, "A task waits for a task its DAG does not have.")
DUPLICATE_UPSTREAM_TASK = define("duplicate_upstream_task", 422, "A task names the same upstream task twice.")
DAG_CYCLE = define("dag_cycle", 422, "The DAG's tasks wait for each other in a cycle.")
INVALID_SCHEDULE = define(
    "invalid_schedule",
    422,
    "The schedule is not exactly one valid cron expression or interval.",
)

DAG_NOT_OWNED = define(
    "dag_not_owned",
    403,
    "The worker credential may register only DAGs matching its DAG id patterns; nothing was registered.",
    since="2026-12-02",
)

VARIABLE_NOT_GRANTED = define(
    "variable_not_granted",
    403,
    "The variable is granted to other DAGs than the caller's for reading.",
)
VARIABLE_NOT_WRITABLE = define(
    "variable_not_writable",
    403,
    "The variable is granted to other DAGs than the caller's for writing.",
)
CLAIM_REVOKED = define(
    "claim_revoked",
    401,
    "The worker credential that claimed this workload has been revoked: do not run the task.",
    since="2026-12-02",
    instead=TOKEN_INVALID,
)

# Workers.
WORKER_NAME_TAKEN = define(
    "worker_name_taken",
    409,
    "A live worker of another credential has this name (or registers it right now).",
)
WORKER_NOT_FOUND = define("worker_not_found", 404, "No such worker: register first.")
WORKER_NOT_OWNED = define("worker_not_owned", 403, "The worker was registered with another credential.")
QUEUE_NOT_SERVED = define("queue_not_served", 422, "The claim names a queue the worker did not register.")
RUNTIME_NOT_IN_API_VERSION = define(
    "runtime_not_in_api_version",
    409,
    "The worker's runtime is not one the client's API version knows (before 2026-12-02: python, go, java).",
)

# Sent without an operation: a path or method no route of the version has, and /metrics (no API operation).
NO_SUCH_ROUTE = define("not_found", 404, "No route of this API version has this path.")
METHOD_NOT_ALLOWED = define(
    "method_not_allowed", 405, "The path has no such method; `Allow` lists those it has."
)
METRICS_TOKEN_INVALID = define(
    "metrics_token_invalid", 401, "`GET /metrics` needs `Authorization: Bearer <BATON_METRICS_TOKEN>`."
)
ROUTELESS = (NO_SUCH_ROUTE, METHOD_NOT_ALLOWED, METRICS_TOKEN_INVALID)

# Raised inside the server and handled there: never in a response.
DAG_VERSION_NOT_FOUND = define("dag_version_not_found", 404, "A task instance's DAG version is gone.")
INTERNAL = (DAG_VERSION_NOT_FOUND,)

EVERY_OPERATION = (
    UNSUPPORTED_API_VERSION,
    CLIENT_VERSION_TOO_NEW,
    PAYLOAD_TOO_LARGE,
    INTERNAL_ERROR,
    DATABASE_UNAVAILABLE,
)
"""Sent by any operation (the version is negotiated, and the body size checked, before routing)."""
WITH_INPUT = (VALIDATION_ERROR,)
"""Sent by operations that take parameters or a body."""
WITH_BODY = (BAD_REQUEST, INVALID_JSON)
"""Sent by operations that take a JSON body."""
BY_CREDENTIAL: dict[str, tuple[Reason, ...]] = {
    "AdminToken": (TOKEN_MISSING, TOKEN_INVALID, INVALID_CREDENTIAL, CREDENTIAL_REVOKED),
    "WorkerCredential": (TOKEN_MISSING, TOKEN_INVALID, INVALID_CREDENTIAL, CREDENTIAL_REVOKED),
    # A token signed by a key another replica rotated to is verified with that key, read from the database.
    "TaskToken": (TOKEN_MISSING, TOKEN_INVALID, TOKEN_EXPIRED, ENCRYPTION_KEY_NOT_HELD),
}
"""Sent by operations secured by the named scheme."""

RUNNING_ATTEMPT = (TASK_ATTEMPT_FINISHED, EXECUTION_TOKEN_REQUIRED)
"""Sent by task operations that act for a running attempt (every one but run, heartbeat and state)."""
OWN_ATTEMPT = (*RUNNING_ATTEMPT, TOKEN_SUBJECT_MISMATCH)
_STARTED = (EXECUTION_TOKEN_REQUIRED, TOKEN_SUBJECT_MISMATCH, TASK_INSTANCE_NOT_FOUND)
_WORKER = (WORKER_NOT_FOUND, WORKER_NOT_OWNED, RUNTIME_NOT_IN_API_VERSION)

BY_OPERATION: dict[str, tuple[Reason, ...]] = {
    # Task Execution API
    "check_execution_health": (),
    "run_task_instance": (
        CLAIM_REVOKED,
        WORKLOAD_TOKEN_REQUIRED,
        TOKEN_SUBJECT_MISMATCH,
        TASK_INSTANCE_NOT_FOUND,
        ALREADY_RUNNING,
        NOT_STARTABLE,
        STALE_ATTEMPT,
    ),
    "heartbeat_task_instance": (*_STARTED, TASK_INSTANCE_NOT_RUNNING, ATTEMPT_MISMATCH),
    "update_task_instance_state": (*_STARTED, STALE_ATTEMPT, ILLEGAL_STATE_TRANSITION),
    "get_previous_successful_run": OWN_ATTEMPT,
    "get_task_state_counts": OWN_ATTEMPT,
    "upload_task_logs": (*OWN_ATTEMPT, LOG_LIMIT_EXCEEDED),
    "get_variable": (*RUNNING_ATTEMPT, VARIABLE_NOT_GRANTED, VARIABLE_NOT_FOUND),
    "set_variable": (*RUNNING_ATTEMPT, VARIABLE_NOT_WRITABLE, VARIABLE_TOO_LARGE),
    "delete_variable": (*RUNNING_ATTEMPT, VARIABLE_NOT_WRITABLE, VARIABLE_NOT_FOUND),
    "get_connection": (
        *RUNNING_ATTEMPT,
        CONNECTION_NOT_GRANTED,
        CONNECTION_NOT_FOUND,
        ENCRYPTION_KEY_NOT_HELD,
    ),
    "push_xcom": (*RUNNING_ATTEMPT, XCOM_NOT_OWNED, XCOM_TOO_LARGE),
    "pull_xcom": (*RUNNING_ATTEMPT, XCOM_OUTSIDE_DAG, XCOM_NOT_FOUND),
    "delete_xcom": (*RUNNING_ATTEMPT, XCOM_NOT_OWNED, XCOM_NOT_FOUND),
    # Worker API
    "check_workers_health": (),
    "register_worker": (WORKER_NAME_TAKEN,),
    "heartbeat_worker": _WORKER,
    "claim_workloads": (*_WORKER, QUEUE_NOT_SERVED),
    "reissue_task_tokens": (WORKER_NOT_FOUND, WORKER_NOT_OWNED),
    "register_dags": (
        DUPLICATE_DAG_ID,
        DUPLICATE_TASK_ID,
        UNKNOWN_UPSTREAM_TASK,
        DUPLICATE_UPSTREAM_TASK,
        DAG_CYCLE,
        INVALID_SCHEDULE,
        DAG_NOT_OWNED,
    ),
    # Admin API
    "check_admin_health": (),
    "admin_list_variables": (),
    "admin_get_variable": (VARIABLE_NOT_FOUND,),
    "admin_set_variable": (VARIABLE_TOO_LARGE,),
    "admin_delete_variable": (VARIABLE_NOT_FOUND,),
    "admin_set_variable_grants": (VARIABLE_NOT_FOUND,),
    "admin_list_pools": (),
    "admin_get_pool": (POOL_NOT_FOUND,),
    "admin_set_pool": (),
    "admin_delete_pool": (POOL_NOT_FOUND, DEFAULT_POOL_NOT_DELETABLE),
    "admin_list_connections": (ENCRYPTION_KEY_NOT_HELD,),
    "admin_get_connection": (CONNECTION_NOT_FOUND, ENCRYPTION_KEY_NOT_HELD),
    "admin_set_connection": (),
    "admin_delete_connection": (CONNECTION_NOT_FOUND,),
    "get_task_instance": (TASK_INSTANCE_NOT_FOUND,),
    "get_task_instance_logs": (TASK_INSTANCE_NOT_FOUND,),
    "list_dags": (),
    "get_dag": (DAG_NOT_FOUND,),
    "update_dag": (DAG_NOT_FOUND,),
    "trigger_dag_run": (DAG_NOT_FOUND, DAG_RUN_EXISTS, NAIVE_DATETIME),
    "list_dag_runs": (),
    "get_dag_run": (DAG_NOT_FOUND, DAG_RUN_NOT_FOUND),
    "list_workers": (),
    "clear_task_instance": (TASK_INSTANCE_NOT_FOUND,),
    "mark_task_instance": (TASK_INSTANCE_NOT_FOUND,),
    "mark_dag_run": (DAG_RUN_NOT_FOUND,),
    "cancel_dag_run": (DAG_RUN_NOT_FOUND, DAG_RUN_NOT_RUNNING),
    "delete_dag": (DAG_NOT_FOUND, DELETE_NOT_CONFIRMED),
    "list_audit_events": (),
    "create_backfill": (
        DAG_NOT_FOUND,
        NAIVE_DATETIME,
        INVALID_BACKFILL_RANGE,
        DAG_NOT_SCHEDULED,
        EMPTY_BACKFILL_RANGE,
        TOO_MANY_BACKFILL_INTERVALS,
        BACKFILL_ALREADY_RUNNING,
    ),
    "get_backfill": (DAG_NOT_FOUND, BACKFILL_NOT_FOUND),
    "list_backfills": (DAG_NOT_FOUND,),
}
"""What each operation sends beyond the shared groups, by operation id."""


def in_version(reason: Reason, version: str | None) -> Reason:
    """The reason as a client of ``version`` (None: the latest) sees it: itself, or the code it replaced."""
    while version is not None and reason.instead is not None and version < str(reason.since):
        reason = reason.instead
    return reason


def _documented_in(reason: Reason, version: str | None) -> bool:
    return version is None or reason.since is None or reason.instead is not None or version >= reason.since


def reasons_of(
    operation_id: str,
    *,
    credentials: Iterable[str],
    has_input: bool,
    has_body: bool,
    version: str | None = None,
) -> dict[int, tuple[Reason, ...]]:
    """Status → the reasons an operation sends with it in ``version`` (None: the latest).

    KeyError for an operation not catalogued.
    """
    if operation_id not in BY_OPERATION:
        raise KeyError(f"operation {operation_id!r} has no line in BY_OPERATION (api/reasons.py): add one")
    own = BY_OPERATION[operation_id]
    reasons: list[Reason] = list(EVERY_OPERATION)
    if has_input:
        reasons += WITH_INPUT
    if has_body:
        reasons += WITH_BODY
    for scheme in credentials:
        reasons += BY_CREDENTIAL[scheme]
    reasons += own
    by_status: dict[int, list[Reason]] = {}
    for reason in (in_version(r, version) for r in reasons if _documented_in(r, version)):
        if reason not in by_status.setdefault(reason.status, []):
            by_status[reason.status].append(reason)
    return {status: tuple(by_status[status]) for status in sorted(by_status)}
