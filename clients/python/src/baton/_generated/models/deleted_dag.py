from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DeletedDag")


@_attrs_define
class DeletedDag:
    """What deleting a DAG removed: row counts by kind.

    Attributes:
        dag_id (str):
        dag_runs (int):
        task_instances (int):
        task_logs (int):
        xcoms (int):
        dag_versions (int):
    """

    dag_id: str
    dag_runs: int
    task_instances: int
    task_logs: int
    xcoms: int
    dag_versions: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dag_id = self.dag_id

        dag_runs = self.dag_runs

        task_instances = self.task_instances

        task_logs = self.task_logs

        xcoms = self.xcoms

        dag_versions = self.dag_versions

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_id": dag_id,
                "dag_runs": dag_runs,
                "task_instances": task_instances,
                "task_logs": task_logs,
                "xcoms": xcoms,
                "dag_versions": dag_versions,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        dag_runs = d.pop("dag_runs")

        task_instances = d.pop("task_instances")

        task_logs = d.pop("task_logs")

        xcoms = d.pop("xcoms")

        dag_versions = d.pop("dag_versions")

        deleted_dag = cls(
            dag_id=dag_id,
            dag_runs=dag_runs,
            task_instances=task_instances,
            task_logs=task_logs,
            xcoms=xcoms,
            dag_versions=dag_versions,
        )

        deleted_dag.additional_properties = d
        return deleted_dag

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
