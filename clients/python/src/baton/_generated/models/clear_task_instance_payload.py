from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ClearTaskInstancePayload")


@_attrs_define
class ClearTaskInstancePayload:
    """What to clear besides the task instance itself.

    Attributes:
        include_downstream (bool | Unset): Also clear every task that waits, directly or not, for this one. Default:
            False.
    """

    include_downstream: bool | Unset = False

    def to_dict(self) -> dict[str, Any]:
        include_downstream = self.include_downstream

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if include_downstream is not UNSET:
            field_dict["include_downstream"] = include_downstream

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        include_downstream = d.pop("include_downstream", UNSET)

        clear_task_instance_payload = cls(
            include_downstream=include_downstream,
        )

        return clear_task_instance_payload
