from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.registered_schedule import RegisteredSchedule
    from ..models.registered_task import RegisteredTask


T = TypeVar("T", bound="Dag")


@_attrs_define
class Dag:
    """A DAG with the tasks of its latest version.

    Attributes:
        dag_id (str):
        description (None | str):
        schedule (None | RegisteredSchedule):
        is_paused (bool):
        next_run_at (datetime.datetime | None): When the next scheduled run is due, if scheduled.
        latest_version_id (UUID):
        latest_version_number (int):
        bundle_name (None | str):
        owner (None | str): The name of the worker credential that registered the latest version (null: registered
            before DAGs had owners).
        task_count (int):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        tasks (list[RegisteredTask]):
        max_active_runs (int | None): At most this many runs at once; null: no limit.
        max_active_tasks (int | None): At most this many task instances claimed or running at once; null: no limit.
        catchup (bool): Whether missed ticks of the schedule each get a run.
    """

    dag_id: str
    description: None | str
    schedule: None | RegisteredSchedule
    is_paused: bool
    next_run_at: datetime.datetime | None
    latest_version_id: UUID
    latest_version_number: int
    bundle_name: None | str
    owner: None | str
    task_count: int
    created_at: datetime.datetime
    updated_at: datetime.datetime
    tasks: list[RegisteredTask]
    max_active_runs: int | None
    max_active_tasks: int | None
    catchup: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.registered_schedule import RegisteredSchedule

        dag_id = self.dag_id

        description: None | str
        description = self.description

        schedule: dict[str, Any] | None
        if isinstance(self.schedule, RegisteredSchedule):
            schedule = self.schedule.to_dict()
        else:
            schedule = self.schedule

        is_paused = self.is_paused

        next_run_at: None | str
        if isinstance(self.next_run_at, datetime.datetime):
            next_run_at = self.next_run_at.isoformat()
        else:
            next_run_at = self.next_run_at

        latest_version_id = str(self.latest_version_id)

        latest_version_number = self.latest_version_number

        bundle_name: None | str
        bundle_name = self.bundle_name

        owner: None | str
        owner = self.owner

        task_count = self.task_count

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        tasks = []
        for tasks_item_data in self.tasks:
            tasks_item = tasks_item_data.to_dict()
            tasks.append(tasks_item)

        max_active_runs: int | None
        max_active_runs = self.max_active_runs

        max_active_tasks: int | None
        max_active_tasks = self.max_active_tasks

        catchup = self.catchup

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_id": dag_id,
                "description": description,
                "schedule": schedule,
                "is_paused": is_paused,
                "next_run_at": next_run_at,
                "latest_version_id": latest_version_id,
                "latest_version_number": latest_version_number,
                "bundle_name": bundle_name,
                "owner": owner,
                "task_count": task_count,
                "created_at": created_at,
                "updated_at": updated_at,
                "tasks": tasks,
                "max_active_runs": max_active_runs,
                "max_active_tasks": max_active_tasks,
                "catchup": catchup,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.registered_schedule import RegisteredSchedule
        from ..models.registered_task import RegisteredTask

        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        def _parse_schedule(data: object) -> None | RegisteredSchedule:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schedule_type_0 = RegisteredSchedule.from_dict(data)

                return schedule_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | RegisteredSchedule, data)

        schedule = _parse_schedule(d.pop("schedule"))

        is_paused = d.pop("is_paused")

        def _parse_next_run_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_run_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_run_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_run_at = _parse_next_run_at(d.pop("next_run_at"))

        latest_version_id = UUID(d.pop("latest_version_id"))

        latest_version_number = d.pop("latest_version_number")

        def _parse_bundle_name(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        bundle_name = _parse_bundle_name(d.pop("bundle_name"))

        def _parse_owner(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        owner = _parse_owner(d.pop("owner"))

        task_count = d.pop("task_count")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        tasks = []
        _tasks = d.pop("tasks")
        for tasks_item_data in _tasks:
            tasks_item = RegisteredTask.from_dict(tasks_item_data)

            tasks.append(tasks_item)

        def _parse_max_active_runs(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_active_runs = _parse_max_active_runs(d.pop("max_active_runs"))

        def _parse_max_active_tasks(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        max_active_tasks = _parse_max_active_tasks(d.pop("max_active_tasks"))

        catchup = d.pop("catchup")

        dag = cls(
            dag_id=dag_id,
            description=description,
            schedule=schedule,
            is_paused=is_paused,
            next_run_at=next_run_at,
            latest_version_id=latest_version_id,
            latest_version_number=latest_version_number,
            bundle_name=bundle_name,
            owner=owner,
            task_count=task_count,
            created_at=created_at,
            updated_at=updated_at,
            tasks=tasks,
            max_active_runs=max_active_runs,
            max_active_tasks=max_active_tasks,
            catchup=catchup,
        )

        dag.additional_properties = d
        return dag

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
