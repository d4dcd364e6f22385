from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.task_instance_identity import TaskInstanceIdentity


T = TypeVar("T", bound="ExecuteTaskWorkload")


@_attrs_define
class ExecuteTaskWorkload:
    """One attempt of a task instance for a worker to start, with the token that starts it.

    Attributes:
        task_instance (TaskInstanceIdentity): Which task instance and attempt this is.
        max_tries (int):
        dag_version_id (UUID):
        bundle_name (None | str):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        entry_point (str):
        queue (str):
        execution_timeout_seconds (int | None):
        token (str): Workload token: good only for starting this attempt (`run`).
    """

    task_instance: TaskInstanceIdentity
    max_tries: int
    dag_version_id: UUID
    bundle_name: None | str
    runtime: str
    entry_point: str
    queue: str
    execution_timeout_seconds: int | None
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_instance = self.task_instance.to_dict()

        max_tries = self.max_tries

        dag_version_id = str(self.dag_version_id)

        bundle_name: None | str
        bundle_name = self.bundle_name

        runtime = self.runtime

        entry_point = self.entry_point

        queue = self.queue

        execution_timeout_seconds: int | None
        execution_timeout_seconds = self.execution_timeout_seconds

        token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_instance": task_instance,
                "max_tries": max_tries,
                "dag_version_id": dag_version_id,
                "bundle_name": bundle_name,
                "runtime": runtime,
                "entry_point": entry_point,
                "queue": queue,
                "execution_timeout_seconds": execution_timeout_seconds,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_instance_identity import TaskInstanceIdentity

        d = dict(src_dict)
        task_instance = TaskInstanceIdentity.from_dict(d.pop("task_instance"))

        max_tries = d.pop("max_tries")

        dag_version_id = UUID(d.pop("dag_version_id"))

        def _parse_bundle_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        bundle_name = _parse_bundle_name(d.pop("bundle_name"))

        runtime = d.pop("runtime")

        entry_point = d.pop("entry_point")

        queue = d.pop("queue")

        def _parse_execution_timeout_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        execution_timeout_seconds = _parse_execution_timeout_seconds(
            d.pop("execution_timeout_seconds")
        )

        token = d.pop("token")

        execute_task_workload = cls(
            task_instance=task_instance,
            max_tries=max_tries,
            dag_version_id=dag_version_id,
            bundle_name=bundle_name,
            runtime=runtime,
            entry_point=entry_point,
            queue=queue,
            execution_timeout_seconds=execution_timeout_seconds,
            token=token,
        )

        execute_task_workload.additional_properties = d
        return execute_task_workload

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
