"""Per-generator rewrites of an API version's OpenAPI 3.1 document.

Every generator gets the document without the ``Baton-API-Version`` header parameter (each
client sends its pinned version itself, so no generated method should ask for it), and with
each error response's body as the plain ``ErrorBody``: the document enumerates the ``reason``
codes of every operation and status, which a generator would turn into one type per operation
and status, where the clients need one error type. Response headers are dropped as well: the
hand-written layers read them (the token swap, the request id), no generated method does. oapi-codegen
and openapi-generator additionally get the document downgraded to OpenAPI 3.0.3, the dialect
both handle completely; openapi-python-client and datamodel-code-generator read 3.1 as is.

openapi-generator also gets it without response links, which its validator mishandles.

The functions are pure: they return a new document and never touch their input.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

VERSION_HEADER = "Baton-API-Version"
OPENAPI_30 = "3.0.3"

Document = dict[str, Any]
Schema = dict[str, Any]

# Keywords whose value is one schema / a list of schemas / a name → schema map.
_SCHEMA_KEYS = ("items", "not", "additionalProperties", "contains", "propertyNames", "if", "then", "else")
_SCHEMA_LIST_KEYS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAP_KEYS = ("properties", "patternProperties", "dependentSchemas", "$defs")

# JSON Schema 2020-12 keywords that OpenAPI 3.0's schema object does not have and that carry no
# meaning a 3.0 generator could use.
_DROPPED_IN_30 = (
    "$schema",
    "$id",
    "$anchor",
    "$comment",
    "$defs",
    "contentMediaType",
    "contentEncoding",
    "contentSchema",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "patternProperties",
    "propertyNames",
    "contains",
    "minContains",
    "maxContains",
    "if",
    "then",
    "else",
)

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def drop_version_header(document: Document) -> Document:
    """The document without the ``Baton-API-Version`` header parameter on any path or operation."""
    result = copy.deepcopy(document)
    for path_item in result.get("paths", {}).values():
        _drop_header_params(path_item)
        for method in _HTTP_METHODS:
            if method in path_item:
                _drop_header_params(path_item[method])
    return result


def _drop_header_params(holder: dict[str, Any]) -> None:
    params = holder.get("parameters")
    if params is None:
        return
    kept = [p for p in params if not _is_version_header(p)]
    if kept:
        holder["parameters"] = kept
    else:
        del holder["parameters"]


def _is_version_header(parameter: dict[str, Any]) -> bool:
    name = str(parameter.get("name", ""))
    return parameter.get("in") == "header" and name.lower() == VERSION_HEADER.lower()


def _operation_responses(document: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    """(status, response) of every operation of the document."""
    for path_item in document.get("paths", {}).values():
        for method in _HTTP_METHODS:
            yield from path_item.get(method, {}).get("responses", {}).items()


def plain_error_bodies(document: Document) -> Document:
    """Each error response's body (``allOf: [ErrorBody]`` and a reason enum) as the plain ``ErrorBody``."""
    result = copy.deepcopy(document)
    for status, response in _operation_responses(result):
        if not str(status).startswith(("4", "5")):
            continue
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            members = schema.get("allOf", [])
            if len(members) == 1 and "$ref" in members[0] and set(schema) <= {"allOf", "properties"}:
                media["schema"] = dict(members[0])
    return result


def drop_response_headers(document: Document) -> Document:
    """The document without response headers (the version, the request id, a refreshed token)."""
    result = copy.deepcopy(document)
    for _, response in _operation_responses(result):
        response.pop("headers", None)
    result.get("components", {}).pop("headers", None)
    return result


def _lean(document: Document) -> Document:
    return drop_response_headers(plain_error_bodies(drop_version_header(document)))


def downgrade_to_30(document: Document) -> Document:
    """The document rewritten as OpenAPI 3.0.3: nullable types, ``enum`` for ``const``, one ``example``."""
    result = copy.deepcopy(document)
    result["openapi"] = OPENAPI_30
    for key in ("webhooks", "jsonSchemaDialect"):
        result.pop(key, None)
    info = result.get("info", {})
    info.pop("summary", None)
    if isinstance(info.get("license"), dict):
        info["license"].pop("identifier", None)
    components = result.get("components", {})
    components.pop("pathItems", None)
    _visit_schemas(result, _schema_to_30)
    return result


def _visit_schemas(document: Document, rewrite: Callable[[Schema], Schema]) -> None:
    """Apply ``rewrite`` to every top-level schema position of the document (it recurses itself)."""
    components = document.get("components", {})
    schemas = components.get("schemas", {})
    for name in list(schemas):
        schemas[name] = rewrite(schemas[name])
    for parameter in components.get("parameters", {}).values():
        _rewrite_parameter(parameter, rewrite)
    for header in components.get("headers", {}).values():
        _rewrite_parameter(header, rewrite)
    for body in components.get("requestBodies", {}).values():
        _rewrite_content(body, rewrite)
    for response in components.get("responses", {}).values():
        _rewrite_response(response, rewrite)
    for path_item in document.get("paths", {}).values():
        for parameter in path_item.get("parameters", []):
            _rewrite_parameter(parameter, rewrite)
        for method in _HTTP_METHODS:
            operation = path_item.get(method)
            if operation is None:
                continue
            for parameter in operation.get("parameters", []):
                _rewrite_parameter(parameter, rewrite)
            if "requestBody" in operation:
                _rewrite_content(operation["requestBody"], rewrite)
            for response in operation.get("responses", {}).values():
                _rewrite_response(response, rewrite)


