from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dag_description import DagDescription


T = TypeVar("T", bound="RegisterDagsPayload")


@_attrs_define
class RegisterDagsPayload:
    """The DAGs of one bundle, registered by a worker that loaded it.

    Attributes:
        dags (list[DagDescription]):
        bundle_name (None | str | Unset):
    """

    dags: list[DagDescription]
    bundle_name: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        dags = []
        for dags_item_data in self.dags:
            dags_item = dags_item_data.to_dict()
            dags.append(dags_item)

        bundle_name: None | str | Unset
        if isinstance(self.bundle_name, Unset):
            bundle_name = UNSET
        else:
            bundle_name = self.bundle_name

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "dags": dags,
            }
        )
        if bundle_name is not UNSET:
            field_dict["bundle_name"] = bundle_name

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dag_description import DagDescription

        d = dict(src_dict)
        dags = []
        _dags = d.pop("dags")
        for dags_item_data in _dags:
            dags_item = DagDescription.from_dict(dags_item_data)

            dags.append(dags_item)

        def _parse_bundle_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        bundle_name = _parse_bundle_name(d.pop("bundle_name", UNSET))

        register_dags_payload = cls(
            dags=dags,
            bundle_name=bundle_name,
        )

        return register_dags_payload
