from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.trigger_rule import TriggerRule, check_trigger_rule

T = TypeVar("T", bound="RegisteredTask")


@_attrs_define
class RegisteredTask:
    """A task of a stored DAG version: every setting, defaults filled in.

    Attributes:
        task_id (str):
        entry_point (str):
        runtime (str): The runtime (language) a task runs in and a worker serves: an open identifier,
            `^[a-z][a-z0-9_-]{0,19}$`. A worker claims only tasks of its own runtime. Baton's SDKs use `python`, `go`,
            `java`; a worker in another language registers under a name of its own.
        upstream_task_ids (list[str]):
        queue (str):
        retries (int):
        retry_delay_seconds (int):
        execution_timeout_seconds (int | None):
        trigger_rule (TriggerRule): When a task may start, given the states of its upstream tasks.
        pool (str):
        pool_slots (int):
    """

    task_id: str
    entry_point: str
    runtime: str
    upstream_task_ids: list[str]
    queue: str
    retries: int
    retry_delay_seconds: int
    execution_timeout_seconds: int | None
    trigger_rule: TriggerRule
    pool: str
    pool_slots: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        entry_point = self.entry_point

        runtime = self.runtime

        upstream_task_ids = self.upstream_task_ids

        queue = self.queue

        retries = self.retries

        retry_delay_seconds = self.retry_delay_seconds

        execution_timeout_seconds: int | None
        execution_timeout_seconds = self.execution_timeout_seconds

        trigger_rule: str = self.trigger_rule

        pool = self.pool

        pool_slots = self.pool_slots

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_id": task_id,
                "entry_point": entry_point,
                "runtime": runtime,
                "upstream_task_ids": upstream_task_ids,
                "queue": queue,
                "retries": retries,
                "retry_delay_seconds": retry_delay_seconds,
                "execution_timeout_seconds": execution_timeout_seconds,
                "trigger_rule": trigger_rule,
                "pool": pool,
                "pool_slots": pool_slots,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        entry_point = d.pop("entry_point")

        runtime = d.pop("runtime")

        upstream_task_ids = cast(list[str], d.pop("upstream_task_ids"))

        queue = d.pop("queue")

        retries = d.pop("retries")

        retry_delay_seconds = d.pop("retry_delay_seconds")

        def _parse_execution_timeout_seconds(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        execution_timeout_seconds = _parse_execution_timeout_seconds(
            d.pop("execution_timeout_seconds")
        )

        trigger_rule = check_trigger_rule(d.pop("trigger_rule"))

        pool = d.pop("pool")

        pool_slots = d.pop("pool_slots")

        registered_task = cls(
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

        registered_task.additional_properties = d
        return registered_task

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
