from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

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
        held_task_instance_ids (list[UUID] | None | Unset): The task instances whose workloads the worker holds now
            (claimed and not yet reported). A workload the server assigned to this worker but which is not listed (its
            claim's answer was lost) goes back to the queue before this claim is served, so it need not wait out the claim
            timeout. Omitted: nothing is released.
    """

    max_workloads: int | Unset = 1
    wait_seconds: float | Unset = 0.0
    queues: list[str] | None | Unset = UNSET
    held_task_instance_ids: list[UUID] | None | Unset = UNSET

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

        held_task_instance_ids: list[str] | None | Unset
        if isinstance(self.held_task_instance_ids, Unset):
            held_task_instance_ids = UNSET
        elif isinstance(self.held_task_instance_ids, list):
            held_task_instance_ids = []
            for held_task_instance_ids_type_0_item_data in self.held_task_instance_ids:
                held_task_instance_ids_type_0_item = str(
                    held_task_instance_ids_type_0_item_data
                )
                held_task_instance_ids.append(held_task_instance_ids_type_0_item)

        else:
            held_task_instance_ids = self.held_task_instance_ids

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if max_workloads is not UNSET:
            field_dict["max_workloads"] = max_workloads
        if wait_seconds is not UNSET:
            field_dict["wait_seconds"] = wait_seconds
        if queues is not UNSET:
            field_dict["queues"] = queues
        if held_task_instance_ids is not UNSET:
            field_dict["held_task_instance_ids"] = held_task_instance_ids

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

        def _parse_held_task_instance_ids(data: object) -> list[UUID] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                held_task_instance_ids_type_0 = []
                _held_task_instance_ids_type_0 = data
                for (
                    held_task_instance_ids_type_0_item_data
                ) in _held_task_instance_ids_type_0:
                    held_task_instance_ids_type_0_item = UUID(
                        held_task_instance_ids_type_0_item_data
                    )

                    held_task_instance_ids_type_0.append(
                        held_task_instance_ids_type_0_item
                    )

                return held_task_instance_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[UUID] | None | Unset, data)

        held_task_instance_ids = _parse_held_task_instance_ids(
            d.pop("held_task_instance_ids", UNSET)
        )

        claim_workloads_payload = cls(
            max_workloads=max_workloads,
            wait_seconds=wait_seconds,
            queues=queues,
            held_task_instance_ids=held_task_instance_ids,
        )

        return claim_workloads_payload
