from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.backfill_state import BackfillState, check_backfill_state
from ..models.reprocess_behavior import ReprocessBehavior, check_reprocess_behavior

T = TypeVar("T", bound="Backfill")


@_attrs_define
class Backfill:
    """A backfill and its progress.

    Attributes:
        id (UUID):
        dag_id (str):
        from_date (datetime.datetime):
        to_date (datetime.datetime):
        max_active_runs (int):
        reprocess_behavior (ReprocessBehavior): Which intervals that already have a run get another one.
        state (BackfillState): ``running`` until every tick is handled and its runs are over, then ``completed``.
        total_intervals (int): Ticks of the schedule in the range.
        runs_created (int): Runs made so far.
        intervals_skipped (int): Intervals skipped so far, because of their existing runs.
        next_logical_date (datetime.datetime | None): The next tick to handle; null: all handled.
        queued_runs (int):
        running_runs (int):
        successful_runs (int):
        failed_runs (int):
        created_at (datetime.datetime):
        completed_at (datetime.datetime | None):
    """

    id: UUID
    dag_id: str
    from_date: datetime.datetime
    to_date: datetime.datetime
    max_active_runs: int
    reprocess_behavior: ReprocessBehavior
    state: BackfillState
    total_intervals: int
    runs_created: int
    intervals_skipped: int
    next_logical_date: datetime.datetime | None
    queued_runs: int
    running_runs: int
    successful_runs: int
    failed_runs: int
    created_at: datetime.datetime
    completed_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = str(self.id)

        dag_id = self.dag_id

        from_date = self.from_date.isoformat()

        to_date = self.to_date.isoformat()

        max_active_runs = self.max_active_runs

        reprocess_behavior: str = self.reprocess_behavior

        state: str = self.state

        total_intervals = self.total_intervals

        runs_created = self.runs_created

        intervals_skipped = self.intervals_skipped

        next_logical_date: None | str
        if isinstance(self.next_logical_date, datetime.datetime):
            next_logical_date = self.next_logical_date.isoformat()
        else:
            next_logical_date = self.next_logical_date

        queued_runs = self.queued_runs

        running_runs = self.running_runs

        successful_runs = self.successful_runs

        failed_runs = self.failed_runs

        created_at = self.created_at.isoformat()

        completed_at: None | str
        if isinstance(self.completed_at, datetime.datetime):
            completed_at = self.completed_at.isoformat()
        else:
            completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "dag_id": dag_id,
                "from_date": from_date,
                "to_date": to_date,
                "max_active_runs": max_active_runs,
                "reprocess_behavior": reprocess_behavior,
                "state": state,
                "total_intervals": total_intervals,
                "runs_created": runs_created,
                "intervals_skipped": intervals_skipped,
                "next_logical_date": next_logical_date,
                "queued_runs": queued_runs,
                "running_runs": running_runs,
                "successful_runs": successful_runs,
                "failed_runs": failed_runs,
                "created_at": created_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = UUID(d.pop("id"))

        dag_id = d.pop("dag_id")

        from_date = datetime.datetime.fromisoformat(d.pop("from_date"))

        to_date = datetime.datetime.fromisoformat(d.pop("to_date"))

        max_active_runs = d.pop("max_active_runs")

        reprocess_behavior = check_reprocess_behavior(d.pop("reprocess_behavior"))

        state = check_backfill_state(d.pop("state"))

        total_intervals = d.pop("total_intervals")

        runs_created = d.pop("runs_created")

        intervals_skipped = d.pop("intervals_skipped")

        def _parse_next_logical_date(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_logical_date_type_0 = datetime.datetime.fromisoformat(data)

                return next_logical_date_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_logical_date = _parse_next_logical_date(d.pop("next_logical_date"))

        queued_runs = d.pop("queued_runs")

        running_runs = d.pop("running_runs")

        successful_runs = d.pop("successful_runs")

        failed_runs = d.pop("failed_runs")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_completed_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                completed_at_type_0 = datetime.datetime.fromisoformat(data)

                return completed_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        backfill = cls(
            id=id,
            dag_id=dag_id,
            from_date=from_date,
            to_date=to_date,
            max_active_runs=max_active_runs,
            reprocess_behavior=reprocess_behavior,
            state=state,
            total_intervals=total_intervals,
            runs_created=runs_created,
            intervals_skipped=intervals_skipped,
            next_logical_date=next_logical_date,
            queued_runs=queued_runs,
            running_runs=running_runs,
            successful_runs=successful_runs,
            failed_runs=failed_runs,
            created_at=created_at,
            completed_at=completed_at,
        )

        backfill.additional_properties = d
        return backfill

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
