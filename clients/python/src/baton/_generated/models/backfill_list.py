from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.backfill import Backfill


T = TypeVar("T", bound="BackfillList")


@_attrs_define
class BackfillList:
    """A DAG's backfills, newest first (at most 100).

    Attributes:
        backfills (list[Backfill]):
    """

    backfills: list[Backfill]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        backfills = []
        for backfills_item_data in self.backfills:
            backfills_item = backfills_item_data.to_dict()
            backfills.append(backfills_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "backfills": backfills,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.backfill import Backfill

        d = dict(src_dict)
        backfills = []
        _backfills = d.pop("backfills")
        for backfills_item_data in _backfills:
            backfills_item = Backfill.from_dict(backfills_item_data)

            backfills.append(backfills_item)

        backfill_list = cls(
            backfills=backfills,
        )

        backfill_list.additional_properties = d
        return backfill_list

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
