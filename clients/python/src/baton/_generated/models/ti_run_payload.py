from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="TIRunPayload")


@_attrs_define
class TIRunPayload:
    """Start an attempt: where and as whom the task runs, and when it started.

    Attributes:
        hostname (str):
        pid (int):
        unix_user (str):
        start_date (datetime.datetime):
    """

    hostname: str
    pid: int
    unix_user: str
    start_date: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        hostname = self.hostname

        pid = self.pid

        unix_user = self.unix_user

        start_date = self.start_date.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "hostname": hostname,
                "pid": pid,
                "unix_user": unix_user,
                "start_date": start_date,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        hostname = d.pop("hostname")

        pid = d.pop("pid")

        unix_user = d.pop("unix_user")

        start_date = datetime.datetime.fromisoformat(d.pop("start_date"))

        ti_run_payload = cls(
            hostname=hostname,
            pid=pid,
            unix_user=unix_user,
            start_date=start_date,
        )

        return ti_run_payload
