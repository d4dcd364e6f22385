from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.mark_state import MarkState, check_mark_state

T = TypeVar("T", bound="MarkStatePayload")


@_attrs_define
class MarkStatePayload:
    """The state to set by hand.

    Attributes:
        state (MarkState): The states an operator may mark a task instance or a DAG run with.
    """

    state: MarkState

    def to_dict(self) -> dict[str, Any]:
        state: str = self.state

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "state": state,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        state = check_mark_state(d.pop("state"))

        mark_state_payload = cls(
            state=state,
        )

        return mark_state_payload
