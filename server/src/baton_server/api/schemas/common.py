"""Building blocks shared by the wire models: strict scalars and validated identifiers."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,249}$"
"""Variable keys, connection ids, DAG, task, run ids and XCom keys: 1 to 250 of letters, digits, _ . -."""

RUN_ID_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,249}$"
"""Run ids may also hold ``:``, as the generated ones do (``manual__2026-11-05T10:00:00Z``)."""

Identifier = Annotated[StrictStr, Field(pattern=ID_PATTERN, min_length=1, max_length=250)]
Hostname = Annotated[StrictStr, Field(min_length=1, max_length=1000)]
Pid = Annotated[StrictInt, Field(ge=0, le=2**31 - 1)]
MapIndex = Annotated[StrictInt, Field(ge=-1, le=2**31 - 1)]


class RequestModel(BaseModel):
    """A request body: unknown fields are rejected; scalar fields use strict types, so "5" is no integer."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """A response body."""

    model_config = ConfigDict(from_attributes=True)
