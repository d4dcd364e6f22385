from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VariableGrants")


@_attrs_define
class VariableGrants:
    """Which DAGs' tasks may read and write a variable; null grants it to every DAG.

    Attributes:
        read_dag_ids (list[str] | None | Unset): The DAGs whose tasks may read it; null: every DAG (a global variable).
        write_dag_ids (list[str] | None | Unset): The DAGs whose tasks may write or delete it; null: every DAG.
    """

    read_dag_ids: list[str] | None | Unset = UNSET
    write_dag_ids: list[str] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        read_dag_ids: list[str] | None | Unset
        if isinstance(self.read_dag_ids, Unset):
            read_dag_ids = UNSET
        elif isinstance(self.read_dag_ids, list):
            read_dag_ids = self.read_dag_ids

        else:
            read_dag_ids = self.read_dag_ids

        write_dag_ids: list[str] | None | Unset
        if isinstance(self.write_dag_ids, Unset):
            write_dag_ids = UNSET
        elif isinstance(self.write_dag_ids, list):
            write_dag_ids = self.write_dag_ids

        else:
            write_dag_ids = self.write_dag_ids

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if read_dag_ids is not UNSET:
            field_dict["read_dag_ids"] = read_dag_ids
        if write_dag_ids is not UNSET:
            field_dict["write_dag_ids"] = write_dag_ids

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_read_dag_ids(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                read_dag_ids_type_0 = cast(list[str], data)

                return read_dag_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        read_dag_ids = _parse_read_dag_ids(d.pop("read_dag_ids", UNSET))

        def _parse_write_dag_ids(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                write_dag_ids_type_0 = cast(list[str], data)

                return write_dag_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        write_dag_ids = _parse_write_dag_ids(d.pop("write_dag_ids", UNSET))

        variable_grants = cls(
            read_dag_ids=read_dag_ids,
            write_dag_ids=write_dag_ids,
        )

        return variable_grants
