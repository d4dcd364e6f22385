"""Building blocks shared by the wire models: strict scalars and validated identifiers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    StrictInt,
    StrictStr,
)
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


StrictAwareDatetime = Annotated[AwareDatetime, _TextOnly]
"""A request's timestamp: an RFC 3339 string with its zone. Lax pydantic also takes a number (seconds since
1970), which the documented schema (``format: date-time``) does not allow."""

RUN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}$"
"""Run ids may also hold ``:`` (a client's ISO time); generated ones do not: ``manual__20261105T100000Z``."""

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
