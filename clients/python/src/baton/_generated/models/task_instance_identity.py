from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TaskInstanceIdentity")


@_attrs_define
class TaskInstanceIdentity:
    """Which task instance and attempt this is.

    Attributes:
        id (UUID):
        dag_id (str):
        run_id (str):
        task_id (str):
        map_index (int):
        try_number (int):
    """

    id: UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        dag_id = self.dag_id

        run_id = self.run_id

        task_id = self.task_id

        map_index = self.map_index

        try_number = self.try_number

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "map_index": map_index,
                "try_number": try_number,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        dag_id = d.pop("dag_id")

        run_id = d.pop("run_id")

        task_id = d.pop("task_id")

        map_index = d.pop("map_index")

        try_number = d.pop("try_number")

        task_instance_identity = cls(
            id=id,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            try_number=try_number,
        )

        task_instance_identity.additional_properties = d
        return task_instance_identity

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
