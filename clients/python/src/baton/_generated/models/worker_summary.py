from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.worker_state import WorkerState, check_worker_state

T = TypeVar("T", bound="WorkerSummary")


@_attrs_define
class WorkerSummary:
    """A worker with the task instances it holds (claimed or running).

    Attributes:
        id (UUID):
        name (str):
        queues (list[str]):
        capacity (int):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        hostname (None | str):
        state (WorkerState): Whether a worker has been heard from within the heartbeat timeout.
        registered_at (datetime.datetime):
        last_heartbeat_at (datetime.datetime):
        active_task_instances (int):
    """

    id: UUID
    name: str
    queues: list[str]
    capacity: int
    runtime: str
    hostname: None | str
    state: WorkerState
    registered_at: datetime.datetime
    last_heartbeat_at: datetime.datetime
    active_task_instances: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        name = self.name

        queues = self.queues

        capacity = self.capacity

        runtime = self.runtime

        hostname: None | str
        hostname = self.hostname

        state: str = self.state

        registered_at = self.registered_at.isoformat()

        last_heartbeat_at = self.last_heartbeat_at.isoformat()

        active_task_instances = self.active_task_instances

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "queues": queues,
                "capacity": capacity,
                "runtime": runtime,
                "hostname": hostname,
                "state": state,
                "registered_at": registered_at,
                "last_heartbeat_at": last_heartbeat_at,
                "active_task_instances": active_task_instances,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        name = d.pop("name")

        queues = cast(list[str], d.pop("queues"))

        capacity = d.pop("capacity")

        runtime = d.pop("runtime")

        def _parse_hostname(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        hostname = _parse_hostname(d.pop("hostname"))

        state = check_worker_state(d.pop("state"))

        registered_at = datetime.datetime.fromisoformat(d.pop("registered_at"))

        last_heartbeat_at = datetime.datetime.fromisoformat(d.pop("last_heartbeat_at"))

        active_task_instances = d.pop("active_task_instances")

        worker_summary = cls(
            id=id,
            name=name,
            queues=queues,
            capacity=capacity,
            runtime=runtime,
            hostname=hostname,
            state=state,
            registered_at=registered_at,
            last_heartbeat_at=last_heartbeat_at,
            active_task_instances=active_task_instances,
        )

        worker_summary.additional_properties = d
        return worker_summary

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
