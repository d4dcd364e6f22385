from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.ti_state_response_state import (
    TIStateResponseState,
    check_ti_state_response_state,
)

T = TypeVar("T", bound="TIStateResponse")


@_attrs_define
class TIStateResponse:
    """The state the task instance is in after the call.

    Attributes:
        state (TIStateResponseState):
        try_number (int):
    """

    state: TIStateResponseState
    try_number: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        state: str = self.state

        try_number = self.try_number

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "state": state,
                "try_number": try_number,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        state = check_ti_state_response_state(d.pop("state"))

        try_number = d.pop("try_number")

        ti_state_response = cls(
            state=state,
            try_number=try_number,
        )

        ti_state_response.additional_properties = d
        return ti_state_response

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
