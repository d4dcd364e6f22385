from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="RegisteredDag")


@_attrs_define
class RegisteredDag:
    """The version a DAG's description is stored as; ``created_version`` says whether it is new.

    Attributes:
        dag_id (str):
        dag_version_id (UUID):
        version_number (int):
        created_version (bool):
    """

    dag_id: str
    dag_version_id: UUID
    version_number: int
    created_version: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dag_id = self.dag_id

        dag_version_id = str(self.dag_version_id)

        version_number = self.version_number

        created_version = self.created_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_id": dag_id,
                "dag_version_id": dag_version_id,
                "version_number": version_number,
                "created_version": created_version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        dag_id = d.pop("dag_id")

        dag_version_id = UUID(d.pop("dag_version_id"))

        version_number = d.pop("version_number")

        created_version = d.pop("created_version")

        registered_dag = cls(
            dag_id=dag_id,
            dag_version_id=dag_version_id,
            version_number=version_number,
            created_version=created_version,
        )

        registered_dag.additional_properties = d
        return registered_dag

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
