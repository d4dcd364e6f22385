from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.reprocess_behavior import ReprocessBehavior, check_reprocess_behavior
from ..types import UNSET, Unset

T = TypeVar("T", bound="BackfillCreate")


@_attrs_define
class BackfillCreate:
    """A backfill of a scheduled DAG: one run per tick of its schedule from `from_date` to `to_date`.

    Attributes:
        from_date (datetime.datetime): The first logical date (tick) covered, inclusive.
        to_date (datetime.datetime): The last logical date (tick) covered, inclusive.
        max_active_runs (int | Unset): At most this many of the backfill's runs are queued or running at once; the rest
            wait and are made as earlier ones finish. Default: 10.
        reprocess_behavior (ReprocessBehavior | Unset): Which intervals that already have a run get another one.
    """

    from_date: datetime.datetime
    to_date: datetime.datetime
    max_active_runs: int | Unset = 10
    reprocess_behavior: ReprocessBehavior | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from_date = self.from_date.isoformat()

        to_date = self.to_date.isoformat()

        max_active_runs = self.max_active_runs

        reprocess_behavior: str | Unset = UNSET
        if not isinstance(self.reprocess_behavior, Unset):
            reprocess_behavior = self.reprocess_behavior

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "from_date": from_date,
                "to_date": to_date,
            }
        )
        if max_active_runs is not UNSET:
            field_dict["max_active_runs"] = max_active_runs
        if reprocess_behavior is not UNSET:
            field_dict["reprocess_behavior"] = reprocess_behavior

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        from_date = datetime.datetime.fromisoformat(d.pop("from_date"))

        to_date = datetime.datetime.fromisoformat(d.pop("to_date"))

        max_active_runs = d.pop("max_active_runs", UNSET)

        _reprocess_behavior = d.pop("reprocess_behavior", UNSET)
        reprocess_behavior: ReprocessBehavior | Unset
        if isinstance(_reprocess_behavior, Unset):
            reprocess_behavior = UNSET
        else:
            reprocess_behavior = check_reprocess_behavior(_reprocess_behavior)

        backfill_create = cls(
            from_date=from_date,
            to_date=to_date,
            max_active_runs=max_active_runs,
            reprocess_behavior=reprocess_behavior,
        )

        return backfill_create
