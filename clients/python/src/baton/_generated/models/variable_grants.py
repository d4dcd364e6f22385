from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="VariableGrants")


@_attrs_define
class VariableGrants:
    """Which DAGs' tasks may read and write a variable; null grants it to every DAG.

    Both are required: the body replaces both grants, and a grant left out is never taken to open the
    variable to every DAG (narrowing the readers alone would leave every DAG free to overwrite what
    they read).

        Attributes:
            read_dag_ids (list[str] | None): The DAGs whose tasks may read it; null: every DAG (a global variable).
            write_dag_ids (list[str] | None): The DAGs whose tasks may write or delete it; null: every DAG.
    """

    read_dag_ids: list[str] | None
    write_dag_ids: list[str] | None

    def to_dict(self) -> dict[str, Any]:
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

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "read_dag_ids": read_dag_ids,
                "write_dag_ids": write_dag_ids,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

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

        variable_grants = cls(
            read_dag_ids=read_dag_ids,
            write_dag_ids=write_dag_ids,
        )

        return variable_grants
