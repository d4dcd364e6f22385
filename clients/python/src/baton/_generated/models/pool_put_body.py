from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PoolPutBody")


@_attrs_define
class PoolPutBody:
    """A pool to create or replace: its slots (null: no limit) and a description.

    Attributes:
        slots (int | None): The slots its claimed or running task instances may take together; null: no limit.
        description (None | str | Unset):
    """

    slots: int | None
    description: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        slots: int | None
        slots = self.slots

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "slots": slots,
            }
        )
        if description is not UNSET:
            field_dict["description"] = description

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_slots(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        slots = _parse_slots(d.pop("slots"))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        pool_put_body = cls(
            slots=slots,
            description=description,
        )

        return pool_put_body
