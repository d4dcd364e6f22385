from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.task_state_counts_counts import TaskStateCountsCounts


T = TypeVar("T", bound="TaskStateCounts")


@_attrs_define
class TaskStateCounts:
    """How many task instances of this DAG run are in each state (states with none are left out).

    Attributes:
        counts (TaskStateCountsCounts):
        total (int):
    """

    counts: TaskStateCountsCounts
    total: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts.to_dict()

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "counts": counts,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_state_counts_counts import TaskStateCountsCounts

        d = dict(src_dict)
        counts = TaskStateCountsCounts.from_dict(d.pop("counts"))

        total = d.pop("total")

        task_state_counts = cls(
            counts=counts,
            total=total,
        )

        task_state_counts.additional_properties = d
        return task_state_counts

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
