from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="UpdateDagPayload")


@_attrs_define
class UpdateDagPayload:
    """The DAG settings an operator can change.

    Attributes:
        is_paused (bool): A paused DAG gets no scheduled runs; triggered runs still run.
    """

    is_paused: bool

    def to_dict(self) -> dict[str, Any]:
        is_paused = self.is_paused

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "is_paused": is_paused,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        is_paused = d.pop("is_paused")

        update_dag_payload = cls(
            is_paused=is_paused,
        )

        return update_dag_payload
