"""The dated API versions, newest first; ``vYYYY_MM_DD.py`` holds the changes that version made.

To add a version: see docs/versioning.md.
"""

from __future__ import annotations

from cadwyn import HeadVersion, Version, VersionBundle

from baton_server.api.versions.v2026_10_15 import AddUnixUserToRunPayload, RenameVersionIdToDagVersionId
from baton_server.api.versions.v2026_11_24 import (
    AddPreviousSuccessfulRunEndpoint,
    ChangeConnectionExtraToObject,
)
from baton_server.api.versions.v2026_12_02 import (
    AddBackfills,
    AddBatchIdToLogBatch,
    AddDagCatchup,
    AddDagOwner,
    AddEncryptionKeyNotHeldReason,
    AddHeldTaskInstanceIdsToClaims,
    AddLateToLogRecords,
    AddOperatorControls,
    AddPoolsAndDagConcurrencyLimits,
    AddSizeCapReasons,
    AddTaskTokenReissue,
    AddVariableGrants,
    OpenTaskRuntimes,
    RenameExecutionTimeoutToExecutionTimeoutSeconds,
    RequireConnectionGrants,
    SplitRegisteredTaskAndScheduleFromRequests,
    TypeStatesRunTypesAndLogLevelsAsEnums,
)

VERSIONS = VersionBundle(
    HeadVersion(),
    Version(
        "2026-12-02",
        OpenTaskRuntimes,
        SplitRegisteredTaskAndScheduleFromRequests,
        TypeStatesRunTypesAndLogLevelsAsEnums,
        RenameExecutionTimeoutToExecutionTimeoutSeconds,
        AddBatchIdToLogBatch,
        AddHeldTaskInstanceIdsToClaims,
        AddSizeCapReasons,
        AddDagOwner,
        AddVariableGrants,
        RequireConnectionGrants,
        AddOperatorControls,
        AddLateToLogRecords,
        AddPoolsAndDagConcurrencyLimits,
        AddDagCatchup,
        AddBackfills,
        AddTaskTokenReissue,
        AddEncryptionKeyNotHeldReason,
    ),
    Version("2026-11-24", AddPreviousSuccessfulRunEndpoint, ChangeConnectionExtraToObject),
    Version("2026-10-15", RenameVersionIdToDagVersionId, AddUnixUserToRunPayload),
    Version("2026-09-01"),
)

RELEASED_VERSIONS: frozenset[str] = frozenset({"2026-09-01", "2026-10-15", "2026-11-24"})
"""Versions whose spec is frozen: a change to them is refused by `nox -s spec` and its `--check`."""


def supported_versions() -> list[str]:
    """Every served version, oldest first."""
    return sorted(str(v.value) for v in VERSIONS.versions)
