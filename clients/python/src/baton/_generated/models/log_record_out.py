from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_record_out_level import LogRecordOutLevel, check_log_record_out_level

if TYPE_CHECKING:
    from ..models.log_record_out_fields_type_0 import LogRecordOutFieldsType0


T = TypeVar("T", bound="LogRecordOut")


@_attrs_define
class LogRecordOut:
    """One stored log line; ``id`` orders lines and pages.

    Attributes:
        id (int):
        timestamp (datetime.datetime):
        level (LogRecordOutLevel):
        message (str):
        fields (LogRecordOutFieldsType0 | None):
        late (bool): The line came after its attempt had ended (a timeout, lost heartbeats, a control, ...).
    """

    id: int
    timestamp: datetime.datetime
    level: LogRecordOutLevel
    message: str
    fields: LogRecordOutFieldsType0 | None
    late: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.log_record_out_fields_type_0 import LogRecordOutFieldsType0

        id = self.id

        timestamp = self.timestamp.isoformat()

        level: str = self.level

        message = self.message

        fields: dict[str, Any] | None
        if isinstance(self.fields, LogRecordOutFieldsType0):
            fields = self.fields.to_dict()
        else:
            fields = self.fields

        late = self.late

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "timestamp": timestamp,
                "level": level,
                "message": message,
                "fields": fields,
                "late": late,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.log_record_out_fields_type_0 import LogRecordOutFieldsType0

        d = dict(src_dict)
        id = d.pop("id")

        timestamp = datetime.datetime.fromisoformat(d.pop("timestamp"))

        level = check_log_record_out_level(d.pop("level"))

        message = d.pop("message")

        def _parse_fields(data: object) -> LogRecordOutFieldsType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fields_type_0 = LogRecordOutFieldsType0.from_dict(data)

                return fields_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LogRecordOutFieldsType0 | None, data)

        fields = _parse_fields(d.pop("fields"))

        late = d.pop("late")

        log_record_out = cls(
            id=id,
            timestamp=timestamp,
            level=level,
            message=message,
            fields=fields,
            late=late,
        )

        log_record_out.additional_properties = d
        return log_record_out

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
