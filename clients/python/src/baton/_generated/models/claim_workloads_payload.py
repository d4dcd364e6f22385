from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ClaimWorkloadsPayload")


@_attrs_define
class ClaimWorkloadsPayload:
    """How many workloads a worker can take now, and how long it will wait for the first one.

    Attributes:
        max_workloads (int | Unset):  Default: 1.
        wait_seconds (float | Unset): Long-poll up to this long (capped by the server) when nothing is ready. Default:
            0.0.
        queues (list[str] | None | Unset): Claim only from these of the worker's queues; default: all of them.
    """

    max_workloads: int | Unset = 1
    wait_seconds: float | Unset = 0.0
    queues: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        max_workloads = self.max_workloads

        wait_seconds = self.wait_seconds

        queues: list[str] | None | Unset
        if isinstance(self.queues, Unset):
            queues = UNSET
        elif isinstance(self.queues, list):
            queues = self.queues

        else:
            queues = self.queues

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_workloads is not UNSET:
            field_dict["max_workloads"] = max_workloads
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds
        if queues is not UNSET:
            field_dict["queues"] = queues

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        max_workloads = d.pop("max_workloads", UNSET)

        wait_seconds = d.pop("wait_seconds", UNSET)

        def _parse_queues(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                queues_type_0 = cast(list[str], data)

                return queues_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        queues = _parse_queues(d.pop("queues", UNSET))

        claim_workloads_payload = cls(
            max_workloads=max_workloads,
            wait_seconds=wait_seconds,
            queues=queues,
        )

        return claim_workloads_payload
