from typing import Literal

ReprocessBehavior = Literal["completed", "failed", "none"]

REPROCESS_BEHAVIOR_VALUES: set[ReprocessBehavior] = {
    "completed",
    "failed",
    "none",
}


def check_reprocess_behavior(value: str) -> ReprocessBehavior:
    if value in REPROCESS_BEHAVIOR_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {REPROCESS_BEHAVIOR_VALUES!r}"
    )
