from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Pool")


@_attrs_define
class Pool:
    """A named pool with its slots and what its claimed or running task instances take of them.

    Attributes:
        name (str):
        slots (int | None): null: no limit.
        used_slots (int): Slots taken now by claimed or running task instances.
        description (None | str):
        updated_at (datetime.datetime):
    """

    name: str
    slots: int | None
    used_slots: int
    description: None | str
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        slots: int | None
        slots = self.slots

        used_slots = self.used_slots

        description: None | str
        description = self.description

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "slots": slots,
                "used_slots": used_slots,
                "description": description,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        def _parse_slots(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        slots = _parse_slots(d.pop("slots"))

        used_slots = d.pop("used_slots")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        pool = cls(
            name=name,
            slots=slots,
            used_slots=used_slots,
            description=description,
            updated_at=updated_at,
        )

        pool.additional_properties = d
        return pool

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
