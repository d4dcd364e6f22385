from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.log_line_level import LogLineLevel, check_log_line_level
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.log_line_fields_type_0 import LogLineFieldsType0


T = TypeVar("T", bound="LogLine")


@_attrs_define
class LogLine:
    """One structured log line.

    Attributes:
        timestamp (datetime.datetime):
        level (LogLineLevel):
        message (str):
        fields (LogLineFieldsType0 | None | Unset):
    """

    timestamp: datetime.datetime
    level: LogLineLevel
    message: str
    fields: LogLineFieldsType0 | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.log_line_fields_type_0 import LogLineFieldsType0

        timestamp = self.timestamp.isoformat()

        level: str = self.level

        message = self.message

        fields: dict[str, Any] | None | Unset
        if isinstance(self.fields, Unset):
            fields = UNSET
        elif isinstance(self.fields, LogLineFieldsType0):
            fields = self.fields.to_dict()
        else:
            fields = self.fields

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "timestamp": timestamp,
                "level": level,
                "message": message,
            }
        )
        if fields is not UNSET:
            field_dict["fields"] = fields

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.log_line_fields_type_0 import LogLineFieldsType0

        d = dict(src_dict)
        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        level = check_log_line_level(d.pop("level"))

        message = d.pop("message")

        def _parse_fields(data: object) -> LogLineFieldsType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fields_type_0 = LogLineFieldsType0.from_dict(data)

                return fields_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LogLineFieldsType0 | None | Unset, data)

        fields = _parse_fields(d.pop("fields", UNSET))

        log_line = cls(
            timestamp=timestamp,
            level=level,
            message=message,
            fields=fields,
        )

        return log_line
