"""The committed spec/: valid OpenAPI 3.1 per version, differing exactly by the declared changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from baton_server import spec as spec_module
from baton_server import spec_freeze
from baton_server.api.versions import supported_versions
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

SPEC_DIR = Path(__file__).resolve().parents[4] / "spec"
V1, V2, V3, V4 = "2026-09-01", "2026-10-15", "2026-11-24", "2026-12-02"


def _load(version: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SPEC_DIR / f"{version}.json").read_text())
    return document


def _without_version_marks(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    document["info"].pop("version")
    for path_item in document["paths"].values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "Baton-API-Version":
                    parameter["schema"].pop("examples")
                    parameter.pop("description")
    return document


def _changed(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """The names of the component schemas that differ between two documents' schema maps."""
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


def test__spec_dir__has_every_version_and_index() -> None:
    assert supported_versions() == [V1, V2, V3, V4]
    index = json.loads((SPEC_DIR / "versions.json").read_text())
    assert index["latest"] == V4
    assert [v["version"] for v in index["versions"]] == [V1, V2, V3, V4]
    assert [v["released"] for v in index["versions"]] == [True, True, True, False]


@pytest.mark.parametrize("version", [V1, V2, V3, V4])
def test__spec__is_valid_openapi_31(version: str) -> None:
    document = _load(version)
    assert document["openapi"].startswith("3.1")
    validate(document)
    assert document["info"]["version"] == version