def _rewrite_parameter(parameter: dict[str, Any], rewrite: Callable[[Schema], Schema]) -> None:
    if "schema" in parameter:
        parameter["schema"] = rewrite(parameter["schema"])
    _rewrite_content(parameter, rewrite)


def _rewrite_content(holder: dict[str, Any], rewrite: Callable[[Schema], Schema]) -> None:
    for media in holder.get("content", {}).values():
        if "schema" in media:
            media["schema"] = rewrite(media["schema"])


def _rewrite_response(response: dict[str, Any], rewrite: Callable[[Schema], Schema]) -> None:
    _rewrite_content(response, rewrite)
    for header in response.get("headers", {}).values():
        _rewrite_parameter(header, rewrite)


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(schema) == 1


def _schema_to_30(schema: Any) -> Any:
    """One schema (and everything below it) in OpenAPI 3.0's dialect."""
    if not isinstance(schema, dict):
        return schema  # `true` / `false` schemas, and non-schemas such as `additionalProperties: true`
    # Null members go first, while they are still `{"type": "null"}`: below they would be rewritten.
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            schema = _nullable_combinator_to_30(dict(schema), combinator)
    out: Schema = {}
    for key, value in schema.items():
        if key in _SCHEMA_KEYS:
            out[key] = _schema_to_30(value)
        elif key in _SCHEMA_LIST_KEYS:
            out[key] = [_schema_to_30(v) for v in value]
        elif key in _SCHEMA_MAP_KEYS:
            out[key] = {name: _schema_to_30(v) for name, v in value.items()}
        else:
            out[key] = value
    for key in _DROPPED_IN_30:
        out.pop(key, None)

    if "const" in out:
        out["enum"] = [out.pop("const")]
    if "examples" in out:
        examples = out.pop("examples")
        if isinstance(examples, list) and examples and "example" not in out:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    if "prefixItems" in out:
        prefix = out.pop("prefixItems")
        members = _dedupe(prefix)
        out.setdefault("minItems", len(prefix))
        if out.get("items") is False or "items" not in out:
            out.pop("items", None)
            out.setdefault("maxItems", len(prefix))
            out["items"] = members[0] if len(members) == 1 else {"anyOf": members}

    out = _type_list_to_30(out)
    return _ref_with_siblings_to_30(out)


def _dedupe(schemas: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for schema in schemas:
        if schema not in seen:
            seen.append(schema)
    return seen


def _type_list_to_30(schema: Schema) -> Schema:
    """``type: [X, "null"]`` → ``type: X, nullable: true``; several types → ``anyOf`` of each."""
    kind = schema.get("type")
    if kind == "null":
        del schema["type"]
        schema["nullable"] = True
        schema.setdefault("enum", [None])
        return schema
    if not isinstance(kind, list):
        return schema
    types = [t for t in kind if t != "null"]
    if len(types) < len(kind):
        schema["nullable"] = True
    if len(types) == 1:
        schema["type"] = types[0]
        return schema
    del schema["type"]
    if types:
        schema["anyOf"] = [{"type": t} for t in types]
    return schema


def _nullable_combinator_to_30(schema: Schema, combinator: str) -> Schema:
    """``anyOf: [X, {type: null}]`` → X with ``nullable: true`` (wrapped in ``allOf`` when X is a $ref)."""
    members = schema[combinator]
    rest = [m for m in members if not _is_null_schema(m)]
    if len(rest) == len(members):
        return schema
    del schema[combinator]
    schema["nullable"] = True
    if len(rest) > 1:
        schema[combinator] = rest
        return schema
    if not rest:
        schema.setdefault("enum", [None])
        return schema
    (only,) = rest
    if "$ref" in only:
        # A $ref's siblings are ignored in 3.0: `nullable` must sit next to an allOf holding the ref.
        schema["allOf"] = [*schema.get("allOf", []), only]
        return schema
    merged = {**only, **{k: v for k, v in schema.items() if k != "nullable"}}
    merged["nullable"] = True
    return merged


def _ref_with_siblings_to_30(schema: Schema) -> Schema:
    """A ``$ref`` with sibling keywords (allowed in 3.1, ignored in 3.0) becomes ``allOf: [$ref]``."""
    if "$ref" not in schema or len(schema) == 1:
        return schema
    ref = {"$ref": schema.pop("$ref")}
    schema["allOf"] = [ref, *schema.get("allOf", [])]
    return schema


def for_python(document: Document) -> Document:
    """The document openapi-python-client and datamodel-code-generator read: lean, still 3.1."""
    return _lean(document)


def for_go(document: Document) -> Document:
    """The document oapi-codegen reads: lean (see the module docstring), OpenAPI 3.0.3."""
    return downgrade_to_30(_lean(document))


def drop_links(document: Document) -> Document:
    """The document without response ``links`` (no generated code uses them)."""
    result = copy.deepcopy(document)
    for _, response in _operation_responses(result):
        response.pop("links", None)
    for response in result.get("components", {}).get("responses", {}).values():
        response.pop("links", None)
    return result


def for_java(document: Document) -> Document:
    """The document openapi-generator reads: lean, OpenAPI 3.0.3, no links.

    Its validator refuses a link whose ``requestBody`` is an object of runtime expressions, which
    OpenAPI allows and the API uses (a heartbeat takes the host and pid its ``run`` call sent).
    """
    return drop_links(downgrade_to_30(_lean(document)))


NORMALIZERS: dict[str, Callable[[Document], Document]] = {
    "python": for_python,
    "go": for_go,
    "java": for_java,
}
"""Generator family → the rewrite its input gets."""
