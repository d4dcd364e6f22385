from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.dag_run_info_run_type import (
    DagRunInfoRunType,
    check_dag_run_info_run_type,
)
from ..models.dag_run_state import DagRunState, check_dag_run_state

if TYPE_CHECKING:
    from ..models.dag_run_info_conf import DagRunInfoConf


T = TypeVar("T", bound="DagRunInfo")


@_attrs_define
class DagRunInfo:
    """The facts of the DAG run a task instance belongs to.

    Attributes:
        id (UUID):
        dag_id (str):
        run_id (str):
        run_type (DagRunInfoRunType):
        state (DagRunState): Where a DAG run is in its life cycle.
        logical_date (datetime.datetime):
        data_interval_start (datetime.datetime | None):
        data_interval_end (datetime.datetime | None):
        start_date (datetime.datetime | None):
        conf (DagRunInfoConf):
    """

    id: UUID
    dag_id: str
    run_id: str
    run_type: DagRunInfoRunType
    state: DagRunState
    logical_date: datetime.datetime
    data_interval_start: datetime.datetime | None
    data_interval_end: datetime.datetime | None
    start_date: datetime.datetime | None
    conf: DagRunInfoConf
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        dag_id = self.dag_id

        run_id = self.run_id

        run_type: str = self.run_type

        state: str = self.state

        logical_date = self.logical_date.isoformat()

        data_interval_start: None | str
        if isinstance(self.data_interval_start, datetime.datetime):
            data_interval_start = self.data_interval_start.isoformat()
        else:
            data_interval_start = self.data_interval_start

        data_interval_end: None | str
        if isinstance(self.data_interval_end, datetime.datetime):
            data_interval_end = self.data_interval_end.isoformat()
        else:
            data_interval_end = self.data_interval_end

        start_date: None | str
        if isinstance(self.start_date, datetime.datetime):
            start_date = self.start_date.isoformat()
        else:
            start_date = self.start_date

        conf = self.conf.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "dag_id": dag_id,
                "run_id": run_id,
                "run_type": run_type,
                "state": state,
                "logical_date": logical_date,
                "data_interval_start": data_interval_start,
                "data_interval_end": data_interval_end,
                "start_date": start_date,
                "conf": conf,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_run_info_conf import DagRunInfoConf

        d = dict(src_dict)
        id = UUID(d.pop("id"))

        dag_id = d.pop("dag_id")

        run_id = d.pop("run_id")

        run_type = check_dag_run_info_run_type(d.pop("run_type"))

        state = check_dag_run_state(d.pop("state"))

        logical_date = datetime.datetime.fromisoformat(d.pop("logical_date"))

        def _parse_data_interval_start(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                data_interval_start_type_0 = datetime.datetime.fromisoformat(data)

                return data_interval_start_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        data_interval_start = _parse_data_interval_start(d.pop("data_interval_start"))

        def _parse_data_interval_end(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                data_interval_end_type_0 = datetime.datetime.fromisoformat(data)

                return data_interval_end_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        data_interval_end = _parse_data_interval_end(d.pop("data_interval_end"))

        def _parse_start_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                start_date_type_0 = datetime.datetime.fromisoformat(data)

                return start_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        start_date = _parse_start_date(d.pop("start_date"))

        conf = DagRunInfoConf.from_dict(d.pop("conf"))

        dag_run_info = cls(
            id=id,
            dag_id=dag_id,
            run_id=run_id,
            run_type=run_type,
            state=state,
            logical_date=logical_date,
            data_interval_start=data_interval_start,
            data_interval_end=data_interval_end,
            start_date=start_date,
            conf=conf,
        )

        dag_run_info.additional_properties = d
        return dag_run_info

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
