from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.trigger_dag_run_payload_conf import TriggerDagRunPayloadConf


T = TypeVar("T", bound="TriggerDagRunPayload")


@_attrs_define
class TriggerDagRunPayload:
    """A manual run of a DAG's latest version.

    Attributes:
        run_id (None | str | Unset): Default: manual__<UTC time>.
        conf (TriggerDagRunPayloadConf | Unset): Any JSON object; the tasks read it.
        logical_date (datetime.datetime | None | Unset): Default: now.
    """

    run_id: None | str | Unset = UNSET
    conf: TriggerDagRunPayloadConf | Unset = UNSET
    logical_date: datetime.datetime | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        run_id: None | str | Unset
        if isinstance(self.run_id, Unset):
            run_id = UNSET
        else:
            run_id = self.run_id

        conf: dict[str, Any] | Unset = UNSET
        if not isinstance(self.conf, Unset):
            conf = self.conf.to_dict()

        logical_date: None | str | Unset
        if isinstance(self.logical_date, Unset):
            logical_date = UNSET
        elif isinstance(self.logical_date, datetime.datetime):
            logical_date = self.logical_date.isoformat()
        else:
            logical_date = self.logical_date

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if run_id is not UNSET:
            field_dict["run_id"] = run_id
        if conf is not UNSET:
            field_dict["conf"] = conf
        if logical_date is not UNSET:
            field_dict["logical_date"] = logical_date

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.trigger_dag_run_payload_conf import TriggerDagRunPayloadConf

        d = dict(src_dict)

        def _parse_run_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        run_id = _parse_run_id(d.pop("run_id", UNSET))

        _conf = d.pop("conf", UNSET)
        conf: TriggerDagRunPayloadConf | Unset
        if isinstance(_conf, Unset):
            conf = UNSET
        else:
            conf = TriggerDagRunPayloadConf.from_dict(_conf)

        def _parse_logical_date(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                logical_date_type_0 = datetime.datetime.fromisoformat(data)

                return logical_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        logical_date = _parse_logical_date(d.pop("logical_date", UNSET))

        trigger_dag_run_payload = cls(
            run_id=run_id,
            conf=conf,
            logical_date=logical_date,
        )

        return trigger_dag_run_payload
