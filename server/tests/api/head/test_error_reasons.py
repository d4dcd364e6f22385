"""Every error reason the server can send is catalogued, and every version's document lists exactly those.

The catalogue (``baton_server/api/reasons.py``) is the one source; these tests walk the code's
reason literals against it, and it against the committed documents. Every error response the other
suites provoke is checked against it too (``tests/reasons_check.py``).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import baton_server
import pytest
from baton_server import errors
from baton_server.api import reasons
from baton_server.api.versions import supported_versions

PACKAGE = Path(baton_server.__file__).parent
SPEC_DIR = Path(__file__).resolve().parents[4] / "spec"
_CALLS_WITH_REASON_ARGUMENT = {"_json_error", "_error_response"}  # (status, reason, message, ...)


def _literal_reasons() -> list[tuple[str, int | None, str]]:
    """(code, status implied by the call or None, where) of every reason literal in the server's code."""
    statuses = {
        name: cls.status_code
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.DomainError)
    }
    found: list[tuple[str, int | None, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "code" and isinstance(node.value, ast.Name):
                constant = getattr(reasons, node.value.id, None)  # CONSTANT.code: a catalogued reason sent
                if isinstance(constant, reasons.Reason):
                    found.append((constant.code, None, f"{path.relative_to(PACKAGE)}:{node.lineno}"))
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            for keyword in node.keywords:
                if keyword.arg == "reason" and isinstance(keyword.value, ast.Constant):
                    found.append((str(keyword.value.value), statuses.get(name), where))
            if name in _CALLS_WITH_REASON_ARGUMENT and len(node.args) >= 2:
                status, reason = node.args[0], node.args[1]
                if isinstance(reason, ast.Constant):
                    code = status.value if isinstance(status, ast.Constant) else None
                    found.append((str(reason.value), code if isinstance(code, int) else None, where))
    return found


def test__walker__finds_the_reasons_of_services_routes_and_middleware() -> None:
    codes = {code for code, _, _ in _literal_reasons()}
    assert {"variable_not_found", "token_missing", "client_version_too_new", "payload_too_large"} <= codes


def test__every_reason_in_the_code__catalogued_with_its_status() -> None:
    problems = []
    for code, status, where in _literal_reasons():
        reason = reasons.CATALOGUE.get(code)
        if reason is None:
            problems.append(f"{where}: reason {code!r} is not in api/reasons.py")
        elif status is not None and reason.status != status:
            problems.append(f"{where}: {code!r} is sent with {status}, catalogued with {reason.status}")
    assert problems == []


def test__every_catalogued_reason__sent_somewhere_and_used_by_the_code() -> None:
    used_by_operations = {
        r.code
        for own in reasons.BY_OPERATION.values()
        for r in (*own, *reasons.EVERY_OPERATION, *reasons.WITH_INPUT, *reasons.WITH_BODY)
    } | {r.code for group in reasons.BY_CREDENTIAL.values() for r in group}
    elsewhere = {r.code for r in (*reasons.ROUTELESS, *reasons.INTERNAL)}
    assert set(reasons.CATALOGUE) == used_by_operations | elsewhere
    in_code = {code for code, _, _ in _literal_reasons()}
    assert set(reasons.CATALOGUE) - in_code == set(), "catalogued reasons no code sends"


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document["paths"].values() for op in item.values() if "operationId" in op]


@pytest.mark.parametrize("version", supported_versions())
def test__every_operation__documents_exactly_its_catalogued_reasons(version: str) -> None:
    document = json.loads((SPEC_DIR / f"{version}.json").read_text())
    for operation in _operations(document):
        op_id = operation["operationId"]
        assert op_id in reasons.BY_OPERATION, f"{op_id}: add it to BY_OPERATION in api/reasons.py"
        documented = {
            int(status): response["content"]["application/json"]["schema"]["properties"]["reason"]["enum"]
            for status, response in operation["responses"].items()
            if int(status) >= 400
        }
        credentials = [name for requirement in operation.get("security", []) for name in requirement]
        has_body = "requestBody" in operation
        has_input = has_body or any(p["name"] != "Baton-API-Version" for p in operation.get("parameters", []))
        expected = reasons.reasons_of(
            op_id, credentials=credentials, has_input=has_input, has_body=has_body, version=version
        )
        assert documented == {status: [r.code for r in group] for status, group in expected.items()}, op_id
        for status, codes in documented.items():
            for code in codes:
                assert reasons.CATALOGUE[code].status == status
                assert f"`{code}`" in operation["responses"][str(status)]["description"]


def test__a_newer_reason__older_versions_document_and_get_the_code_it_replaced() -> None:
    newer = [r for r in reasons.CATALOGUE.values() if r.since is not None]
    assert newer, "no reason names the version that introduced it"
    for reason in newer:
        assert reason.since in supported_versions()
        before = max(v for v in supported_versions() if v < str(reason.since))
        # Without an older code, older versions send this one too (an older deployment never meets it).
        assert reasons.in_version(reason, before) == (reason.instead or reason)
        assert reasons.in_version(reason, reason.since) == reason
        assert reasons.in_version(reason, None) == reason


def test__catalogue__no_operation_listed_that_no_version_has() -> None:
    latest = json.loads((SPEC_DIR / f"{supported_versions()[-1]}.json").read_text())
    assert set(reasons.BY_OPERATION) == {op["operationId"] for op in _operations(latest)}
