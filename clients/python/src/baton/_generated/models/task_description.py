from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.trigger_rule import TriggerRule, check_trigger_rule
from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskDescription")


@_attrs_define
class TaskDescription:
    """One task of a DAG: what it runs (an entry point in its bundle), where, and what it waits for.

    Attributes:
        task_id (str):
        entry_point (str):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        upstream_task_ids (list[str] | Unset):
        queue (str | Unset):  Default: 'default'.
        retries (int | Unset):  Default: 0.
        retry_delay_seconds (int | Unset):  Default: 300.
        execution_timeout_seconds (int | None | Unset):
        trigger_rule (TriggerRule | Unset): When a task may start, given the states of its upstream tasks.
        pool (str | Unset): The named pool whose slots the task takes while claimed or running. Default: 'default_pool'.
        pool_slots (int | Unset): How many of the pool's slots the task takes. Default: 1.
    """

    task_id: str
    entry_point: str
    runtime: str
    upstream_task_ids: list[str] | Unset = UNSET
    queue: str | Unset = "default"
    retries: int | Unset = 0
    retry_delay_seconds: int | Unset = 300
    execution_timeout_seconds: int | None | Unset = UNSET
    trigger_rule: TriggerRule | Unset = UNSET
    pool: str | Unset = "default_pool"
    pool_slots: int | Unset = 1

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        entry_point = self.entry_point

        runtime = self.runtime

        upstream_task_ids: list[str] | Unset = UNSET
        if not isinstance(self.upstream_task_ids, Unset):
            upstream_task_ids = self.upstream_task_ids

        queue = self.queue

        retries = self.retries

        retry_delay_seconds = self.retry_delay_seconds

        execution_timeout_seconds: int | None | Unset
        if isinstance(self.execution_timeout_seconds, Unset):
            execution_timeout_seconds = UNSET
        else:
            execution_timeout_seconds = self.execution_timeout_seconds

        trigger_rule: str | Unset = UNSET
        if not isinstance(self.trigger_rule, Unset):
            trigger_rule = self.trigger_rule

        pool = self.pool

        pool_slots = self.pool_slots

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "task_id": task_id,
                "entry_point": entry_point,
                "runtime": runtime,
            }
        )
        if upstream_task_ids is not UNSET:
            field_dict["upstream_task_ids"] = upstream_task_ids
        if queue is not UNSET:
            field_dict["queue"] = queue
        if retries is not UNSET:
            field_dict["retries"] = retries
        if retry_delay_seconds is not UNSET:
            field_dict["retry_delay_seconds"] = retry_delay_seconds
        if execution_timeout_seconds is not UNSET:
            field_dict["execution_timeout_seconds"] = execution_timeout_seconds
        if trigger_rule is not UNSET:
            field_dict["trigger_rule"] = trigger_rule
        if pool is not UNSET:
            field_dict["pool"] = pool
        if pool_slots is not UNSET:
            field_dict["pool_slots"] = pool_slots

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        entry_point = d.pop("entry_point")

        runtime = d.pop("runtime")

        upstream_task_ids = cast(list[str], d.pop("upstream_task_ids", UNSET))

        queue = d.pop("queue", UNSET)

        retries = d.pop("retries", UNSET)

        retry_delay_seconds = d.pop("retry_delay_seconds", UNSET)

        def _parse_execution_timeout_seconds(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        execution_timeout_seconds = _parse_execution_timeout_seconds(
            d.pop("execution_timeout_seconds", UNSET)
        )

        _trigger_rule = d.pop("trigger_rule", UNSET)
        trigger_rule: TriggerRule | Unset
        if isinstance(_trigger_rule, Unset):
            trigger_rule = UNSET
        else:
            trigger_rule = check_trigger_rule(_trigger_rule)

        pool = d.pop("pool", UNSET)

        pool_slots = d.pop("pool_slots", UNSET)

        task_description = cls(
            task_id=task_id,
            entry_point=entry_point,
            runtime=runtime,
            upstream_task_ids=upstream_task_ids,
            queue=queue,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            execution_timeout_seconds=execution_timeout_seconds,
            trigger_rule=trigger_rule,
            pool=pool,
            pool_slots=pool_slots,
        )

        return task_description
