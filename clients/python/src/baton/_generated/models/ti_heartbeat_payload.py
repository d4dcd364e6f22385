from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TIHeartbeatPayload")


@_attrs_define
class TIHeartbeatPayload:
    """A running attempt says it is alive.

    Attributes:
        hostname (str):
        pid (int):
    """

    hostname: str
    pid: int

    def to_dict(self) -> dict[str, Any]:
        hostname = self.hostname

        pid = self.pid

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hostname": hostname,
                "pid": pid,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        hostname = d.pop("hostname")

        pid = d.pop("pid")

        ti_heartbeat_payload = cls(
            hostname=hostname,
            pid=pid,
        )

        return ti_heartbeat_payload
