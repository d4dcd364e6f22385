from typing import Literal

TaskInstanceState = Literal[
    "failed",
    "queued",
    "running",
    "scheduled",
    "skipped",
    "success",
    "up_for_retry",
    "upstream_failed",
]

TASK_INSTANCE_STATE_VALUES: set[TaskInstanceState] = {
    "failed",
    "queued",
    "running",
    "scheduled",
    "skipped",
    "success",
    "up_for_retry",
    "upstream_failed",
}


def check_task_instance_state(value: str) -> TaskInstanceState:
    if value in TASK_INSTANCE_STATE_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {TASK_INSTANCE_STATE_VALUES!r}"
    )
