from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.registered_dag import RegisteredDag


T = TypeVar("T", bound="RegisteredDags")


@_attrs_define
class RegisteredDags:
    """The outcome of a registration, one entry per DAG in the order sent.

    Attributes:
        dags (list[RegisteredDag]):
    """

    dags: list[RegisteredDag]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dags = []
        for dags_item_data in self.dags:
            dags_item = dags_item_data.to_dict()
            dags.append(dags_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dags": dags,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.registered_dag import RegisteredDag

        d = dict(src_dict)
        dags = []
        _dags = d.pop("dags")
        for dags_item_data in _dags:
            dags_item = RegisteredDag.from_dict(dags_item_data)

            dags.append(dags_item)

        registered_dags = cls(
            dags=dags,
        )

        registered_dags.additional_properties = d
        return registered_dags

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
