from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.task_instance_state import TaskInstanceState, check_task_instance_state

T = TypeVar("T", bound="TaskInstanceSummary")


@_attrs_define
class TaskInstanceSummary:
    """A task instance of a run: where its current attempt stands.

    Attributes:
        id (UUID):
        task_id (str):
        map_index (int):
        state (None | TaskInstanceState): null: waiting for its upstream tasks.
        try_number (int): The current attempt (0 before the first is queued).
        max_tries (int): Attempts allowed in all: retries + 1.
        queue (str):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        hostname (None | str):
        worker_id (None | UUID):
        queued_at (datetime.datetime | None):
        start_date (datetime.datetime | None):
        end_date (datetime.datetime | None):
        duration_seconds (float | None):
        next_attempt_at (datetime.datetime | None): When an up_for_retry task instance is queued again.
    """

    id: UUID
    task_id: str
    map_index: int
    state: None | TaskInstanceState
    try_number: int
    max_tries: int
    queue: str
    runtime: str
    hostname: None | str
    worker_id: None | UUID
    queued_at: datetime.datetime | None
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None
    duration_seconds: float | None
    next_attempt_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        task_id = self.task_id

        map_index = self.map_index

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

        worker_id: None | str
        if isinstance(self.worker_id, UUID):
            worker_id = str(self.worker_id)
        else:
            worker_id = self.worker_id

        queued_at: None | str
        if isinstance(self.queued_at, datetime.datetime):
            queued_at = self.queued_at.isoformat()
        else:
            queued_at = self.queued_at

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

        duration_seconds: float | None
        duration_seconds = self.duration_seconds

        next_attempt_at: None | str
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "task_id": task_id,
                "map_index": map_index,
                "state": state,
                "try_number": try_number,
                "max_tries": max_tries,
                "queue": queue,
                "runtime": runtime,
                "hostname": hostname,
                "worker_id": worker_id,
                "queued_at": queued_at,
                "start_date": start_date,
                "end_date": end_date,
                "duration_seconds": duration_seconds,
                "next_attempt_at": next_attempt_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        task_id = d.pop("task_id")

        map_index = d.pop("map_index")

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

        def _parse_worker_id(data: object) -> None | UUID:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                worker_id_type_0 = UUID(data)

                return worker_id_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UUID, data)

        worker_id = _parse_worker_id(d.pop("worker_id"))

        def _parse_queued_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                queued_at_type_0 = datetime.datetime.fromisoformat(data)

                return queued_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        queued_at = _parse_queued_at(d.pop("queued_at"))

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

        def _parse_duration_seconds(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        duration_seconds = _parse_duration_seconds(d.pop("duration_seconds"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        task_instance_summary = cls(
            id=id,
            task_id=task_id,
            map_index=map_index,
            state=state,
            try_number=try_number,
            max_tries=max_tries,
            queue=queue,
            runtime=runtime,
            hostname=hostname,
            worker_id=worker_id,
            queued_at=queued_at,
            start_date=start_date,
            end_date=end_date,
            duration_seconds=duration_seconds,
            next_attempt_at=next_attempt_at,
        )

        task_instance_summary.additional_properties = d
        return task_instance_summary

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
