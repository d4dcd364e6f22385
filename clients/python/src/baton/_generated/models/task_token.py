from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TaskToken")


@_attrs_define
class TaskToken:
    """A fresh execution token for the running attempt of a task instance that the worker holds.

    Attributes:
        task_instance_id (UUID):
        try_number (int): The attempt the token is for; use it only for that attempt.
        token (str): Execution token, as `run` hands out in `Refreshed-API-Token`.
    """

    task_instance_id: UUID
    try_number: int
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_instance_id = str(self.task_instance_id)

        try_number = self.try_number

        token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_instance_id": task_instance_id,
                "try_number": try_number,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_instance_id = UUID(d.pop("task_instance_id"))

        try_number = d.pop("try_number")

        token = d.pop("token")

        task_token = cls(
            task_instance_id=task_instance_id,
            try_number=try_number,
            token=token,
        )

        task_token.additional_properties = d
        return task_token

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
