from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="VariableEntry")


@_attrs_define
class VariableEntry:
    """A variable as operators see it.

    Attributes:
        key (str):
        value (Any):
        description (None | str):
        read_dag_ids (list[str] | None): The DAGs whose tasks may read it; null: every DAG (a global variable).
        write_dag_ids (list[str] | None): The DAGs whose tasks may write or delete it; null: every DAG.
        updated_at (datetime.datetime):
    """

    key: str
    value: Any
    description: None | str
    read_dag_ids: list[str] | None
    write_dag_ids: list[str] | None
    updated_at: datetime.datetime
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        key = self.key

        value = self.value

        description: None | str
        description = self.description

        read_dag_ids: list[str] | None
        if isinstance(self.read_dag_ids, list):
            read_dag_ids = self.read_dag_ids

        else:
            read_dag_ids = self.read_dag_ids

        write_dag_ids: list[str] | None
        if isinstance(self.write_dag_ids, list):
            write_dag_ids = self.write_dag_ids

        else:
            write_dag_ids = self.write_dag_ids

        updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "key": key,
                "value": value,
                "description": description,
                "read_dag_ids": read_dag_ids,
                "write_dag_ids": write_dag_ids,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        key = d.pop("key")

        value = d.pop("value")

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        def _parse_read_dag_ids(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                read_dag_ids_type_0 = cast(list[str], data)

                return read_dag_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        read_dag_ids = _parse_read_dag_ids(d.pop("read_dag_ids"))

        def _parse_write_dag_ids(data: object) -> list[str] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                write_dag_ids_type_0 = cast(list[str], data)

                return write_dag_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None, data)

        write_dag_ids = _parse_write_dag_ids(d.pop("write_dag_ids"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        variable_entry = cls(
            key=key,
            value=value,
            description=description,
            read_dag_ids=read_dag_ids,
            write_dag_ids=write_dag_ids,
            updated_at=updated_at,
        )

        variable_entry.additional_properties = d
        return variable_entry

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
