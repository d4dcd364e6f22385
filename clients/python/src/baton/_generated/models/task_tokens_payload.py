from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

T = TypeVar("T", bound="TaskTokensPayload")


@_attrs_define
class TaskTokensPayload:
    """The task instances whose running attempts the worker wants fresh execution tokens for.

    Attributes:
        task_instance_ids (list[UUID]):
    """

    task_instance_ids: list[UUID]

    def to_dict(self) -> dict[str, Any]:
        task_instance_ids = []
        for task_instance_ids_item_data in self.task_instance_ids:
            task_instance_ids_item = str(task_instance_ids_item_data)
            task_instance_ids.append(task_instance_ids_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "task_instance_ids": task_instance_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_instance_ids = []
        _task_instance_ids = d.pop("task_instance_ids")
        for task_instance_ids_item_data in _task_instance_ids:
            task_instance_ids_item = UUID(task_instance_ids_item_data)

            task_instance_ids.append(task_instance_ids_item)

        task_tokens_payload = cls(
            task_instance_ids=task_instance_ids,
        )

        return task_tokens_payload
