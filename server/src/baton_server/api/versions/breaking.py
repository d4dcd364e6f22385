"""The breaking changes each version change makes on purpose: the allow-list of the breaking-change gate.

``python -m baton_codegen gates`` compares every two consecutive versions' documents with oasdiff.
Each of its findings must match an entry of a change declared in the newer version, and each
entry must match a finding: an undeclared break fails CI, and so does an entry that no longer
matches anything. An entry names oasdiff's rule id (``*`` matches any run of characters), the
operations it may occur in, and a piece of the finding's text (the property, say).

A change that is not a break (a new endpoint, a new optional field, a response enum) needs no
entry. See docs/spec-gates.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from cadwyn import VersionChange

from baton_server.api.versions.v2026_10_15 import AddUnixUserToRunPayload, RenameVersionIdToDagVersionId
from baton_server.api.versions.v2026_11_24 import ChangeConnectionExtraToObject
from baton_server.api.versions.v2026_12_02 import (
    AddDagOwner,
    AddEncryptionKeyNotHeldReason,
    AddSizeCapReasons,
    OpenTaskRuntimes,
    RenameExecutionTimeoutToExecutionTimeoutSeconds,
    RequireConnectionGrants,
    SplitRegisteredTaskAndScheduleFromRequests,
    TypeStatesRunTypesAndLogLevelsAsEnums,
)


@dataclass(frozen=True, slots=True)
class ExpectedBreak:
    """One kind of breaking-change finding a version change causes."""

    rule: str
    operations: tuple[str, ...]
    mentions: str


_RUNTIME_RESPONSES = (
    "claim_workloads",
    "get_dag",
    "get_dag_run",
    "heartbeat_worker",
    "list_workers",
    "register_worker",
    "update_dag",
)
_DAG_READS = ("get_dag", "update_dag")

EXPECTED_BREAKS: dict[type[VersionChange], tuple[ExpectedBreak, ...]] = {
    RenameVersionIdToDagVersionId: (
        ExpectedBreak("response-required-property-removed", ("run_task_instance",), "`version_id`"),
    ),
    AddUnixUserToRunPayload: (
        ExpectedBreak("new-required-request-property", ("run_task_instance",), "`unix_user`"),
    ),
    ChangeConnectionExtraToObject: (
        ExpectedBreak("response-property-type-changed", ("get_connection",), "`extra/"),
        ExpectedBreak("response-property-list-of-types-widened", ("get_connection",), "`extra`"),
    ),
    OpenTaskRuntimes: (
        ExpectedBreak("request-property-pattern-added", ("register_dags", "register_worker"), "runtime"),
        ExpectedBreak("request-property-max-length-set", ("register_dags", "register_worker"), "runtime"),
        ExpectedBreak("response-property-became-not-enum", _RUNTIME_RESPONSES, "runtime"),
    ),
    SplitRegisteredTaskAndScheduleFromRequests: (
        ExpectedBreak(
            "response-property-any-of-added", ("get_dag", "list_dags", "update_dag"), "RegisteredSchedule"
        ),
        # RegisteredTask states what the server sends, not what a registration may send: the request
        # model's bounds are gone from responses.
        ExpectedBreak("response-property-*-unset", _DAG_READS, "`tasks/items/"),
        ExpectedBreak("response-property-pattern-removed", _DAG_READS, "`tasks/items/"),
    ),
    TypeStatesRunTypesAndLogLevelsAsEnums: (
        ExpectedBreak("response-property-any-of-added", ("get_task_instance",), "TaskInstanceState"),
    ),
    RenameExecutionTimeoutToExecutionTimeoutSeconds: (
        ExpectedBreak("response-required-property-removed", ("run_task_instance",), "`execution_timeout`"),
    ),
    # A 413 of these operations may now name its cap; a client of the new version handles both codes.
    AddSizeCapReasons: (
        ExpectedBreak(
            "response-property-enum-value-added", ("set_variable", "admin_set_variable"), "variable_too_large"
        ),
        ExpectedBreak("response-property-enum-value-added", ("upload_task_logs",), "log_limit_exceeded"),
    ),
    # A 503 may now say the server cannot decrypt a secret: a connection's, or the signing key of a task
    # token another replica rotated to, so every call with a task token (older versions get
    # database_unavailable).
    AddEncryptionKeyNotHeldReason: (
        ExpectedBreak(
            "response-property-enum-value-added",
            (
                "admin_list_connections",
                "admin_get_connection",
                "get_connection",
                "heartbeat_task_instance",
                "upload_task_logs",
                "get_previous_successful_run",
                "run_task_instance",
                "update_task_instance_state",
                "get_task_state_counts",
                "delete_variable",
                "get_variable",
                "set_variable",
                "delete_xcom",
                "pull_xcom",
                "push_xcom",
            ),
            "encryption_key_not_held",
        ),
    ),
    # A connection's replacement says its grant (older versions' bodies default it to every DAG).
    RequireConnectionGrants: (
        ExpectedBreak("request-property-became-required", ("admin_set_connection",), "`allowed_dag_ids`"),
    ),
    # A revoked claim's `run` names its reason (older versions get token_invalid).
    AddDagOwner: (
        ExpectedBreak("response-property-enum-value-added", ("run_task_instance",), "claim_revoked"),
    ),
}
