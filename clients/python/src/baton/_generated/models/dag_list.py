from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dag_summary import DagSummary


T = TypeVar("T", bound="DagList")


@_attrs_define
class DagList:
    """A page of DAGs, by id.

    Attributes:
        dags (list[DagSummary]):
        total (int):
    """

    dags: list[DagSummary]
    total: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dags = []
        for dags_item_data in self.dags:
            dags_item = dags_item_data.to_dict()
            dags.append(dags_item)

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dags": dags,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_summary import DagSummary

        d = dict(src_dict)
        dags = []
        _dags = d.pop("dags")
        for dags_item_data in _dags:
            dags_item = DagSummary.from_dict(dags_item_data)

            dags.append(dags_item)

        total = d.pop("total")

        dag_list = cls(
            dags=dags,
            total=total,
        )

        dag_list.additional_properties = d
        return dag_list

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
