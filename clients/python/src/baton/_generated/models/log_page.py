from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.log_record_out import LogRecordOut


T = TypeVar("T", bound="LogPage")


@_attrs_define
class LogPage:
    """A page of one attempt's log lines; pass ``next_after`` as ``after`` for the next page.

    Attributes:
        task_instance_id (UUID):
        try_number (int):
        lines (list[LogRecordOut]):
        next_after (int | None):
    """

    task_instance_id: UUID
    try_number: int
    lines: list[LogRecordOut]
    next_after: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_instance_id = str(self.task_instance_id)

        try_number = self.try_number

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        next_after: int | None
        next_after = self.next_after

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_instance_id": task_instance_id,
                "try_number": try_number,
                "lines": lines,
                "next_after": next_after,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.log_record_out import LogRecordOut

        d = dict(src_dict)
        task_instance_id = UUID(d.pop("task_instance_id"))

        try_number = d.pop("try_number")

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = LogRecordOut.from_dict(lines_item_data)

            lines.append(lines_item)

        def _parse_next_after(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        next_after = _parse_next_after(d.pop("next_after"))

        log_page = cls(
            task_instance_id=task_instance_id,
            try_number=try_number,
            lines=lines,
            next_after=next_after,
        )

        log_page.additional_properties = d
        return log_page

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
