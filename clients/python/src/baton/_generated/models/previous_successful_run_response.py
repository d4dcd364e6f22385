from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.previous_successful_run import PreviousSuccessfulRun


T = TypeVar("T", bound="PreviousSuccessfulRunResponse")


@_attrs_define
class PreviousSuccessfulRunResponse:
    """The previous successful run of this task, or null when there is none.

    Attributes:
        previous (None | PreviousSuccessfulRun):
    """

    previous: None | PreviousSuccessfulRun
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.previous_successful_run import PreviousSuccessfulRun

        previous: dict[str, Any] | None
        if isinstance(self.previous, PreviousSuccessfulRun):
            previous = self.previous.to_dict()
        else:
            previous = self.previous

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "previous": previous,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.previous_successful_run import PreviousSuccessfulRun

        d = dict(src_dict)

        def _parse_previous(data: object) -> None | PreviousSuccessfulRun:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                previous_type_0 = PreviousSuccessfulRun.from_dict(data)

                return previous_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PreviousSuccessfulRun, data)

        previous = _parse_previous(d.pop("previous"))

        previous_successful_run_response = cls(
            previous=previous,
        )

        previous_successful_run_response.additional_properties = d
        return previous_successful_run_response

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
