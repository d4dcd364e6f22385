from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.dag_run import DagRun


T = TypeVar("T", bound="DagRunList")


@_attrs_define
class DagRunList:
    """A page of DAG runs, newest first.

    Attributes:
        dag_runs (list[DagRun]):
        total (int):
    """

    dag_runs: list[DagRun]
    total: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        dag_runs = []
        for dag_runs_item_data in self.dag_runs:
            dag_runs_item = dag_runs_item_data.to_dict()
            dag_runs.append(dag_runs_item)

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "dag_runs": dag_runs,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_run import DagRun

        d = dict(src_dict)
        dag_runs = []
        _dag_runs = d.pop("dag_runs")
        for dag_runs_item_data in _dag_runs:
            dag_runs_item = DagRun.from_dict(dag_runs_item_data)

            dag_runs.append(dag_runs_item)

        total = d.pop("total")

        dag_run_list = cls(
            dag_runs=dag_runs,
            total=total,
        )

        dag_run_list.additional_properties = d
        return dag_run_list

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
