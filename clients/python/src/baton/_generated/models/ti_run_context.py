from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dag_run_info import DagRunInfo
    from ..models.task_instance_identity import TaskInstanceIdentity


T = TypeVar("T", bound="TIRunContext")


@_attrs_define
class TIRunContext:
    """Everything a task needs to run without another round trip.

    Attributes:
        task_instance (TaskInstanceIdentity): Which task instance and attempt this is.
        max_tries (int): Total attempts allowed (retries + 1).
        dag_version_id (UUID):
        dag_run (DagRunInfo): The facts of the DAG run a task instance belongs to.
        entry_point (None | str): What the worker runs for this task, from the DAG's description.
        execution_timeout_seconds (int | None): Seconds the attempt may run; null for no limit.
    """

    task_instance: TaskInstanceIdentity
    max_tries: int
    dag_version_id: UUID
    dag_run: DagRunInfo
    entry_point: None | str
    execution_timeout_seconds: int | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_instance = self.task_instance.to_dict()

        max_tries = self.max_tries

        dag_version_id = str(self.dag_version_id)

        dag_run = self.dag_run.to_dict()

        entry_point: None | str
        entry_point = self.entry_point

        execution_timeout_seconds: int | None
        execution_timeout_seconds = self.execution_timeout_seconds

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_instance": task_instance,
                "max_tries": max_tries,
                "dag_version_id": dag_version_id,
                "dag_run": dag_run,
                "entry_point": entry_point,
                "execution_timeout_seconds": execution_timeout_seconds,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_run_info import DagRunInfo
        from ..models.task_instance_identity import TaskInstanceIdentity

        d = dict(src_dict)
        task_instance = TaskInstanceIdentity.from_dict(d.pop("task_instance"))

        max_tries = d.pop("max_tries")

        dag_version_id = UUID(d.pop("dag_version_id"))

        dag_run = DagRunInfo.from_dict(d.pop("dag_run"))

        def _parse_entry_point(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        entry_point = _parse_entry_point(d.pop("entry_point"))

        def _parse_execution_timeout_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        execution_timeout_seconds = _parse_execution_timeout_seconds(
            d.pop("execution_timeout_seconds")
        )

        ti_run_context = cls(
            task_instance=task_instance,
            max_tries=max_tries,
            dag_version_id=dag_version_id,
            dag_run=dag_run,
            entry_point=entry_point,
            execution_timeout_seconds=execution_timeout_seconds,
        )

        ti_run_context.additional_properties = d
        return ti_run_context

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
