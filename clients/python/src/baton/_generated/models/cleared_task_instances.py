from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.task_instance_summary import TaskInstanceSummary


T = TypeVar("T", bound="ClearedTaskInstances")


@_attrs_define
class ClearedTaskInstances:
    """The task instances a clear sent back to the scheduler, waiting again (state null).

    Attributes:
        dag_id (str):
        run_id (str):
        task_instances (list[TaskInstanceSummary]):
    """

    dag_id: str
    run_id: str
    task_instances: list[TaskInstanceSummary]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dag_id = self.dag_id

        run_id = self.run_id

        task_instances = []
        for task_instances_item_data in self.task_instances:
            task_instances_item = task_instances_item_data.to_dict()
            task_instances.append(task_instances_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "task_instances": task_instances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_instance_summary import TaskInstanceSummary

        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        run_id = d.pop("run_id")

        task_instances = []
        _task_instances = d.pop("task_instances")
        for task_instances_item_data in _task_instances:
            task_instances_item = TaskInstanceSummary.from_dict(
                task_instances_item_data
            )

            task_instances.append(task_instances_item)

        cleared_task_instances = cls(
            dag_id=dag_id,
            run_id=run_id,
            task_instances=task_instances,
        )

        cleared_task_instances.additional_properties = d
        return cleared_task_instances

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
