from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dag_schedule import DagSchedule
    from ..models.task_description import TaskDescription


T = TypeVar("T", bound="DagDescription")


@_attrs_define
class DagDescription:
    """A DAG as its bundle describes it; the server never sees its code.

    Attributes:
        dag_id (str):
        tasks (list[TaskDescription]):
        description (None | str | Unset):
        schedule (DagSchedule | None | Unset):
        max_active_runs (int | None | Unset): At most this many runs of the DAG run at once; null: no limit.
        max_active_tasks (int | None | Unset): At most this many task instances of the DAG are claimed or running at
            once; null: none.
        catchup (bool | Unset): When the scheduler was behind (downtime, a pause, a start_at in the past), make one run
            per missed tick instead of one for the latest tick only. Default: False.
    """

    dag_id: str
    tasks: list[TaskDescription]
    description: None | str | Unset = UNSET
    schedule: DagSchedule | None | Unset = UNSET
    max_active_runs: int | None | Unset = UNSET
    max_active_tasks: int | None | Unset = UNSET
    catchup: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        from ..models.dag_schedule import DagSchedule

        dag_id = self.dag_id

        tasks = []
        for tasks_item_data in self.tasks:
            tasks_item = tasks_item_data.to_dict()
            tasks.append(tasks_item)

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        schedule: dict[str, Any] | None | Unset
        if isinstance(self.schedule, Unset):
            schedule = UNSET
        elif isinstance(self.schedule, DagSchedule):
            schedule = self.schedule.to_dict()
        else:
            schedule = self.schedule

        max_active_runs: int | None | Unset
        if isinstance(self.max_active_runs, Unset):
            max_active_runs = UNSET
        else:
            max_active_runs = self.max_active_runs

        max_active_tasks: int | None | Unset
        if isinstance(self.max_active_tasks, Unset):
            max_active_tasks = UNSET
        else:
            max_active_tasks = self.max_active_tasks

        catchup = self.catchup

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "dag_id": dag_id,
                "tasks": tasks,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description
        if schedule is not UNSET:
            field_dict["schedule"] = schedule
        if max_active_runs is not UNSET:
            field_dict["max_active_runs"] = max_active_runs
        if max_active_tasks is not UNSET:
            field_dict["max_active_tasks"] = max_active_tasks
        if catchup is not UNSET:
            field_dict["catchup"] = catchup

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_schedule import DagSchedule
        from ..models.task_description import TaskDescription

        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        tasks = []
        _tasks = d.pop("tasks")
        for tasks_item_data in _tasks:
            tasks_item = TaskDescription.from_dict(tasks_item_data)

            tasks.append(tasks_item)

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_schedule(data: object) -> DagSchedule | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                schedule_type_0 = DagSchedule.from_dict(data)

                return schedule_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(DagSchedule | None | Unset, data)

        schedule = _parse_schedule(d.pop("schedule", UNSET))

        def _parse_max_active_runs(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_active_runs = _parse_max_active_runs(d.pop("max_active_runs", UNSET))

        def _parse_max_active_tasks(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        max_active_tasks = _parse_max_active_tasks(d.pop("max_active_tasks", UNSET))

        catchup = d.pop("catchup", UNSET)

        dag_description = cls(
            dag_id=dag_id,
            tasks=tasks,
            description=description,
            schedule=schedule,
            max_active_runs=max_active_runs,
            max_active_tasks=max_active_tasks,
            catchup=catchup,
        )

        return dag_description
