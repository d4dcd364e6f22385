from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.ti_state_payload_state import (
    TIStatePayloadState,
    check_ti_state_payload_state,
)

T = TypeVar("T", bound="TIStatePayload")


@_attrs_define
class TIStatePayload:
    """Finish the attempt: a terminal or retry state and when it ended.

    Attributes:
        state (TIStatePayloadState):
        end_date (datetime.datetime):
    """

    state: TIStatePayloadState
    end_date: datetime.datetime

    def to_dict(self) -> dict[str, Any]:
        state: str = self.state

        end_date = self.end_date.isoformat()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "state": state,
                "end_date": end_date,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        state = check_ti_state_payload_state(d.pop("state"))

        end_date = datetime.datetime.fromisoformat(d.pop("end_date"))

        ti_state_payload = cls(
            state=state,
            end_date=end_date,
        )

        return ti_state_payload
