"""Golden-file tests of the per-generator rewrites, and of every real API version's rewritten document.

To accept a deliberate change of output: ``BATON_UPDATE_GOLDEN=1 pytest codegen/tests``, then
review the diff of ``codegen/tests/golden/`` like any other code change.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from baton_codegen import downgrade_to_30, drop_version_header, for_go, for_java, for_python, load_documents
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("BATON_UPDATE_GOLDEN") == "1"

# Keywords of 3.1 / JSON Schema 2020-12 that a 3.0 document must not contain anywhere.
_ONLY_IN_31 = {"const", "examples", "prefixItems", "$schema", "contentMediaType", "contentEncoding"}


def _load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GOLDEN / name).read_text())
    return loaded


def _assert_golden(actual: dict[str, Any], name: str) -> None:
    path = GOLDEN / name
    rendered = json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if UPDATE:
        path.write_text(rendered)
    assert path.exists(), f"{path} missing: run with BATON_UPDATE_GOLDEN=1 and review it"
    assert rendered == path.read_text(), f"{name} differs; if intended, BATON_UPDATE_GOLDEN=1 and review"


def _schemas_walk(node: Any, path: str = "$") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _schemas_walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schemas_walk(value, f"{path}[{index}]")
    return found


def _leftover_31(document: dict[str, Any]) -> list[str]:
    leftovers = []
    for path, node in _schemas_walk(document.get("components", {}), "$.components"):
        if not isinstance(node, dict):
            continue
        for key in _ONLY_IN_31 & node.keys():
            # `examples` is a name → Example map on parameters and media types in 3.0 as well.
            if key == "examples" and isinstance(node[key], dict):
                continue
            leftovers.append(f"{path}.{key}")
        if isinstance(node.get("type"), list) or node.get("type") == "null":
            leftovers.append(f"{path}.type")
    return leftovers


@pytest.mark.parametrize(
    ("normalizer", "golden"),
    [
        (for_python, "constructs.python.json"),
        (for_go, "constructs.go.json"),
        (for_java, "constructs.java.json"),
    ],
)
def test__normalizer__constructs__matches_golden(normalizer: Any, golden: str) -> None:
    _assert_golden(normalizer(_load("constructs.input.json")), golden)


def test__downgrade__constructs__is_valid_openapi_30() -> None:
    document = for_go(_load("constructs.input.json"))
    assert document["openapi"] == "3.0.3"
    validate(document)
    assert _leftover_31(document) == []


def test__raw_31_constructs__rejected_by_30_validator() -> None:
    # Guards the test above: the validator must reject the un-downgraded input when read as 3.0.
    raw = drop_version_header(_load("constructs.input.json"))
    raw["openapi"] = "3.0.3"
    with pytest.raises(OpenAPIValidationError):
        validate(raw)


def test__drop_version_header__any_case_any_level__removed_other_parameters_kept() -> None:
    document = drop_version_header(_load("constructs.input.json"))
    item = document["paths"]["/things/{thing_id}"]
    assert [p["name"] for p in item["parameters"]] == ["thing_id"]
    assert [p["name"] for p in item["patch"]["parameters"]] == ["limit"]
    assert "parameters" not in document["paths"]["/health"]["get"]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"anyOf": [{"type": "string"}, {"type": "null"}]}, {"type": "string", "nullable": True}),
        (
            {"anyOf": [{"$ref": "#/components/schemas/S"}, {"type": "null"}]},
            {"allOf": [{"$ref": "#/components/schemas/S"}], "nullable": True},
        ),
        ({"type": ["integer", "null"]}, {"type": "integer", "nullable": True}),
        ({"type": "string", "const": "ok"}, {"type": "string", "enum": ["ok"]}),
        ({"type": "string", "examples": ["a", "b"]}, {"type": "string", "example": "a"}),
        (
            {"type": "integer", "exclusiveMinimum": 0},
            {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
        ),
        (
            {"$ref": "#/components/schemas/S", "description": "d"},
            {"allOf": [{"$ref": "#/components/schemas/S"}], "description": "d"},
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
        ),
    ],
)
def test__downgrade__one_schema__rewritten(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    document["components"] = {"schemas": {"S": {"type": "string"}, "X": schema}}
    assert downgrade_to_30(document)["components"]["schemas"]["X"] == expected


def test__normalizers__leave_their_input_untouched() -> None:
    document = _load("constructs.input.json")
    before = copy.deepcopy(document)
    for normalizer in (for_python, for_go, for_java):
        normalizer(document)
    assert document == before


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return load_documents()


def test__every_version__go_and_java_input__valid_openapi_30_without_31_keywords(
    documents: dict[str, dict[str, Any]],
) -> None:
    assert documents, "the server has no API versions"
    for version, document in documents.items():
        for normalizer in (for_go, for_java):
            rewritten = normalizer(document)
            validate(rewritten)
            assert _leftover_31(rewritten) == [], version


def test__every_version__every_generator_input__has_no_version_header(
    documents: dict[str, dict[str, Any]],
) -> None:
    for version, document in documents.items():
        for normalizer in (for_python, for_go, for_java):
            text = json.dumps(normalizer(document)["paths"]).lower()
            assert '"baton-api-version"' not in text, version
