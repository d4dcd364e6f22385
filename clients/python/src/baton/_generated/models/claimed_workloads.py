from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.execute_task_workload import ExecuteTaskWorkload


T = TypeVar("T", bound="ClaimedWorkloads")


@_attrs_define
class ClaimedWorkloads:
    """The workloads handed to this worker; empty when none was ready within the wait.

    Attributes:
        workloads (list[ExecuteTaskWorkload]):
    """

    workloads: list[ExecuteTaskWorkload]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        workloads = []
        for workloads_item_data in self.workloads:
            workloads_item = workloads_item_data.to_dict()
            workloads.append(workloads_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "workloads": workloads,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.execute_task_workload import ExecuteTaskWorkload

        d = dict(src_dict)
        workloads = []
        _workloads = d.pop("workloads")
        for workloads_item_data in _workloads:
            workloads_item = ExecuteTaskWorkload.from_dict(workloads_item_data)

            workloads.append(workloads_item)

        claimed_workloads = cls(
            workloads=workloads,
        )

        claimed_workloads.additional_properties = d
        return claimed_workloads

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
