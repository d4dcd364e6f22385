from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.task_instance_state import TaskInstanceState, check_task_instance_state

T = TypeVar("T", bound="TaskInstanceDetail")


@_attrs_define
class TaskInstanceDetail:
    """A task instance's state and its current attempt.

    Attributes:
        id (UUID):
        dag_id (str):
        run_id (str):
        task_id (str):
        map_index (int):
        dag_run_id (UUID):
        dag_version_id (UUID):
        state (None | TaskInstanceState):
        try_number (int):
        max_tries (int):
        queue (str):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        hostname (None | str):
        pid (int | None):
        start_date (datetime.datetime | None):
        end_date (datetime.datetime | None):
        last_heartbeat_at (datetime.datetime | None):
    """

    id: UUID
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    dag_run_id: UUID
    dag_version_id: UUID
    state: None | TaskInstanceState
    try_number: int
    max_tries: int
    queue: str
    runtime: str
    hostname: None | str
    pid: int | None
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None
    last_heartbeat_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        dag_id = self.dag_id

        run_id = self.run_id

        task_id = self.task_id

        map_index = self.map_index

        dag_run_id = str(self.dag_run_id)

        dag_version_id = str(self.dag_version_id)

        state: None | str
        if isinstance(self.state, str):
            state = self.state
        else:
            state = self.state

        try_number = self.try_number

        max_tries = self.max_tries

        queue = self.queue

        runtime = self.runtime

        hostname: None | str
        hostname = self.hostname

        pid: int | None
        pid = self.pid

        start_date: None | str
        if isinstance(self.start_date, datetime.datetime):
            start_date = self.start_date.isoformat()
        else:
            start_date = self.start_date

        end_date: None | str
        if isinstance(self.end_date, datetime.datetime):
            end_date = self.end_date.isoformat()
        else:
            end_date = self.end_date

        last_heartbeat_at: None | str
        if isinstance(self.last_heartbeat_at, datetime.datetime):
            last_heartbeat_at = self.last_heartbeat_at.isoformat()
        else:
            last_heartbeat_at = self.last_heartbeat_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "map_index": map_index,
                "dag_run_id": dag_run_id,
                "dag_version_id": dag_version_id,
                "state": state,
                "try_number": try_number,
                "max_tries": max_tries,
                "queue": queue,
                "runtime": runtime,
                "hostname": hostname,
                "pid": pid,
                "start_date": start_date,
                "end_date": end_date,
                "last_heartbeat_at": last_heartbeat_at,
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

        dag_run_id = UUID(d.pop("dag_run_id"))

        dag_version_id = UUID(d.pop("dag_version_id"))

        def _parse_state(data: object) -> None | TaskInstanceState:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_type_0 = check_task_instance_state(data)

                return state_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TaskInstanceState, data)

        state = _parse_state(d.pop("state"))

        try_number = d.pop("try_number")

        max_tries = d.pop("max_tries")

        queue = d.pop("queue")

        runtime = d.pop("runtime")

        def _parse_hostname(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        hostname = _parse_hostname(d.pop("hostname"))

        def _parse_pid(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        pid = _parse_pid(d.pop("pid"))

        def _parse_start_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_date_type_0 = datetime.datetime.fromisoformat(data)

                return start_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        start_date = _parse_start_date(d.pop("start_date"))

        def _parse_end_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_date_type_0 = datetime.datetime.fromisoformat(data)

                return end_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        end_date = _parse_end_date(d.pop("end_date"))

        def _parse_last_heartbeat_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_heartbeat_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_heartbeat_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_heartbeat_at = _parse_last_heartbeat_at(d.pop("last_heartbeat_at"))

        task_instance_detail = cls(
            id=id,
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            dag_run_id=dag_run_id,
            dag_version_id=dag_version_id,
            state=state,
            try_number=try_number,
            max_tries=max_tries,
            queue=queue,
            runtime=runtime,
            hostname=hostname,
            pid=pid,
            start_date=start_date,
            end_date=end_date,
            last_heartbeat_at=last_heartbeat_at,
        )

        task_instance_detail.additional_properties = d
        return task_instance_detail

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
