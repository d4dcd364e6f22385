from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="XComResponse")


@_attrs_define
class XComResponse:
    """An XCom's address and JSON value.

    Attributes:
        dag_id (str):
        run_id (str):
        task_id (str):
        map_index (int):
        key (str):
        value (Any):
    """

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    value: Any
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dag_id = self.dag_id

        run_id = self.run_id

        task_id = self.task_id

        map_index = self.map_index

        key = self.key

        value = self.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "map_index": map_index,
                "key": key,
                "value": value,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        run_id = d.pop("run_id")

        task_id = d.pop("task_id")

        map_index = d.pop("map_index")

        key = d.pop("key")

        value = d.pop("value")

        x_com_response = cls(
            dag_id=dag_id,
            run_id=run_id,
            task_id=task_id,
            map_index=map_index,
            key=key,
            value=value,
        )

        x_com_response.additional_properties = d
        return x_com_response

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
