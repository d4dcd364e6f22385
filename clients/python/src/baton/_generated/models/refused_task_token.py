from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.token_refusal import TokenRefusal, check_token_refusal

T = TypeVar("T", bound="RefusedTaskToken")


@_attrs_define
class RefusedTaskToken:
    """A task instance the worker got no token for, and why.

    Attributes:
        task_instance_id (UUID):
        reason (TokenRefusal): Why a worker got no fresh execution token for a task instance it asked one for.
    """

    task_instance_id: UUID
    reason: TokenRefusal
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_instance_id = str(self.task_instance_id)

        reason: str = self.reason

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_instance_id": task_instance_id,
                "reason": reason,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_instance_id = UUID(d.pop("task_instance_id"))

        reason = check_token_refusal(d.pop("reason"))

        refused_task_token = cls(
            task_instance_id=task_instance_id,
            reason=reason,
        )

        refused_task_token.additional_properties = d
        return refused_task_token

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
