from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RegisterWorkerPayload")


@_attrs_define
class RegisterWorkerPayload:
    """What a worker says about itself when it starts.

    Attributes:
        name (str):
        queues (list[str]):
        capacity (int): Task instances it runs at once.
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        hostname (None | str | Unset):
    """

    name: str
    queues: list[str]
    capacity: int
    runtime: str
    hostname: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        queues = self.queues

        capacity = self.capacity

        runtime = self.runtime

        hostname: None | str | Unset
        if isinstance(self.hostname, Unset):
            hostname = UNSET
        else:
            hostname = self.hostname

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "queues": queues,
                "capacity": capacity,
                "runtime": runtime,
            }
        )
        if hostname is not UNSET:
            field_dict["hostname"] = hostname

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        queues = cast(list[str], d.pop("queues"))

        capacity = d.pop("capacity")

        runtime = d.pop("runtime")

        def _parse_hostname(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        hostname = _parse_hostname(d.pop("hostname", UNSET))

        register_worker_payload = cls(
            name=name,
            queues=queues,
            capacity=capacity,
            runtime=runtime,
            hostname=hostname,
        )

        return register_worker_payload
