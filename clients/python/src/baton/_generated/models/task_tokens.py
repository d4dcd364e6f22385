from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.refused_task_token import RefusedTaskToken
    from ..models.task_token import TaskToken


T = TypeVar("T", bound="TaskTokens")


@_attrs_define
class TaskTokens:
    """Fresh execution tokens, and the task instances that got none.

    Attributes:
        tokens (list[TaskToken]):
        refused (list[RefusedTaskToken]):
    """

    tokens: list[TaskToken]
    refused: list[RefusedTaskToken]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        tokens = []
        for tokens_item_data in self.tokens:
            tokens_item = tokens_item_data.to_dict()
            tokens.append(tokens_item)

        refused = []
        for refused_item_data in self.refused:
            refused_item = refused_item_data.to_dict()
            refused.append(refused_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "tokens": tokens,
                "refused": refused,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.refused_task_token import RefusedTaskToken
        from ..models.task_token import TaskToken

        d = dict(src_dict)
        tokens = []
        _tokens = d.pop("tokens")
        for tokens_item_data in _tokens:
            tokens_item = TaskToken.from_dict(tokens_item_data)

            tokens.append(tokens_item)

        refused = []
        _refused = d.pop("refused")
        for refused_item_data in _refused:
            refused_item = RefusedTaskToken.from_dict(refused_item_data)

            refused.append(refused_item)

        task_tokens = cls(
            tokens=tokens,
            refused=refused,
        )

        task_tokens.additional_properties = d
        return task_tokens

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
