"""Building blocks shared by the wire models: strict scalars and validated identifiers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StrictInt,
    StrictStr,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$"
"""Variable keys, connection ids, DAG, task, run ids and XCom keys: 1 to 250 of letters, digits, _ . -."""


class IntegralNumber:
    """Annotation (last, after the constraints): a float with no fractional part is taken as that int.

    ``Annotated[StrictInt, Field(ge=0), IntegralNumber]`` accepts 5 and 5.0, and refuses "5", true
    and 5.5: an integer as JSON Schema defines it. Before the constraints, it would hide them from
    the documented schema.

    JSON has one number type: 5.0 is the integer 5 to JSON Schema ("type": "integer"), and to
    clients that keep every number as a double. Strings and booleans stay refused.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(_integral_number, handler(source))


def _integral_number(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


MAX_DB_INT = 2**63 - 1
"""The widest integer the database stores (BIGINT, SQLite INTEGER): the bound of open-ended numbers."""


class _TextOnly:
    """Annotation: the JSON value must be a string (Python values of the field's own type pass too)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(_text_only, handler(source))


def _text_only(value: object) -> object:
    if isinstance(value, int | float):
        raise ValueError("must be an RFC 3339 string, not a number")
    return value


def _convertible_to_utc(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range: it has no UTC time between years 1 and 9999") from None
    return value


StrictAwareDatetime = Annotated[AwareDatetime, _TextOnly, AfterValidator(_convertible_to_utc)]
"""A request's timestamp: an RFC 3339 string with its zone, that has a UTC time (years 1 to 9999). Lax
pydantic also takes a number (seconds since 1970), which the documented schema (``format: date-time``)
does not allow; ``9999-12-31T23:59:59-14:00`` is a valid RFC 3339 string past the last UTC time."""

RUN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}$"
"""Run ids may also hold ``:`` (a client's ISO time); generated ones do not: ``manual__20261105T100000Z``."""

RUNTIME_PATTERN = r"^[a-z][a-z0-9_-]{0,19}$"
"""A runtime name: a lowercase letter, then up to 19 lowercase letters, digits, ``_`` or ``-``."""

KNOWN_RUNTIMES = ("python", "go", "java")
"""The runtimes of Baton's own SDKs; any other name matching RUNTIME_PATTERN is as good."""


class NamedSchema:
    """Annotation: document a constrained scalar once, as the component ``name``, and refer to it.

    Pydantic names only models and enums; a scalar type that several models share (a runtime
    name) would otherwise be repeated inline in each, and generated clients would get no type
    for it.
    """

    def __init__(self, name: str, description: str, examples: tuple[str, ...] = ()) -> None:
        self.name = name
        self.description = description
        self.examples = examples

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = handler(source)
        return {**schema, "ref": self.name}

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        reference = handler(schema)
        target = handler.resolve_ref_schema(reference)
        target["title"] = self.name
        target["description"] = self.description
        if self.examples:
            target["examples"] = list(self.examples)
        return reference

    def __hash__(self) -> int:
        return hash((self.name, self.description, self.examples))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedSchema) and (other.name, other.description, other.examples) == (
            self.name,
            self.description,
            self.examples,
        )


TaskRuntime = Annotated[
    StrictStr,
    Field(pattern=RUNTIME_PATTERN, max_length=20),
    NamedSchema(
        "TaskRuntime",
        "The runtime (language) a task runs in and a worker serves: an open identifier, "
        f"`{RUNTIME_PATTERN}`. A worker claims only tasks of its own runtime. Baton's SDKs use "
        + ", ".join(f"`{name}`" for name in KNOWN_RUNTIMES)
        + "; a worker in another language registers under a name of its own.",
        KNOWN_RUNTIMES,
    ),
]
"""A runtime name, as every model that carries one documents it (HEAD; older versions had an enum)."""

Identifier = Annotated[StrictStr, Field(pattern=ID_PATTERN, min_length=1, max_length=250)]
Hostname = Annotated[StrictStr, Field(min_length=1, max_length=1000)]
Pid = Annotated[StrictInt, Field(ge=0, le=2**31 - 1), IntegralNumber]
MapIndex = Annotated[StrictInt, Field(ge=-1, le=2**31 - 1), IntegralNumber]


class RequestModel(BaseModel):
    """A request body: unknown fields are rejected; scalar fields use strict types, so "5" is no integer."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(from_attributes=True)