def test__validator__rejects_a_broken_document() -> None:
    broken = _load(V4)
    broken["paths"]["/execution/health"]["get"]["responses"] = "nope"
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test__operation_ids__unique_and_readable() -> None:
    ids = [op["operationId"] for item in _load(V4)["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert all(i.islower() and " " not in i for i in ids)


def test__v1_to_v2__differs_by_rename_and_unix_user_only() -> None:
    old, new = _without_version_marks(_load(V1)), _without_version_marks(_load(V2))
    assert _operations(old) == _operations(new)
    old_schemas, new_schemas = old["components"]["schemas"], new["components"]["schemas"]
    changed = _changed(old_schemas, new_schemas)
    assert changed == {"TIRunContext", "TIRunPayload"}
    assert "version_id" in old_schemas["TIRunContext"]["properties"]
    assert "dag_version_id" in new_schemas["TIRunContext"]["properties"]
    assert "unix_user" not in old_schemas["TIRunPayload"]["properties"]
    assert "unix_user" in new_schemas["TIRunPayload"]["required"]
    old["components"].pop("schemas")
    new["components"].pop("schemas")
    assert old == new


def test__v2_to_v3__differs_by_new_endpoint_and_extra_shape_only() -> None:
    old, new = _without_version_marks(_load(V2)), _without_version_marks(_load(V3))
    added = ("get", "/execution/task-instances/{task_instance_id}/previous-successful-run")
    assert _operations(new) - _operations(old) == {added}
    assert _operations(old) - _operations(new) == set()
    old_schemas, new_schemas = old["components"]["schemas"], new["components"]["schemas"]
    changed = _changed(old_schemas, new_schemas)
    assert changed == {"ConnectionResponse", "PreviousSuccessfulRun", "PreviousSuccessfulRunResponse"}
    assert "PreviousSuccessfulRun" not in old_schemas
    assert old_schemas["ConnectionResponse"]["properties"]["extra"]["anyOf"][0] == {"type": "string"}
    new["paths"].pop(added[1])
    old["components"].pop("schemas")
    new["components"].pop("schemas")
    assert old == new


def test__check__in_sync_with_the_code() -> None:
    assert spec_module.check(SPEC_DIR) == []


def _copy_specs(tmp_path: Path) -> None:
    for path in SPEC_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text())


def test__check__released_version_change__named_and_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_specs(tmp_path)
    # The code renders a released document that no amendment records: refused.
    monkeypatch.setattr(spec_freeze, "AMENDMENTS", ())
    released = tmp_path / f"{V1}.json"
    committed = released.read_text().replace('"Baton API"', '"Before this change"')
    released.write_text(committed)
    problems = spec_module.check(tmp_path)
    assert len(problems) == 1
    assert "released version 2026-09-01 would change" in problems[0]
    assert spec_freeze.sha256((SPEC_DIR / f"{V1}.json").read_text()) in problems[0]  # what to record
    refused = spec_module.write(tmp_path)
    assert any("not written" in r for r in refused)
    assert released.read_text() == committed


def test__write__released_version__takes_its_recorded_amendment(tmp_path: Path) -> None:
    _copy_specs(tmp_path)
    released = tmp_path / f"{V2}.json"
    released.write_text(released.read_text().replace('"Baton API"', '"Edited by hand"'))
    (problem,) = spec_module.check(tmp_path)
    assert f"takes the recorded amendment {spec_freeze.AMENDMENTS[-1].name}" in problem
    assert spec_module.write(tmp_path) == []
    assert released.read_text() == (SPEC_DIR / f"{V2}.json").read_text()


def test__check__released_wire_change__refused_even_with_an_amendment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_specs(tmp_path)
    monkeypatch.setitem(spec_freeze.WIRE, V3, "0" * 64)
    (problem,) = spec_module.check(tmp_path)
    assert "the wire of released version 2026-11-24 would change" in problem
    assert any("not written" in r for r in spec_module.write(tmp_path))


@pytest.mark.parametrize("version", [V1, V2, V3])
def test__released_versions__wire_as_recorded_at_release(version: str) -> None:
    assert spec_freeze.wire_fingerprint(_load(version)) == spec_freeze.WIRE[version]


def test__wire_fingerprint__ignores_documentation_catches_fields() -> None:
    document = _load(V3)
    fingerprint = spec_freeze.wire_fingerprint(document)
    documented = copy.deepcopy(document)
    heartbeat = documented["paths"]["/execution/task-instances/{task_instance_id}/heartbeat"]["put"]
    heartbeat["description"] = "reworded"
    heartbeat["responses"]["409"]["content"]["application/json"]["schema"]["properties"]["reason"][
        "enum"
    ] = []
    documented["servers"] = []
    assert spec_freeze.wire_fingerprint(documented) == fingerprint
    for change in (
        lambda d: d["components"]["schemas"]["TIHeartbeatPayload"]["properties"].pop("pid"),
        lambda d: d["paths"].pop("/execution/health"),
        lambda d: d["paths"]["/api/dags"]["get"]["parameters"][0].update(required=True),
    ):
        changed = copy.deepcopy(document)
        change(changed)
        assert spec_freeze.wire_fingerprint(changed) != fingerprint


def test__check__unreleased_drift__asks_to_regenerate(tmp_path: Path) -> None:
    _copy_specs(tmp_path)
    (tmp_path / f"{V4}.json").write_text("{}")
    (tmp_path / "1999-01-01.json").write_text("{}")
    problems = spec_module.check(tmp_path)
    assert any("run `nox -s spec`" in p for p in problems)
    assert any("no such version" in p for p in problems)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize("version", [V1, V2, V3, V4])
def test__links__name_real_operations_parameters_and_body_fields(version: str) -> None:
    document = _load(version)
    by_id = {
        operation["operationId"]: (path_item, operation)
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    links = [
        (source["operationId"], name, link)
        for path_item in document["paths"].values()
        for source in path_item.values()
        if isinstance(source, dict)
        for response in source.get("responses", {}).values()
        for name, link in response.get("links", {}).items()
    ]
    assert {"run_task_instance", "heartbeat_task_instance"} <= {link["operationId"] for _, _, link in links}
    for source, name, link in links:
        assert link["operationId"] in by_id, f"{source}.{name} names an unknown operation"
        path_item, target = by_id[link["operationId"]]
        parameters = {p["name"] for p in [*path_item.get("parameters", []), *target.get("parameters", [])]}
        assert set(link["parameters"]) <= parameters, f"{source}.{name}: unknown parameters"
        if "requestBody" in link:
            body = target["requestBody"]["content"]["application/json"]["schema"]
            fields = set(_resolve(document, body)["properties"])
            assert set(link["requestBody"]) <= fields, f"{source}.{name}: unknown body fields"


# The clients retry every PATCH after a transport error or a 5xx (docs/codegen.md), so each must be
# harmless to repeat, and each has a test that repeats it: run (test__run__same_process_again__replays),
# state (test__state__success_then_same_again__idempotent), update_dag (test__pause__paused_dag_shown_paused).
IDEMPOTENT_PATCHES = {"run_task_instance", "update_task_instance_state", "update_dag"}


@pytest.mark.parametrize("version", [V1, V2, V3, V4])
def test__every_patch__is_one_known_to_be_idempotent(version: str) -> None:
    patches = {
        operation["operationId"]
        for path_item in _load(version)["paths"].values()
        for method, operation in path_item.items()
        if method == "patch"
    }
    assert patches == IDEMPOTENT_PATCHES, "a new PATCH must be idempotent, with a test that repeats it"


def test__v3_to_v4__differs_by_the_declared_changes_only() -> None:
    old, new = _without_version_marks(_load(V3)), _without_version_marks(_load(V4))
    # AddOperatorControls: six new admin operations; AddVariableGrants: one.
    added = {
        ("post", "/api/task-instances/{task_instance_id}/clear"),
        ("post", "/api/task-instances/{task_instance_id}/mark"),
        ("post", "/api/dags/{dag_id}/dag-runs/{run_id}/mark"),
        ("post", "/api/dags/{dag_id}/dag-runs/{run_id}/cancel"),
        ("delete", "/api/dags/{dag_id}"),
        ("get", "/api/audit-events"),
        ("put", "/api/variables/{key}/grants"),
        # AddPoolsAndDagConcurrencyLimits
        ("get", "/api/pools"),
        ("get", "/api/pools/{name}"),
        ("put", "/api/pools/{name}"),
        ("delete", "/api/pools/{name}"),
        # AddBackfills
        ("post", "/api/dags/{dag_id}/backfills"),
        ("get", "/api/dags/{dag_id}/backfills"),
        ("get", "/api/dags/{dag_id}/backfills/{backfill_id}"),
        # AddTaskTokenReissue
        ("post", "/workers/{worker_id}/task-tokens"),
    }
    assert _operations(new) == _operations(old) | added
    for method, path in added:
        new["paths"][path].pop(method)
        if not new["paths"][path]:
            new["paths"].pop(path)
    old_schemas, new_schemas = old["components"]["schemas"], new["components"]["schemas"]
    changed = _changed(old_schemas, new_schemas)
    # OpenTaskRuntimes: the enum becomes a pattern, which every model carrying a runtime refers to.
    assert old_schemas["TaskRuntime"]["enum"] == ["python", "go", "java"]
    assert new_schemas["TaskRuntime"]["pattern"] == "^[a-z][a-z0-9_-]{0,19}$"
    assert "enum" not in new_schemas["TaskRuntime"]
    # SplitRegisteredTaskAndScheduleFromRequests: two response models, every field required.
    assert {"RegisteredTask", "RegisteredSchedule"} <= new_schemas.keys() - old_schemas.keys()
    for name in ("RegisteredTask", "RegisteredSchedule"):
        assert set(new_schemas[name]["required"]) == set(new_schemas[name]["properties"])
    assert new_schemas["Dag"]["properties"]["tasks"]["items"] == {
        "$ref": "#/components/schemas/RegisteredTask"
    }
    # TypeStatesRunTypesAndLogLevelsAsEnums
    assert new_schemas["DagRunInfo"]["properties"]["state"] == {"$ref": "#/components/schemas/DagRunState"}
    assert new_schemas["DagRunInfo"]["properties"]["run_type"]["enum"] == ["manual", "scheduled"]
    assert new_schemas["LogRecordOut"]["properties"]["level"]["enum"][0] == "debug"
    # RenameExecutionTimeoutToExecutionTimeoutSeconds
    assert "execution_timeout" in old_schemas["TIRunContext"]["properties"]
    timeout = new_schemas["TIRunContext"]["properties"]["execution_timeout_seconds"]
    assert timeout["anyOf"][0] == {"type": "integer"}
    # RequireConnectionGrants: the same fields, allowed_dag_ids now required.
    assert new_schemas["ConnectionPutBody"]["properties"] == old_schemas["ConnectionPutBody"]["properties"]
    assert "allowed_dag_ids" not in old_schemas["ConnectionPutBody"]["required"]
    assert "allowed_dag_ids" in new_schemas["ConnectionPutBody"]["required"]
    # AddBatchIdToLogBatch, AddHeldTaskInstanceIdsToClaims: one new optional field each.
    for name, field in (("LogBatch", "batch_id"), ("ClaimWorkloadsPayload", "held_task_instance_ids")):
        added = new_schemas[name]["properties"][field]
        assert field not in new_schemas[name].get("required", [])
        assert {"type": "null"} in added["anyOf"]
        assert {k: v for k, v in new_schemas[name]["properties"].items() if k != field} == old_schemas[name][
            "properties"
        ]
    assert changed == {
        "LogBatch",
        "ClaimWorkloadsPayload",
        "TaskRuntime",
        "RegisteredTask",
        "RegisteredSchedule",
        "Dag",
        "DagSummary",
        "DagRunInfo",
        "VariableEntry",  # AddVariableGrants: read_dag_ids, write_dag_ids
        "VariableGrants",
        "ConnectionPutBody",  # RequireConnectionGrants: allowed_dag_ids required
        "TaskInstanceDetail",
        "LogRecordOut",
        "TIRunContext",
        # AddOperatorControls
        "AuditEvent",
        "AuditEventList",
        "ClearTaskInstancePayload",
        "ClearedTaskInstances",
        "DeletedDag",
        "MarkState",
        "MarkStatePayload",
        # AddPoolsAndDagConcurrencyLimits (with Dag and RegisteredTask above)
        "TaskDescription",
        "DagDescription",
        "Pool",
        "PoolList",
        "PoolPutBody",
        # AddBackfills (AddDagCatchup changes Dag and DagDescription, above)
        "Backfill",
        "BackfillCreate",
        "BackfillList",
        "BackfillState",
        "ReprocessBehavior",
        # AddTaskTokenReissue
        "TaskTokensPayload",
        "TaskTokens",
        "TaskToken",
        "RefusedTaskToken",
        "TokenRefusal",
    }
    old["components"].pop("schemas")
    new["components"].pop("schemas")
    # New error reasons, each in one status of one operation: AddSizeCapReasons (two size caps' 413s
    # name their own reason, where v3 says payload_too_large) and AddDagOwner. (AddVariableGrants'
    # 403 reasons are in v3 too, by the amendment DocumentVariableGrantRefusals: every version sends them.)
    for path, method, status, code in (
        ("/execution/variables/{key}", "put", "413", "variable_too_large"),
        ("/api/variables/{key}", "put", "413", "variable_too_large"),
        ("/execution/task-instances/{task_instance_id}/logs", "post", "413", "log_limit_exceeded"),
        ("/workers/dags", "post", "403", "dag_not_owned"),
        ("/execution/task-instances/{task_instance_id}/run", "patch", "401", "claim_revoked"),
    ):
        new_response = new["paths"][path][method]["responses"].pop(status)
        old_response = old["paths"][path][method]["responses"].pop(status, None)
        new_codes = new_response["content"]["application/json"]["schema"]["properties"]["reason"]["enum"]
        old_codes = (
            []
            if old_response is None
            else old_response["content"]["application/json"]["schema"]["properties"]["reason"]["enum"]
        )
        assert code in new_codes
        assert code not in old_codes
        assert set(new_codes) - set(old_codes) == {code}, (path, status)
    # AddEncryptionKeyNotHeldReason: a 503 reason beside database_unavailable (v3's one 503 code), in the
    # connection reads and every operation a task token calls (its signing key may be a rotated one).
    not_held: set[str] = set()
    for path, item in new["paths"].items():
        for method, operation in item.items():
            new_503 = operation["responses"]["503"]
            new_codes = new_503["content"]["application/json"]["schema"]["properties"]["reason"]["enum"]
            if "encryption_key_not_held" not in new_codes:
                continue
            not_held.add(operation["operationId"])
            old_503 = old["paths"][path][method]["responses"].pop("503")
            del operation["responses"]["503"]
            old_codes = old_503["content"]["application/json"]["schema"]["properties"]["reason"]["enum"]
            assert old_codes == ["database_unavailable"]
            assert new_codes == ["database_unavailable", "encryption_key_not_held"], (path, method)
            if {"TaskToken": []} not in operation.get("security", []):
                assert operation["operationId"] in {"admin_get_connection", "admin_list_connections"}
    assert {
        "get_connection",
        "admin_get_connection",
        "admin_list_connections",
        "heartbeat_task_instance",
    } <= (not_held)
    assert old == new
